//! The in-process bus: one bounded queue per consumer, batches shared by `Arc`.
//!
//! [`Bus::publish`] blocks while any consumer's queue is full. That is the back-pressure:
//! a slow store slows the tailers, memory stays at (queue capacity × batch size), and no
//! batch is dropped.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, bounded};
use serversage_parsers::{EventBatch, EventKind};
use serversage_sinks::metrics::{Metrics, label};

/// Batches queued per consumer before producers block.
pub const QUEUE_CAPACITY: usize = 16;

struct Route {
    name: &'static str,
    kinds: Vec<EventKind>,
    tx: Sender<Arc<EventBatch>>,
}

/// Fan-out of event batches to the consumers that want their kind.
#[derive(Clone)]
pub struct Bus {
    routes: Arc<Vec<Route>>,
    metrics: Arc<Metrics>,
}

/// Builds a [`Bus`]: add each consumer, then [`BusBuilder::build`].
pub struct BusBuilder {
    routes: Vec<Route>,
    metrics: Arc<Metrics>,
}

impl BusBuilder {
    /// A bus reporting queue depths to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> BusBuilder {
        BusBuilder {
            routes: Vec::new(),
            metrics,
        }
    }

    /// Adds a consumer of `kinds` and returns its receiving end.
    pub fn consumer(
        &mut self,
        name: &'static str,
        kinds: Vec<EventKind>,
    ) -> Receiver<Arc<EventBatch>> {
        let (tx, rx) = bounded(QUEUE_CAPACITY);
        self.metrics
            .pipeline
            .bus_queue_capacity
            .get_or_create(&label("consumer", name))
            .set(QUEUE_CAPACITY as i64);
        self.routes.push(Route { name, kinds, tx });
        rx
    }

    /// Another sending end into consumer `name`'s queue, for a stage that feeds it
    /// directly (the rules stage sends its alert rows to the store this way).
    pub fn side_input(&self, name: &str) -> Option<Sender<Arc<EventBatch>>> {
        self.routes
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.tx.clone())
    }

    /// The bus. Consumers see their queue close once every clone of it is dropped.
    pub fn build(self) -> Bus {
        Bus {
            routes: Arc::new(self.routes),
            metrics: self.metrics,
        }
    }
}

/// A consumer hung up: the pipeline is shutting down or a consumer failed.
#[derive(Debug, thiserror::Error)]
#[error("consumer `{0}` is gone")]
pub struct Closed(pub &'static str);

impl Bus {
    /// Sends `batch` to every consumer of its kind, blocking while a queue is full.
    pub fn publish(&self, batch: EventBatch) -> Result<(), Closed> {
        let batch = Arc::new(batch);
        for r in self.routes.iter().filter(|r| r.kinds.contains(&batch.kind)) {
            r.tx.send(batch.clone()).map_err(|_| Closed(r.name))?;
            self.metrics
                .pipeline
                .bus_queue_batches
                .get_or_create(&label("consumer", r.name))
                .set(r.tx.len() as i64);
        }
        Ok(())
    }

    /// Updates the queue-depth gauges (consumers call this after taking a batch).
    pub fn report_depths(&self) {
        for r in self.routes.iter() {
            self.metrics
                .pipeline
                .bus_queue_batches
                .get_or_create(&label("consumer", r.name))
                .set(r.tx.len() as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_full_queue_blocks_the_producer_and_loses_nothing() {
        let metrics = Arc::new(Metrics::new(&[]));
        let mut b = BusBuilder::new(metrics);
        let rx = b.consumer("slow", vec![EventKind::Kernel]);
        let bus = b.build();
        let batch = EventBatch {
            kind: EventKind::Kernel,
            records: arrow::record_batch::RecordBatch::new_empty(EventKind::Kernel.schema()),
            offsets: vec![],
        };
        let producer = {
            let bus = bus.clone();
            let batch = batch.clone();
            std::thread::spawn(move || {
                for _ in 0..QUEUE_CAPACITY * 3 {
                    bus.publish(batch.clone()).unwrap();
                }
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(rx.len(), QUEUE_CAPACITY, "producer must block at capacity");
        assert!(!producer.is_finished());
        let mut got = 0;
        while got < QUEUE_CAPACITY * 3 {
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
            got += 1;
        }
        producer.join().unwrap();
        // Kinds without a consumer are not queued anywhere.
        bus.publish(EventBatch {
            kind: EventKind::Alert,
            ..batch
        })
        .unwrap();
        assert!(rx.is_empty());
    }
}
