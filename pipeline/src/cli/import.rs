//! `serversage import`: load historical files into the store once.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use clap::Args;

use crate::config::{Config, SourceConfig};
use crate::topology::{RunOptions, Topology};

/// Arguments of `serversage import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Format of the files (`serversage formats`).
    #[arg(long, short)]
    format: String,
    /// Host column for the events (default: the configuration's, else this machine's name).
    #[arg(long)]
    host: Option<String>,
    /// For seconds-since-boot timestamps: the boot time (RFC 3339) of the machine that wrote them.
    #[arg(long)]
    boot_time: Option<String>,
    /// Configuration file (for data_dir and store settings); optional.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Store directory (overrides the configuration's data_dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Source name written into the `source` column.
    #[arg(long, default_value = "import")]
    source: String,
    /// Files to load.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Runs the import.
pub fn run(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match &a.config {
        Some(p) => super::load_config(p)?,
        None => toml::from_str::<Config>("").expect("the empty configuration is valid"),
    };
    if let Some(d) = a.data {
        cfg.data_dir = d;
    }
    let mut total_bytes = 0u64;
    for f in &a.files {
        let md = std::fs::metadata(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        anyhow::ensure!(md.is_file(), "{}: not a regular file", f.display());
        total_bytes += md.len();
    }
    let source = SourceConfig {
        name: a.source.clone(),
        format: a.format.clone(),
        paths: a
            .files
            .iter()
            .map(|f| glob::Pattern::escape(&f.to_string_lossy()))
            .collect(),
        listen: None,
        read_from: Default::default(),
        host: a.host.clone(),
        boot_time: a.boot_time.clone(),
        max_record_bytes: 1024 * 1024,
        partial_record_timeout: "2s".into(),
        options: Default::default(),
    };
    cfg.sources = vec![source];
    let errs = cfg.validate();
    if !errs.is_empty() {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("  {}: {}", e.key.replace("sources[0].", "--"), e.reason))
            .collect();
        anyhow::bail!("invalid arguments:\n{}", lines.join("\n"));
    }
    let opts = super::source_options(&cfg, &cfg.sources[0], false)?;
    let topology = Topology::build(cfg, vec![opts], false)?;
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        );
        let (bar2, progress, done) = (bar.clone(), progress.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar2.set_position(progress.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        bar
    });
    let opts = RunOptions {
        rules: false,
        http: false,
        shutdown: Arc::new(AtomicBool::new(false)),
        progress: progress.clone(),
    };
    let started = std::time::Instant::now();
    let summary = topology.run(opts, |_| {});
    done.store(true, Ordering::Relaxed);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    let secs = started.elapsed().as_secs_f64();
    for (name, r) in &summary.sources {
        for p in &r.already_stored {
            eprintln!("{}: already stored, skipped", p.display());
        }
        eprintln!(
            "{name}: {} file(s), {} bytes, {} events, {} malformed (table dead_letters) in {secs:.1} s",
            r.files, r.bytes, r.events, r.errors
        );
    }
    for (table, rows) in &summary.rows_stored {
        eprintln!("stored {rows} rows in {table}");
    }
    Ok(ExitCode::SUCCESS)
}
