//! End-to-end bench: generate (or reuse) a kernel corpus, run the release `serversage import`
//! over it, measure wall time and peak RSS, and check every record was stored.
//!
//! ```text
//! cargo build --release -p serversage
//! cargo run --release -p benches -- --size 1GiB --form dmesg
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};
use benches::corpus::{KernelForm, kernel_corpus};
use benches::decode::{BATCH_ROWS, decode_reader};
use benches::e2e::{Summary, parse_count_csv, parse_size, run_measured};
use clap::Parser;
use serversage_parsers::{SourceContext, decoder};

/// Measures `serversage import` over a synthetic kernel log: input MB, records, seconds,
/// MB/s, events/s, peak RSS and the rows stored.
#[derive(Debug, Parser)]
#[command(name = "benches", version)]
struct Args {
    /// Corpus size to generate: 100MB, 512MiB, 1GiB, ... (KB/MB/GB are 10^3ⁿ, KiB/MiB/GiB 2^10ⁿ).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: u64,
    /// Form of the kernel log: dmesg, dmesg-iso, kern-log (read as `--format kernel`) or kmsg
    /// (`--format kmsg`).
    #[arg(long, default_value = "dmesg")]
    form: KernelForm,
    /// Seed of the corpus generator (same seed, same bytes).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Use this corpus file: generated there (and kept) if it does not exist, reused if it
    /// does (then --size, --form and --seed are ignored and its records are counted by
    /// decoding it in-process).
    #[arg(long, value_name = "FILE")]
    corpus: Option<PathBuf>,
    /// The `serversage` binary; by default the one next to this executable.
    #[arg(long, value_name = "PATH")]
    serversage: Option<PathBuf>,
    /// Directory for the temporary corpus and data directory (default: the system temp dir).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Only generate the corpus (into --corpus FILE, which must not exist) and print its
    /// size and record count; run nothing.
    #[arg(long, requires = "corpus")]
    generate_only: bool,
    /// Keep the temporary data directory (and generated corpus) and print where they are.
    #[arg(long)]
    keep: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("benches: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serversage_binary(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!("--serversage {}: no such file", p.display());
        }
        return Ok(p);
    }
    let exe = std::env::current_exe().context("finding this executable")?;
    let dir = exe.parent().context("this executable has no directory")?;
    let bin = dir.join("serversage");
    if !bin.is_file() {
        bail!(
            "{} not found: the end-to-end bench runs the release pipeline binary next to its own \
             executable; build it first with `cargo build --release -p serversage` (same \
             CARGO_TARGET_DIR), or pass --serversage PATH",
            bin.display()
        );
    }
    Ok(bin)
}

/// Where the corpus comes from, and what it holds.
struct Corpus {
    path: PathBuf,
    bytes: u64,
    records: u64,
    what: String,
}

fn generate(path: &Path, args: &Args) -> Result<Corpus> {
    eprintln!(
        "generating {:.1} MB of {} kernel log (seed {}) into {}",
        args.size as f64 / 1e6,
        args.form,
        args.seed,
        path.display()
    );
    let t = std::time::Instant::now();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let stats = kernel_corpus(args.size, args.form, args.seed, &mut out)
        .and_then(|s| out.flush().map(|()| s))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "generated {} records in {:.1} s",
        stats.records,
        t.elapsed().as_secs_f64()
    );
    Ok(Corpus {
        path: path.to_owned(),
        bytes: stats.bytes,
        records: stats.records,
        what: format!("kernel ({}, seed {})", args.form, args.seed),
    })
}

/// Counts the rows a reused corpus should give by decoding it with the `format` decoder.
fn count_existing(path: &Path, format: &str) -> Result<Corpus> {
    eprintln!(
        "counting the records of {} with the {format} decoder",
        path.display()
    );
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let bytes = file.metadata()?.len();
    let ctx = SourceContext {
        host: "bench".into(),
        default_year: 2026,
        ..Default::default()
    };
    let mut dec = decoder::for_format(format, &ctx).context("kernel decoder")?;
    let stats = decode_reader(dec.as_mut(), file, 1 << 20, BATCH_ROWS)
        .with_context(|| format!("reading {}", path.display()))?;
    if !stats.errors.is_empty() {
        eprintln!(
            "note: {} records of the corpus do not parse (first: {} at offset {}); they go to \
             dead_letter, not kernel_events, and are not counted",
            stats.errors.len(),
            stats.errors[0].1,
            stats.errors[0].0
        );
    }
    Ok(Corpus {
        path: path.to_owned(),
        bytes,
        records: stats.rows,
        what: format!("kernel ({})", path.display()),
    })
}

fn run(args: Args) -> Result<bool> {
    if args.generate_only {
        let path = args
            .corpus
            .as_deref()
            .context("--generate-only needs --corpus FILE")?;
        if path.exists() {
            bail!(
                "{} exists; --generate-only does not overwrite",
                path.display()
            );
        }
        let c = generate(path, &args)?;
        println!(
            "{}: {} bytes, {} records",
            c.path.display(),
            c.bytes,
            c.records
        );
        return Ok(true);
    }
    let bin = serversage_binary(args.serversage.clone())?;
    let work_dir = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("serversage-bench-")
        .tempdir_in(&work_dir)
        .with_context(|| format!("creating a temporary directory in {}", work_dir.display()))?;

    let corpus = match &args.corpus {
        Some(p) if p.exists() => count_existing(p, args.form.format())?,
        Some(p) => generate(p, &args)?,
        None => generate(&tmp.path().join(format!("kernel-{}.log", args.form)), &args)?,
    };
    let data = tmp.path().join("data");
    std::fs::create_dir(&data)?;

    eprintln!(
        "running {} import --format {} --host bench --data {} {}",
        bin.display(),
        args.form.format(),
        data.display(),
        corpus.path.display()
    );
    let import = run_measured(
        Command::new(&bin)
            .args(["import", "--format", args.form.format(), "--host", "bench"])
            .arg("--data")
            .arg(&data)
            .arg(&corpus.path)
            .stdin(Stdio::null()),
    )
    .with_context(|| format!("running {}", bin.display()))?;
    if !import.status.success() {
        bail!("`serversage import` failed: {}", import.status);
    }

    let sql = Command::new(&bin)
        .args(["sql", "--data"])
        .arg(&data)
        .args(["--output", "csv", "SELECT count(*) FROM kernel_events"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {} sql", bin.display()))?;
    if !sql.status.success() {
        bail!("`serversage sql` failed: {}", sql.status);
    }
    let stdout = String::from_utf8_lossy(&sql.stdout);
    let stored_rows = parse_count_csv(&stdout)
        .with_context(|| format!("`serversage sql` printed no count: {stdout:?}"))?;

    let summary = Summary {
        what: corpus.what,
        bytes: corpus.bytes,
        records: corpus.records,
        wall: import.wall,
        peak_rss_bytes: import.peak_rss_bytes,
        stored_rows,
    };
    println!("{summary}");
    if args.keep {
        let kept = tmp.keep();
        eprintln!("kept {}", kept.display());
    }
    if !summary.rows_match() {
        eprintln!(
            "benches: FAILED: kernel_events holds {} rows but the corpus has {} records ({} {})",
            summary.stored_rows,
            summary.records,
            if summary.stored_rows < summary.records {
                "lost"
            } else {
                "extra"
            },
            summary.stored_rows.abs_diff(summary.records)
        );
        return Ok(false);
    }
    Ok(true)
}
