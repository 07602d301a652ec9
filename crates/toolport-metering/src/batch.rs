//! The one batcher behind both the usage recorder and the audit log: a queue whose `push` never
//! blocks or awaits, and a task that writes what was queued in batches, retries failed writes
//! without losing the batch, and on shutdown drains the queue before it ends.
//!
//! A push wakes the writing task only when it fills a batch; otherwise the task drains the queue
//! on its interval. Waking it for every item would cost each tool call a task wake-up, often of
//! the other runtime thread (a futex and a context switch), for a write that waits anyway.
//!
//! Why a large *bounded* queue rather than an unbounded one: nothing is dropped while the store
//! keeps up or recovers, which is every ordinary case (a million queued events is minutes of heavy
//! traffic with the database gone). But a store that stays down must not take the gateway's memory
//! with it; past the bound an item is dropped, counted, and a warning logged (at most once every
//! [`DROP_WARN_INTERVAL`]). A bounded `try_send` costs the caller the same as an unbounded send
//! (an atomic permit and a lock-free push), and the queue's memory is allocated as it fills, not
//! up front.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use toolport_store::StoreError;

/// How often, at most, a full (or closed) queue is reported in the log.
pub const DROP_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// When a batch is written, how failures are retried, and how much may wait.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Write as soon as this many items are queued (at least 1).
    pub max_batch: usize,
    /// Write whatever is queued at least this often.
    pub flush_interval: Duration,
    /// Items that may wait in memory (while the store is slow or down) before new ones are dropped.
    pub queue_capacity: usize,
    /// First pause after a failed write; doubled after each further failure.
    pub retry_initial: Duration,
    /// Longest pause between retries.
    pub retry_max: Duration,
    /// After shutdown, how long failing writes are retried before what remains is given up (and
    /// logged as lost), so that a dead database cannot hold the process up forever.
    pub shutdown_grace: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 500,
            flush_interval: Duration::from_secs(1),
            queue_capacity: 1_000_000,
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Where a batch goes: one store call for the whole batch, all of it or nothing.
pub(crate) trait Sink<T>: Send + Sync + 'static {
    fn write(&self, batch: &[T]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Items that never reached the store, and when the next warning about them may be logged.
#[derive(Debug)]
struct Drops {
    what: &'static str,
    count: AtomicU64,
    origin: std::time::Instant,
    next_warn_ms: AtomicU64,
}

impl Drops {
    /// Counts `n` dropped items; logs at most once per [`DROP_WARN_INTERVAL`].
    fn add(&self, n: u64) {
        let total = self.count.fetch_add(n, Ordering::Relaxed) + n;
        let now_ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_warn_ms.load(Ordering::Relaxed);
        let interval_ms = u64::try_from(DROP_WARN_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if now_ms >= next
            && self
                .next_warn_ms
                .compare_exchange(
                    next,
                    now_ms.saturating_add(interval_ms),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            tracing::warn!(
                what = self.what,
                dropped_total = total,
                "metering queue full or closed: items dropped"
            );
        }
    }
}

/// What the queues and the writing task share to decide when the task must wake.
#[derive(Debug)]
struct Wake {
    /// Items pushed and not yet taken by the task.
    queued: AtomicUsize,
    /// Items per batch: as many queued make it worth waking the task.
    batch: usize,
    notify: Notify,
}

/// Wakes the writing task when the last queue is dropped, so that it drains and ends without
/// waiting for its interval.
#[derive(Debug)]
struct LastQueue(Arc<Wake>);

impl Drop for LastQueue {
    fn drop(&mut self) {
        self.0.notify.notify_one();
    }
}

/// The sending side: cheap to clone, `push` never waits.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    tx: mpsc::Sender<T>,
    drops: Arc<Drops>,
    /// Dropped after `tx`: once the last queue is gone, the task sees the channel closed.
    wake: Arc<LastQueue>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            drops: Arc::clone(&self.drops),
            wake: Arc::clone(&self.wake),
        }
    }
}

impl<T: Send + Sync + 'static> Queue<T> {
    /// Starts the writing task; it ends after `shutdown` fires and the queue is drained (or when
    /// every `Queue` is dropped and the queue is drained).
    pub(crate) fn spawn<K: Sink<T>>(
        sink: K,
        config: BatchConfig,
        shutdown: CancellationToken,
        what: &'static str,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let drops = Arc::new(Drops {
            what,
            count: AtomicU64::new(0),
            origin: std::time::Instant::now(),
            next_warn_ms: AtomicU64::new(0),
        });
        let wake = Arc::new(Wake {
            queued: AtomicUsize::new(0),
            batch: config.max_batch.max(1),
            notify: Notify::new(),
        });
        let worker = Worker {
            sink,
            rx,
            config,
            shutdown,
            give_up_at: None,
            drops: Arc::clone(&drops),
            wake: Arc::clone(&wake),
        };
        let queue = Self {
            tx,
            drops,
            wake: Arc::new(LastQueue(wake)),
        };
        (queue, tokio::spawn(worker.run()))
    }

    /// Queues an item without waiting; when the queue is full or already shut down, the item is
    /// dropped and counted.
    pub(crate) fn push(&self, item: T) {
        let wake = &self.wake.0;
        // Counted before it is sent, so the task never takes an item it has not seen counted.
        let queued = wake.queued.fetch_add(1, Ordering::Relaxed) + 1;
        if self.tx.try_send(item).is_err() {
            wake.queued.fetch_sub(1, Ordering::Relaxed);
            self.drops.add(1);
            return;
        }
        if queued >= wake.batch {
            wake.notify.notify_one();
        }
    }

    /// Items dropped so far (queue full, queue shut down, or given up after the shutdown grace).
    pub(crate) fn dropped(&self) -> u64 {
        self.drops.count.load(Ordering::Relaxed)
    }
}

struct Worker<T, K> {
    sink: K,
    rx: mpsc::Receiver<T>,
    config: BatchConfig,
    shutdown: CancellationToken,
    /// Set once shutdown is seen: failing writes stop being retried at this instant.
    give_up_at: Option<Instant>,
    drops: Arc<Drops>,
    wake: Arc<Wake>,
}

/// What draining the queue found.
enum Drained {
    /// Nothing more is queued for now.
    Empty,
    /// Every queue is gone and everything queued was taken.
    Closed,
}

impl<T: Send + Sync + 'static, K: Sink<T>> Worker<T, K> {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.wake.batch);
        let every = self.config.flush_interval;
        let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let tick = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => break,
                () = self.wake.notify.notified() => false,
                _ = ticker.tick() => true,
            };
            let drained = self.drain(&mut batch).await;
            // A partial batch waits for the interval.
            if tick && !batch.is_empty() {
                self.flush(&mut batch).await;
            }
            if matches!(drained, Drained::Closed) {
                break;
            }
        }

        // Refuse new items, then write everything queued before that.
        self.rx.close();
        self.deadline();
        self.drain(&mut batch).await;
        if !batch.is_empty() {
            self.flush(&mut batch).await;
        }
    }

    /// Takes everything queued into `batch`, writing each batch that fills.
    async fn drain(&mut self, batch: &mut Vec<T>) -> Drained {
        loop {
            match self.rx.try_recv() {
                Ok(item) => {
                    self.wake.queued.fetch_sub(1, Ordering::Relaxed);
                    batch.push(item);
                    if batch.len() >= self.wake.batch {
                        self.flush(batch).await;
                    }
                }
                Err(TryRecvError::Empty) => return Drained::Empty,
                Err(TryRecvError::Disconnected) => return Drained::Closed,
            }
        }
    }

    /// The instant after which failing writes are given up; fixed the first time it is asked for
    /// (at shutdown).
    fn deadline(&mut self) -> Instant {
        *self
            .give_up_at
            .get_or_insert_with(|| Instant::now() + self.config.shutdown_grace)
    }

    /// Writes the batch (retrying) and empties it.
    async fn flush(&mut self, batch: &mut Vec<T>) {
        if !self.write_retrying(batch).await {
            let lost = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            tracing::error!(
                what = self.drops.what,
                lost,
                "metering store unavailable at shutdown: batch lost"
            );
            self.drops.add(lost);
        }
        batch.clear();
    }

    /// Writes one batch, retrying with exponential backoff; `false` only when the shutdown grace
    /// ran out first.
    async fn write_retrying(&mut self, batch: &[T]) -> bool {
        let mut backoff = self.config.retry_initial;
        loop {
            if self.give_up_at.is_some_and(|at| Instant::now() >= at) {
                return false;
            }
            let error = match self.sink.write(batch).await {
                Ok(()) => return true,
                Err(error) => error,
            };
            tracing::warn!(
                what = self.drops.what,
                items = batch.len(),
                %error,
                retry_in = ?backoff,
                "writing a metering batch failed; retrying"
            );
            if self.shutdown.is_cancelled() {
                let left = self.deadline().saturating_duration_since(Instant::now());
                tokio::time::sleep(backoff.min(left)).await;
            } else {
                // Shutdown interrupts the pause: from then on the grace period bounds the retries.
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = self.shutdown.cancelled() => {}
                }
            }
            backoff = backoff.saturating_mul(2).min(self.config.retry_max);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records every batch; fails the first `failures` writes.
    #[derive(Clone, Default)]
    struct Recording {
        batches: Arc<Mutex<Vec<Vec<u32>>>>,
        attempts: Arc<AtomicU64>,
        failures: u64,
    }

    impl Recording {
        fn written(&self) -> Vec<Vec<u32>> {
            self.batches.lock().unwrap().clone()
        }
    }

    impl Sink<u32> for Recording {
        async fn write(&self, batch: &[u32]) -> Result<(), StoreError> {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
            if attempt < self.failures {
                return Err(StoreError::Database("down".into()));
            }
            self.batches.lock().unwrap().push(batch.to_vec());
            Ok(())
        }
    }

    /// Waits until `done` holds; a generous bound turns a hang into a failure.
    async fn eventually(done: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("condition not reached");
    }

    fn config(max_batch: usize) -> BatchConfig {
        BatchConfig {
            max_batch,
            // Long enough never to fire in a test: batches are written when full or at shutdown.
            flush_interval: Duration::from_secs(3600),
            queue_capacity: 10_000,
            retry_initial: Duration::from_millis(1),
            retry_max: Duration::from_millis(4),
            shutdown_grace: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn full_batches_are_written_and_the_rest_on_shutdown() {
        let sink = Recording::default();
        let shutdown = CancellationToken::new();
        let (queue, task) = Queue::spawn(sink.clone(), config(4), shutdown.clone(), "test");
        for i in 0..10 {
            queue.push(i);
        }
        shutdown.cancel();
        task.await.unwrap();
        let written = sink.written();
        assert!(written.iter().all(|b| !b.is_empty() && b.len() <= 4));
        let all: Vec<u32> = written.into_iter().flatten().collect();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(queue.dropped(), 0);

        // After shutdown the queue refuses, and counts what it refused.
        queue.push(99);
        assert_eq!(queue.dropped(), 1);
    }

    #[tokio::test]
    async fn a_partial_batch_waits_and_a_full_one_is_written_at_once() {
        let sink = Recording::default();
        let shutdown = CancellationToken::new();
        let (queue, task) = Queue::spawn(sink.clone(), config(4), shutdown.clone(), "test");
        for i in 0..3 {
            queue.push(i);
        }
        // The task runs while the test sleeps; three items are no batch, and the interval is an
        // hour away.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(sink.written().is_empty());
        queue.push(3);
        eventually(|| !sink.written().is_empty()).await;
        assert_eq!(sink.written(), vec![vec![0, 1, 2, 3]]);
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_partial_batch_is_written_on_the_interval() {
        let sink = Recording::default();
        let shutdown = CancellationToken::new();
        let mut cfg = config(100);
        cfg.flush_interval = Duration::from_millis(5);
        let (queue, task) = Queue::spawn(sink.clone(), cfg, shutdown.clone(), "test");
        queue.push(7);
        // Written by the interval, shutdown not yet requested.
        eventually(|| !sink.written().is_empty()).await;
        assert_eq!(sink.written(), vec![vec![7]]);
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(sink.written(), vec![vec![7]]);
    }

    #[tokio::test]
    async fn failed_writes_are_retried_with_the_same_items() {
        let sink = Recording {
            failures: 3,
            ..Recording::default()
        };
        let shutdown = CancellationToken::new();
        let (queue, task) = Queue::spawn(sink.clone(), config(3), shutdown.clone(), "test");
        for i in 0..3 {
            queue.push(i);
        }
        eventually(|| !sink.written().is_empty()).await;
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(sink.written(), vec![vec![0, 1, 2]]);
        assert_eq!(sink.attempts.load(Ordering::SeqCst), 4);
        assert_eq!(queue.dropped(), 0);
    }

    #[tokio::test]
    async fn a_store_down_at_shutdown_is_given_up_after_the_grace() {
        let sink = Recording {
            failures: u64::MAX,
            ..Recording::default()
        };
        let shutdown = CancellationToken::new();
        let mut cfg = config(100);
        cfg.shutdown_grace = Duration::from_millis(20);
        let (queue, task) = Queue::spawn(sink.clone(), cfg, shutdown.clone(), "test");
        for i in 0..5 {
            queue.push(i);
        }
        shutdown.cancel();
        task.await.unwrap();
        assert!(sink.written().is_empty());
        assert!(sink.attempts.load(Ordering::SeqCst) >= 1);
        assert_eq!(queue.dropped(), 5);
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        let sink = Recording::default();
        let shutdown = CancellationToken::new();
        let mut cfg = config(1000);
        cfg.queue_capacity = 3;
        // The task is not polled before the pushes: this single-threaded runtime runs it only when
        // the test awaits.
        let (queue, task) = Queue::spawn(sink.clone(), cfg, shutdown.clone(), "test");
        for i in 0..5 {
            queue.push(i);
        }
        assert_eq!(queue.dropped(), 2);
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(sink.written(), vec![vec![0, 1, 2]]);
    }

    #[tokio::test]
    async fn the_task_ends_when_every_queue_is_dropped() {
        let sink = Recording::default();
        let (queue, task) =
            Queue::spawn(sink.clone(), config(10), CancellationToken::new(), "test");
        queue.push(1);
        let clone = queue.clone();
        drop(queue);
        clone.push(2);
        drop(clone);
        task.await.unwrap();
        assert_eq!(sink.written(), vec![vec![1, 2]]);
    }
}
