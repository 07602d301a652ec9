//! [`UsageRecorder`]: the hot-path handle that meters tool calls. `record` only queues; the
//! batcher writes the events to the store in batches, off the request's path. An event carrying
//! its call's audit entry ([`toolport_store::CallAudit`]) is stored once for both.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_store::{Store, StoreError, UsageEvent};

use crate::batch::{BatchConfig, Queue, Sink};

/// Queues usage events for batched writing. Cheap to clone; every clone feeds the same task.
#[derive(Debug, Clone)]
pub struct UsageRecorder {
    queue: Queue<UsageEvent>,
}

struct UsageSink<S>(Arc<S>);

impl<S: Store + 'static> Sink<UsageEvent> for UsageSink<S> {
    fn write(&self, batch: &[UsageEvent]) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.record_usage(batch)
    }
}

impl UsageRecorder {
    /// Starts the writing task. It runs until `shutdown` fires, then writes everything recorded
    /// before that and ends: await the handle to know the events are stored. Cancel `shutdown`
    /// after the server has stopped taking calls; an event recorded later is dropped (and counted).
    pub fn spawn<S: Store + 'static>(
        store: Arc<S>,
        config: BatchConfig,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (queue, task) = Queue::spawn(UsageSink(store), config, shutdown, "usage");
        (Self { queue }, task)
    }

    /// Queues one event; never blocks, never awaits.
    pub fn record(&self, event: UsageEvent) {
        self.queue.push(event);
    }

    /// Events dropped so far: the queue was full (the store down for long), already shut down, or
    /// the store still failed when the shutdown grace ran out.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }
}
