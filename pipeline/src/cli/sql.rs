//! `serversage sql`: DataFusion SQL over the stored history, one-shot or interactive.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serversage_sinks::query::{OutputFormat, run_sql, session, write_batches};

/// Arguments of `serversage sql`.
#[derive(Args, Debug)]
pub struct SqlArgs {
    /// Store directory (the configuration's data_dir).
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Output format: table, csv or json (one object per line).
    #[arg(long, short, default_value = "table")]
    output: OutputFormat,
    /// The query; without one, an interactive prompt opens.
    query: Option<String>,
}

/// Runs the query or the prompt.
pub fn run(a: SqlArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ctx = session(&a.data).await?;
        let mut stdout = std::io::stdout();
        if let Some(q) = a.query {
            let batches = run_sql(&ctx, &q).await?;
            write_batches(&batches, a.output, &mut stdout)?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut rl = rustyline::DefaultEditor::new()?;
        let history = a.data.join("state").join("sql_history");
        let _ = rl.load_history(&history);
        eprintln!(
            "tables: kernel_events, dead_letters, alerts. End a query with `;`, quit with Ctrl-D."
        );
        let mut query = String::new();
        loop {
            let prompt = if query.is_empty() { "sql> " } else { "...> " };
            match rl.readline(prompt) {
                Ok(line) => {
                    query.push_str(&line);
                    query.push('\n');
                    if !line.trim_end().ends_with(';') {
                        continue;
                    }
                    let _ = rl.add_history_entry(query.trim());
                    match run_sql(&ctx, &query).await {
                        Ok(b) => write_batches(&b, a.output, &mut stdout)?,
                        Err(e) => eprintln!("error: {e}"),
                    }
                    query.clear();
                }
                Err(rustyline::error::ReadlineError::Interrupted) => query.clear(),
                Err(_) => break,
            }
        }
        if let Some(dir) = history.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(&history);
        Ok(ExitCode::SUCCESS)
    })
}
