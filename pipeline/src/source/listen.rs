//! The listener source: records forwarded over TCP or HTTP (`listen = "ADDR"`).
//!
//! One port serves both: a connection whose first bytes are an HTTP method (`POST `, ...)
//! is HTTP, anything else is a raw TCP stream. Neither format here starts with an
//! upper-case word and a space: Windows XML starts with `<`, the JSON forms with `{` or `[`.
//!
//! * **TCP**: one connection is one stream of records, framed by the format's framer
//!   exactly as a file would be (a thread per connection reads, frames, parses and
//!   publishes; a record without its terminator waits `partial_record_timeout`, and the
//!   end of the connection completes it).
//! * **HTTP**: `POST` (any path) with the records as the body; the reply is
//!   `{"events":N,"malformed":M}` once the rows are on the bus (not yet on disk).
//!
//! Streams have no position to resume from: their batches carry no source offset (no
//! checkpoint), but events, parse errors and bytes are counted in the source's metrics.
//! Malformed records are dead letters, with their byte offset inside the connection or
//! the request body.

use std::cell::Cell;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serversage_parsers::{EventBatch, EventKind};
use serversage_sinks::metrics::Metrics;
use tokio::net::{TcpListener, TcpStream};

use super::file::{FileSourceOptions, SourceReport};
use crate::bus::Bus;
use crate::decode::{DecodeCounts, DecodeStage};
use crate::host::now_us;

/// Largest HTTP body accepted.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
const READ_BUF: usize = 256 * 1024;
const METHODS: &[&[u8]] = &[
    b"POST ",
    b"PUT ",
    b"GET ",
    b"HEAD ",
    b"OPTIONS ",
    b"DELETE ",
    b"PATCH ",
];

struct Shared {
    opts: FileSourceOptions,
    bus: Bus,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    report: Mutex<SourceReport>,
    connections: AtomicU64,
}

impl Shared {
    fn stage(&self, id: String) -> DecodeStage {
        let mut ctx = self.opts.ctx.clone();
        ctx.source = self.opts.name.clone();
        DecodeStage::new(&self.opts.format, &ctx, id, 0, self.opts.max_record)
            .expect("the format was validated")
    }

    /// Publishes a batch without source offsets (streams are not checkpointed); adds its
    /// event rows to `events` (the decode counts also count structural records such as
    /// the `[` of a JSON array, which are no events).
    fn publish(&self, mut b: EventBatch, events: &Cell<u64>) -> bool {
        b.offsets.clear();
        if b.kind != EventKind::DeadLetter {
            events.set(events.get() + b.num_rows() as u64);
        }
        self.bus.publish(b).is_ok()
    }

    fn count(&self, bytes: u64, events: u64, c: &DecodeCounts) {
        let name = self.opts.name.clone();
        self.metrics
            .pipeline
            .source_read_bytes
            .get_or_create(&vec![("source", name.clone())])
            .inc_by(bytes);
        let kind =
            serversage_parsers::decoder::kind_of(&self.opts.format).map_or("unknown", |k| k.name());
        self.metrics
            .pipeline
            .events_parsed
            .get_or_create(&vec![("source", name.clone()), ("kind", kind.to_string())])
            .inc_by(events);
        let mut r = self.report.lock().expect("report lock");
        r.bytes += bytes;
        r.events += events;
        for (k, n) in &c.errors {
            r.errors += n;
            self.metrics
                .pipeline
                .parse_errors
                .get_or_create(&vec![
                    ("source", name.clone()),
                    ("format", self.opts.format.clone()),
                    ("error_type", k.as_str().to_string()),
                ])
                .inc_by(*n);
        }
    }
}

/// A running listener source.
pub struct ListenSource {
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
}

impl ListenSource {
    /// Binds `addr` now (so that a taken port stops the pipeline before it starts) for a
    /// source publishing to `bus`.
    pub fn bind(
        opts: FileSourceOptions,
        addr: SocketAddr,
        bus: Bus,
        metrics: Arc<Metrics>,
        shutdown: Arc<AtomicBool>,
    ) -> anyhow::Result<ListenSource> {
        let listener = std::net::TcpListener::bind(addr).with_context(|| {
            format!(
                "source `{}`: cannot listen on {addr} (its `listen`)",
                opts.name
            )
        })?;
        listener.set_nonblocking(true)?;
        Ok(ListenSource {
            listener,
            shared: Arc::new(Shared {
                opts,
                bus,
                metrics,
                shutdown,
                report: Mutex::new(SourceReport::default()),
                connections: AtomicU64::new(0),
            }),
        })
    }

    /// Serves until shutdown; then waits for the open TCP streams to finish.
    pub fn run(self) -> anyhow::Result<SourceReport> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("serversage-listen")
            .enable_all()
            .build()?;
        let shared = self.shared.clone();
        let name = shared.opts.name.clone();
        let threads: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>> = Default::default();
        let threads2 = threads.clone();
        rt.block_on(async move {
            let listener = TcpListener::from_std(self.listener)?;
            let bound = listener.local_addr()?;
            eprintln!("serversage: source {name} listening on {bound} (tcp and http)");
            let (http_tx, http_rx) = tokio::sync::mpsc::channel::<(TcpStream, SocketAddr)>(64);
            let app = Router::new()
                .fallback(ingest)
                .layer(DefaultBodyLimit::max(MAX_BODY))
                .with_state(shared.clone());
            let stop = shared.shutdown.clone();
            let server = axum::serve(
                Routed {
                    rx: http_rx,
                    addr: bound,
                },
                app,
            )
            .with_graceful_shutdown(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            let server = tokio::spawn(async move { server.await });
            loop {
                if shared.shutdown.load(Ordering::Relaxed) {
                    break;
                }
                let accepted =
                    tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
                let Ok(accepted) = accepted else { continue };
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(source = %name, "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (shared, http_tx, threads) =
                    (shared.clone(), http_tx.clone(), threads2.clone());
                tokio::spawn(async move {
                    match sniff(&stream, &shared.shutdown).await {
                        Some(true) => {
                            let _ = http_tx.send((stream, peer)).await;
                        }
                        Some(false) => match stream.into_std() {
                            Ok(s) => {
                                let n = shared.connections.fetch_add(1, Ordering::Relaxed);
                                let t = std::thread::Builder::new()
                                    .name("serversage-tcp".into())
                                    .spawn(move || read_stream(&shared, s, peer, n));
                                match t {
                                    Ok(t) => threads.lock().expect("threads lock").push(t),
                                    Err(e) => tracing::warn!("cannot start a reader: {e}"),
                                }
                            }
                            Err(e) => tracing::warn!("{peer}: {e}"),
                        },
                        None => {}
                    }
                });
            }
            drop(http_tx);
            let _ = server.await;
            anyhow::Ok(())
        })?;
        rt.shutdown_timeout(Duration::from_secs(1));
        let handles = std::mem::take(&mut *threads.lock().expect("threads lock"));
        for t in handles {
            let _ = t.join();
        }
        let report = self.shared.report.lock().expect("report lock").clone();
        Ok(report)
    }
}

/// `Some(true)` for HTTP, `Some(false)` for a raw stream, `None` if it closed unread or
/// the pipeline stops first. A connection may stay silent for long (a forwarder connects
/// before it has events); only a prefix of a method name waits at most 2 s for more.
async fn sniff(stream: &TcpStream, shutdown: &AtomicBool) -> Option<bool> {
    let mut buf = [0u8; 8];
    let mut prefix_since: Option<Instant> = None;
    loop {
        if shutdown.load(Ordering::Relaxed) {
            return None;
        }
        let n = match tokio::time::timeout(Duration::from_millis(200), stream.peek(&mut buf)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => n,
            Err(_) => continue,
        };
        let seen = &buf[..n];
        if METHODS.iter().any(|m| seen.starts_with(m)) {
            return Some(true);
        }
        if !METHODS.iter().any(|m| m.starts_with(seen)) {
            return Some(false);
        }
        if prefix_since.get_or_insert_with(Instant::now).elapsed() > Duration::from_secs(2) {
            return Some(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One TCP connection: frames and decodes until it closes or the pipeline stops.
fn read_stream(shared: &Shared, mut s: std::net::TcpStream, peer: SocketAddr, n: u64) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
    let mut stage = shared.stage(format!("tcp:{peer}#{n}"));
    let mut buf = vec![0u8; READ_BUF];
    let ok = Cell::new(true);
    let events = Cell::new(0u64);
    let mut last_data = Instant::now();
    let mut last_flush = Instant::now();
    let mut emit = |b: EventBatch| {
        if ok.get() {
            ok.set(shared.publish(b, &events));
        }
    };
    loop {
        let stopping = shared.shutdown.load(Ordering::Relaxed);
        let (got, closed) = if stopping {
            (0, true)
        } else {
            match s.read(&mut buf) {
                Ok(0) => (0, true),
                Ok(n) => (n, false),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    (0, false)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(source = %shared.opts.name, "{peer}: {e}");
                    (0, true)
                }
            }
        };
        let now = now_us();
        let mut c = DecodeCounts::default();
        if got > 0 {
            last_data = Instant::now();
            c.merge(stage.feed(&buf[..got], false, now, &mut emit));
        }
        let idle = got == 0;
        if closed
            || (idle
                && stage.pending_bytes() > 0
                && last_data.elapsed() >= shared.opts.partial_timeout)
        {
            c.merge(stage.feed(&[], true, now, &mut emit));
        }
        if closed || idle || last_flush.elapsed() >= Duration::from_secs(1) {
            stage.flush(&mut emit);
            last_flush = Instant::now();
        }
        shared.count(got as u64, events.replace(0), &c);
        if closed || !ok.get() {
            break;
        }
    }
}

/// A POST: the body is records; the reply counts them.
async fn ingest(State(shared): State<Arc<Shared>>, method: Method, body: Bytes) -> Response {
    if method != Method::POST && method != Method::PUT {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [("allow", "POST, PUT")],
            "send records with POST\n",
        )
            .into_response();
    }
    let n = shared.connections.fetch_add(1, Ordering::Relaxed);
    let done = tokio::task::spawn_blocking(move || {
        let mut stage = shared.stage(format!("http#{n}"));
        let ok = Cell::new(true);
        let events = Cell::new(0u64);
        let mut emit = |b: EventBatch| {
            if ok.get() {
                ok.set(shared.publish(b, &events));
            }
        };
        let c = stage.feed(&body, true, now_us(), &mut emit);
        stage.flush(&mut emit);
        shared.count(body.len() as u64, events.get(), &c);
        (ok.get(), events.get(), c)
    })
    .await;
    match done {
        Ok((true, events, c)) => {
            let malformed: u64 = c.errors.iter().map(|(_, n)| n).sum();
            (
                [("content-type", "application/json")],
                format!("{{\"events\":{events},\"malformed\":{malformed}}}\n"),
            )
                .into_response()
        }
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the pipeline is shutting down\n",
        )
            .into_response(),
    }
}

/// The HTTP side of the port: connections the sniffer found to be HTTP.
struct Routed {
    rx: tokio::sync::mpsc::Receiver<(TcpStream, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for Routed {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.rx.recv().await {
            Some(x) => x,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}
