//! Builds the running pipeline from a validated [`Config`] and runs it to the end.
//!
//! Threads: one per file source (read + decode), one for the store, one for the rules;
//! the HTTP listener and signal handling on a small tokio runtime. Shutdown drains in
//! dependency order: sources stop and flush → the bus closes → rules close their windows
//! and send the last alerts → the store writes everything and commits the checkpoints.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serversage_parsers::{EventBatch, EventKind};
use serversage_rules::{Outputs, RuleSet, alerts_batch};
use serversage_sinks::metrics::{Metrics, label};
use serversage_sinks::notify::{LogNotifier, Notifier};
use serversage_sinks::store::{ParquetStore, StoreConfig};

use crate::bus::BusBuilder;
use crate::config::Config;
use crate::host::now_us;
use crate::source::{Checkpoints, FileSource, FileSourceOptions, SourceReport};

/// How to run.
pub struct RunOptions {
    /// Run the configured rules (off for imports of history: no paging on old data).
    pub rules: bool,
    /// Serve /metrics and /healthz on `config.http.listen`.
    pub http: bool,
    /// Set to stop (signals set it in `serve`; tests and imports may too).
    pub shutdown: Arc<AtomicBool>,
    /// Bytes read so far, for a progress bar.
    pub progress: Arc<AtomicU64>,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Per source.
    pub sources: Vec<(String, SourceReport)>,
    /// Rows written per table.
    pub rows_stored: Vec<(&'static str, u64)>,
}

/// The pipeline, built and ready to run.
pub struct Topology {
    cfg: Config,
    sources: Vec<FileSourceOptions>,
    rules: RuleSet,
    rule_kinds: Vec<EventKind>,
    metrics: Arc<Metrics>,
}

impl Topology {
    /// Builds the pipeline's parts; fails with the reason before anything starts.
    pub fn build(
        cfg: Config,
        sources: Vec<FileSourceOptions>,
        with_rules: bool,
    ) -> anyhow::Result<Topology> {
        let keyed = if with_rules {
            cfg.all_rules().map_err(|errs| config_errors(&errs))?
        } else {
            Vec::new()
        };
        let mut rule_kinds: Vec<EventKind> = keyed
            .iter()
            .filter_map(|(_, r)| EventKind::from_name(&r.kind))
            .collect();
        rule_kinds.sort();
        rule_kinds.dedup();
        let refs: Vec<(String, &serversage_rules::RuleConfig)> =
            keyed.iter().map(|(k, r)| (k.clone(), r)).collect();
        let mut rules = RuleSet::with_keys(&refs).map_err(|errs| config_errors(&errs))?;
        rules.restore_known_groups(&crate::rule_state::load(&cfg.data_dir));
        let metrics = Arc::new(Metrics::new(&rules.metric_descriptors()));
        Ok(Topology {
            cfg,
            sources,
            rules,
            rule_kinds,
            metrics,
        })
    }

    /// The metrics every stage reports to.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs until every source ends (imports) or `opts.shutdown` is set (follow mode).
    /// `on_listen` is told the bound /metrics address.
    pub fn run(
        self,
        opts: RunOptions,
        on_listen: impl FnOnce(std::net::SocketAddr),
    ) -> anyhow::Result<Summary> {
        let Topology {
            cfg,
            sources,
            rules,
            rule_kinds,
            metrics,
        } = self;
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
        let checkpoints = Arc::new(Mutex::new(Checkpoints::load(&cfg.data_dir)?));
        let store = ParquetStore::open(StoreConfig {
            root: cfg.data_dir.clone(),
            flush_interval: cfg.flush_interval(),
            max_buffered_rows: cfg.store.max_buffered_rows,
            zstd_level: cfg.store.zstd_level,
        })
        .with_context(|| format!("opening the store at {}", cfg.data_dir.display()))?;

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        if opts.http {
            let addr = cfg.http.listen.parse().context("http.listen")?;
            let (bound, server) = rt
                .block_on(serversage_sinks::http::bind(addr, metrics.clone()))
                .with_context(|| format!("cannot listen on {addr} (http.listen)"))?;
            rt.spawn(async move {
                if let Err(e) = server.await {
                    tracing::error!("http listener failed: {e}");
                }
            });
            on_listen(bound);
        }

        let mut bus = BusBuilder::new(metrics.clone());
        let store_rx = bus.consumer("store", EventKind::ALL.to_vec());
        let rules_rx = (!rule_kinds.is_empty()).then(|| bus.consumer("rules", rule_kinds));
        let store_side = bus.side_input("store").expect("store route");
        let bus = bus.build();

        let store_thread = {
            let (metrics, checkpoints) = (metrics.clone(), checkpoints.clone());
            spawn("store", move || {
                store_loop(store, store_rx, &metrics, &checkpoints)
            })?
        };
        let rules_thread = match rules_rx {
            Some(rx) => {
                let notifier = LogNotifier::open(&cfg.alerts_log()).with_context(|| {
                    format!("opening the alerts log {}", cfg.alerts_log().display())
                })?;
                let (metrics, host) = (metrics.clone(), crate::host::hostname());
                let data_dir = cfg.data_dir.clone();
                Some(spawn("rules", move || {
                    rules_loop(rules, rx, store_side, notifier, &metrics, &host, &data_dir)
                })?)
            }
            None => {
                drop(store_side);
                None
            }
        };

        let mut source_threads = Vec::new();
        for s in sources {
            let name = s.name.clone();
            if let Some(device) = crate::source::kmsg_device(&s) {
                let src = crate::source::KmsgSource::new(
                    s,
                    device,
                    checkpoints.clone(),
                    bus.clone(),
                    metrics.clone(),
                    opts.shutdown.clone(),
                    opts.progress.clone(),
                );
                source_threads.push((name, spawn("source", move || src.run())?));
                continue;
            }
            if let Some(run) = record_source(&s, &checkpoints, &bus, &metrics, &opts)? {
                source_threads.push((name, spawn("source", run)?));
                continue;
            }
            let src = FileSource::new(
                s,
                checkpoints.clone(),
                bus.clone(),
                metrics.clone(),
                opts.shutdown.clone(),
                opts.progress.clone(),
            );
            source_threads.push((name, spawn("source", move || src.run())?));
        }
        drop(bus);

        if opts.http {
            // Follow mode: wait for a signal (or for the caller to set `shutdown`).
            let shutdown = opts.shutdown.clone();
            rt.block_on(async move {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                loop {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => break,
                        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => break,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => if shutdown.load(Ordering::Relaxed) { break },
                    }
                }
            });
            tracing::info!("shutting down: flushing buffered events");
            opts.shutdown.store(true, Ordering::Relaxed);
        }

        let mut summary = Summary::default();
        let mut first_err = None;
        for (name, t) in source_threads {
            match t.join().expect("source thread panicked") {
                Ok(r) => summary.sources.push((name, r)),
                Err(e) => {
                    opts.shutdown.store(true, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(t) = rules_thread {
            t.join().expect("rules thread panicked")?;
        }
        summary.rows_stored = store_thread.join().expect("store thread panicked")?;
        rt.shutdown_timeout(Duration::from_secs(1));
        match first_err {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}

fn config_errors(errs: &[serversage_rules::ConfigError]) -> anyhow::Error {
    anyhow::anyhow!(
        errs.iter()
            .map(|e| format!("{}: {}", e.key, e.reason))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// What a source thread runs.
type SourceRun = Box<dyn FnOnce() -> anyhow::Result<SourceReport> + Send>;

/// Sources whose positions are not byte offsets of files: a listener (`listen`) or .evtx
/// files (record ids, followed or imported). `None`: a plain file source.
fn record_source(
    s: &FileSourceOptions,
    checkpoints: &Arc<Mutex<Checkpoints>>,
    bus: &crate::bus::Bus,
    metrics: &Arc<Metrics>,
    opts: &RunOptions,
) -> anyhow::Result<Option<SourceRun>> {
    use crate::source::{EvtxFollower, ListenSource, reads_evtx};
    if let Some(addr) = s.listen {
        let src = ListenSource::bind(
            s.clone(),
            addr,
            bus.clone(),
            metrics.clone(),
            opts.shutdown.clone(),
        )?;
        return Ok(Some(Box::new(move || src.run())));
    }
    if reads_evtx(s) {
        let src = EvtxFollower::new(
            s.clone(),
            checkpoints.clone(),
            bus.clone(),
            metrics.clone(),
            opts.shutdown.clone(),
            opts.progress.clone(),
        );
        return Ok(Some(Box::new(move || src.run())));
    }
    Ok(None)
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<JoinHandle<T>> {
    Ok(std::thread::Builder::new()
        .name(format!("serversage-{name}"))
        .spawn(f)?)
}

/// Appends batches to the store, flushes on time, and advances checkpoints to what is durable.
fn store_loop(
    mut store: ParquetStore,
    rx: Receiver<Arc<EventBatch>>,
    metrics: &Metrics,
    checkpoints: &Mutex<Checkpoints>,
) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let mut rows: Vec<(&'static str, u64)> = Vec::new();
    let mut commit = |store: &mut ParquetStore| -> anyhow::Result<()> {
        for r in store.take_reports() {
            let l = label("table", r.table);
            metrics.pipeline.store_rows.get_or_create(&l).inc_by(r.rows);
            metrics
                .pipeline
                .store_files
                .get_or_create(&l)
                .inc_by(r.files);
            metrics
                .pipeline
                .store_written_bytes
                .get_or_create(&l)
                .inc_by(r.bytes);
            match rows.iter_mut().find(|(t, _)| *t == r.table) {
                Some((_, n)) => *n += r.rows,
                None => rows.push((r.table, r.rows)),
            }
        }
        let committed = store.take_committed();
        if !committed.is_empty() {
            let mut cps = checkpoints.lock().expect("checkpoint lock");
            for o in committed {
                cps.commit(&o.source_id, o.end);
            }
            cps.save().context("saving checkpoints")?;
        }
        Ok(())
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(batch) => {
                metrics
                    .pipeline
                    .bus_queue_batches
                    .get_or_create(&label("consumer", "store"))
                    .set(rx.len() as i64);
                store.append(&batch).inspect_err(|_| {
                    metrics
                        .pipeline
                        .store_errors
                        .get_or_create(&label("table", batch.kind.table()))
                        .inc();
                })?;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        store.flush_due(Instant::now())?;
        commit(&mut store)?;
    }
    store.flush()?;
    commit(&mut store)?;
    Ok(rows)
}

/// Feeds batches to the rules; applies metric updates; delivers and stores alerts.
fn rules_loop(
    mut rules: RuleSet,
    rx: Receiver<Arc<EventBatch>>,
    store: Sender<Arc<EventBatch>>,
    mut notifier: LogNotifier,
    metrics: &Metrics,
    host: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let mut out = Outputs::default();
    let mut state = crate::rule_state::Saver::new(data_dir, &rules);
    loop {
        let done = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(batch) => {
                metrics
                    .pipeline
                    .bus_queue_batches
                    .get_or_create(&label("consumer", "rules"))
                    .set(rx.len() as i64);
                rules.on_batch(batch.kind, &batch.records, now_us(), &mut out);
                false
            }
            Err(RecvTimeoutError::Timeout) => {
                rules.on_tick(now_us(), &mut out);
                false
            }
            Err(RecvTimeoutError::Disconnected) => {
                rules.flush(now_us(), &mut out);
                true
            }
        };
        for u in out.metrics.drain(..) {
            metrics.apply(&u);
        }
        for (rule, n) in out.late_events.drain(..) {
            metrics
                .pipeline
                .rule_late_events
                .get_or_create(&label("rule", rule))
                .inc_by(n);
        }
        for (rule, e) in out.filter_errors.drain(..) {
            tracing::warn!(rule = %rule, "filter failed: {e}");
        }
        if !out.alerts.is_empty() {
            for a in &out.alerts {
                metrics
                    .pipeline
                    .alert_transitions
                    .get_or_create(&vec![
                        ("rule", a.rule.clone()),
                        ("state", a.state.as_str().to_string()),
                    ])
                    .inc();
            }
            if let Err(e) = notifier.notify(&out.alerts) {
                metrics
                    .pipeline
                    .notification_errors
                    .get_or_create(&label("notifier", notifier.name()))
                    .inc();
                tracing::error!("alerts log {}: {e}", notifier.path().display());
            }
            let records = alerts_batch(&out.alerts, host, now_us());
            out.alerts.clear();
            if store
                .send(Arc::new(EventBatch {
                    kind: EventKind::Alert,
                    records,
                    offsets: vec![],
                }))
                .is_err()
            {
                anyhow::bail!("the store stopped before the rules' last alerts were written");
            }
        }
        state.maybe_save(&rules, done);
        if done {
            return Ok(());
        }
    }
}
