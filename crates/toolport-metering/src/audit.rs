//! [`AuditLog`]: records who did what, redacting each entry's detail before it is queued, and
//! writes the entries in batches through the same batcher as usage.

use std::sync::{Arc, PoisonError, RwLock};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_store::{AuditEntry, Store, StoreError};

use crate::batch::{BatchConfig, Queue, Sink};
use crate::redact::Redactor;

/// Queues audit entries for batched writing. Cheap to clone; every clone feeds the same task.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: Queue<AuditEntry>,
    /// Shared by every clone, so that a reloaded rule applies to all of them.
    redactor: Arc<RwLock<Arc<Redactor>>>,
}

struct AuditSink<S>(Arc<S>);

impl<S: Store + 'static> Sink<AuditEntry> for AuditSink<S> {
    fn write(&self, batch: &[AuditEntry]) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.append_audit(batch)
    }
}

impl AuditLog {
    /// Starts the writing task; shutdown works as for [`crate::UsageRecorder::spawn`].
    pub fn spawn<S: Store + 'static>(
        store: Arc<S>,
        config: BatchConfig,
        redactor: Redactor,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (queue, task) = Queue::spawn(AuditSink(store), config, shutdown, "audit");
        let redactor = Arc::new(RwLock::new(Arc::new(redactor)));
        (Self { queue, redactor }, task)
    }

    /// Redacts the entry's detail (in place: secrets never reach the queue, let alone the store)
    /// and queues it; never blocks, never awaits.
    pub fn record(&self, mut entry: AuditEntry) {
        let redactor = Arc::clone(&self.redactor.read().unwrap_or_else(PoisonError::into_inner));
        redactor.redact(&mut entry.detail);
        self.queue.push(entry);
    }

    /// Replaces the redaction rule for entries recorded from now on.
    pub fn set_redactor(&self, redactor: Redactor) {
        *self
            .redactor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(redactor);
    }

    /// Entries dropped so far (see [`crate::UsageRecorder::dropped`]).
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }
}
