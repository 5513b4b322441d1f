//! The command-line verbs: run, validate, parse, import, sql, formats.

mod import;
mod parse;
mod sql;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serversage_parsers::SourceContext;

use crate::config::{Config, SourceConfig};
use crate::source::FileSourceOptions;
use crate::topology::{RunOptions, Topology};

/// ServerSage: kernel, GC, database and Windows event logs to Prometheus metrics, alerts and SQL.
#[derive(Parser, Debug)]
#[command(name = "serversage", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Follow the configured sources: parse, derive metrics and alerts, store the history.
    Run {
        /// Configuration file.
        #[arg(long, short, default_value = "serversage.toml")]
        config: PathBuf,
        /// Override `data_dir`.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Override `http.listen`.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check a configuration file without starting anything.
    Validate {
        /// Configuration file.
        #[arg(long, short, default_value = "serversage.toml")]
        config: PathBuf,
    },
    /// Print the parsed events of files as JSON lines; malformed records go to stderr.
    Parse(parse::ParseArgs),
    /// Load historical log files into the store, then exit. Files already stored are skipped.
    Import(import::ImportArgs),
    /// Run SQL over the stored history; with no query, open an interactive prompt.
    Sql(sql::SqlArgs),
    /// List the formats a source can name.
    Formats,
}

/// Runs one verb.
pub fn run_cli(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            config,
            data,
            listen,
        } => run(&config, data, listen),
        Command::Validate { config } => validate(&config),
        Command::Parse(a) => parse::run(a),
        Command::Import(a) => import::run(a),
        Command::Sql(a) => sql::run(a),
        Command::Formats => {
            for (name, what) in serversage_parsers::decoder::FORMATS {
                println!("{name:<12} {what}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads and validates a configuration, printing every error with its key.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|errs| {
        let lines: Vec<String> = errs
            .iter()
            .map(|e| format!("  {}: {}", e.key, e.reason))
            .collect();
        anyhow::anyhow!(
            "invalid configuration {}:\n{}",
            path.display(),
            lines.join("\n")
        )
    })
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(cfg) => {
            let packs = cfg.enabled_packs();
            let total = cfg.all_rules().map(|r| r.len()).unwrap_or(0);
            println!(
                "{}: ok ({} sources; {} rules: {} from the packs [{}], {} of the file)",
                path.display(),
                cfg.sources.len(),
                total,
                total - cfg.rules.len(),
                packs.join(", "),
                cfg.rules.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            for e in &errs {
                println!("{}: {}", e.key, e.reason);
            }
            eprintln!("{}: {} error(s)", path.display(), errs.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A `boot_time` value ("host" or RFC 3339) as µs since the epoch; `what` names the key
/// or flag in the error.
pub fn parse_boot_time(value: Option<&str>, what: &str) -> anyhow::Result<Option<i64>> {
    Ok(match value {
        None => None,
        Some("host") => crate::host::boot_time_us(),
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("{what} `{t}`"))?
                .timestamp_micros(),
        ),
    })
}

/// The decoder context of a configured source.
pub fn source_context(cfg: &Config, s: &SourceConfig) -> anyhow::Result<SourceContext> {
    let boot_time_us = parse_boot_time(s.boot_time.as_deref(), "boot_time")?;
    Ok(SourceContext {
        host: cfg.host_for(s),
        source: s.name.clone(),
        boot_time_us,
        boot_id: (s.boot_time.as_deref() == Some("host"))
            .then(crate::host::boot_id)
            .flatten(),
        default_year: chrono::Datelike::year(&chrono::Utc::now()),
        options: s.options.clone(),
        kernel_catalogue: cfg.kernel_catalogue(),
    })
}

/// File-source options for a configured source.
pub fn source_options(
    cfg: &Config,
    s: &SourceConfig,
    follow: bool,
) -> anyhow::Result<FileSourceOptions> {
    Ok(FileSourceOptions {
        name: s.name.clone(),
        format: s.format.clone(),
        ctx: source_context(cfg, s)?,
        patterns: s.paths.clone(),
        listen: s
            .listen
            .as_deref()
            .map(|l| l.parse().with_context(|| format!("listen `{l}`")))
            .transpose()?,
        read_from: s.read_from,
        follow,
        max_record: s.max_record_bytes,
        partial_timeout: std::time::Duration::from_micros(
            serversage_rules::parse_duration(&s.partial_record_timeout)
                .unwrap_or(2_000_000)
                .max(0) as u64,
        ),
    })
}

fn run(config: &Path, data: Option<PathBuf>, listen: Option<String>) -> anyhow::Result<ExitCode> {
    let mut cfg = load_config(config)?;
    if let Some(d) = data {
        cfg.data_dir = d;
    }
    if let Some(l) = listen {
        cfg.http.listen = l;
    }
    let sources = cfg
        .sources
        .iter()
        .map(|s| source_options(&cfg, s, true))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let data_dir = cfg.data_dir.clone();
    let alerts_log = cfg.alerts_log();
    let topology = Topology::build(cfg, sources, true)?;
    let opts = RunOptions {
        rules: true,
        http: true,
        shutdown: Arc::new(AtomicBool::new(false)),
        progress: Arc::new(AtomicU64::new(0)),
    };
    let summary = topology.run(opts, |addr| {
        eprintln!("serversage: metrics on http://{addr}/metrics");
        eprintln!("serversage: storing events under {}", data_dir.display());
        eprintln!(
            "serversage: alerts to {} and table `alerts`",
            alerts_log.display()
        );
    })?;
    for (table, rows) in &summary.rows_stored {
        eprintln!("serversage: stored {rows} rows in {table}");
    }
    Ok(ExitCode::SUCCESS)
}
