//! The JSON-RPC client side of one backend connection: allocates request ids, matches responses to
//! waiting callers, and hands every other inbound message to the connection's owner.
//!
//! Ids are allocated here, per connection, so concurrent client sessions sharing one backend never
//! collide: the gateway maps each client's own id to one of these.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Message, Notification, Request, RequestId, Response};

use crate::error::UpstreamError;

/// A message from the backend that is not a response to one of our requests.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub message: Message,
    /// The id of our request whose HTTP response stream carried this message, when the transport
    /// knows it (Streamable HTTP does; stdio and legacy SSE do not).
    pub related: Option<i64>,
}

type Waiter = oneshot::Sender<Result<Value, UpstreamError>>;

/// Called in the transport task, in wire order, for every notification except list changes (which
/// the supervisor handles). Relaying here, rather than through another task, guarantees that a
/// request's progress notifications reach its client before its response does.
pub type NotificationHook = Arc<dyn Fn(Notification, Option<i64>) + Send + Sync>;

/// A transport's way to send a message straight from the caller's task, skipping the queue and the
/// transport task's wake-up (Streamable HTTP installs one once its session is set up): it returns
/// the message's whole exchange with the server, which delivers what comes back.
pub type DirectSend = Arc<dyn Fn(Message) -> Exchange + Send + Sync>;

/// One message's exchange with the server. A request's runs inside the future that waits for its
/// answer, so a call costs no task of its own; anything else's is spawned, as nobody waits for it.
pub type Exchange = Pin<Box<dyn Future<Output = ()> + Send>>;

/// State shared between a [`Peer`] and the transport task that feeds it.
pub struct PeerShared {
    pending: Mutex<HashMap<i64, Waiter>>,
    events: mpsc::UnboundedSender<Inbound>,
    hook: Option<NotificationHook>,
    direct: std::sync::RwLock<Option<DirectSend>>,
    closed: CancellationToken,
    close_reason: Mutex<Option<String>>,
}

impl std::fmt::Debug for PeerShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerShared")
            .field("closed", &self.closed.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl PeerShared {
    /// Called by transports for every message read from the backend.
    pub fn deliver(&self, message: Message, related: Option<i64>) {
        match message {
            Message::Response(Response {
                id: RequestId::Number(id),
                outcome,
            }) => {
                let waiter = self.pending.lock().expect("pending lock").remove(&id);
                match waiter {
                    Some(tx) => {
                        let _ = tx.send(outcome.map_err(|e| UpstreamError::Rpc(Box::new(e))));
                    }
                    None => tracing::debug!(id, "response to a request nobody waits for"),
                }
            }
            Message::Response(other) => {
                tracing::debug!(id = %other.id, "response with an id we never issued");
            }
            Message::Notification(n)
                if !n.method.ends_with("/list_changed") && self.hook.is_some() =>
            {
                if let Some(hook) = &self.hook {
                    hook(n, related);
                }
            }
            message => {
                let _ = self.events.send(Inbound { message, related });
            }
        }
    }

    /// Lets callers send without the queue from now on (see [`DirectSend`]).
    pub fn set_direct(&self, send: DirectSend) {
        *self.direct.write().expect("direct lock") = Some(send);
    }

    /// Fails every waiting request and marks the connection closed. Transports call it once when
    /// their task ends.
    pub fn close(&self, reason: impl Into<String>) {
        // The direct sender may hold the transport; dropping it breaks the cycle.
        self.direct.write().expect("direct lock").take();
        let reason = reason.into();
        self.close_reason
            .lock()
            .expect("reason lock")
            .get_or_insert(reason.clone());
        let waiters: Vec<Waiter> = self
            .pending
            .lock()
            .expect("pending lock")
            .drain()
            .map(|(_, w)| w)
            .collect();
        for w in waiters {
            let _ = w.send(Err(UpstreamError::Closed(reason.clone())));
        }
        self.closed.cancel();
    }
}

/// The client half of a backend connection. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Peer {
    outbound: mpsc::UnboundedSender<Message>,
    shared: Arc<PeerShared>,
    next_id: AtomicI64,
}

/// A request in flight. Dropping it forgets the request: its late response is discarded, and a
/// direct exchange still under way is abandoned with it.
pub struct PendingRequest {
    pub id: i64,
    rx: oneshot::Receiver<Result<Value, UpstreamError>>,
    exchange: Option<Exchange>,
    shared: Arc<PeerShared>,
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("id", &self.id)
            .field("direct", &self.exchange.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for PendingRequest {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .remove(&self.id);
    }
}

impl PendingRequest {
    pub async fn wait(mut self, timeout: Duration) -> Result<Value, UpstreamError> {
        let exchange = self.exchange.take();
        let rx = &mut self.rx;
        let answer = async move {
            if let Some(exchange) = exchange {
                // The exchange delivers the answer through `rx` before it ends; closing the
                // connection answers `rx` too.
                tokio::select! {
                    biased;
                    () = exchange => {}
                    answer = &mut *rx => return answer,
                }
            }
            rx.await
        };
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(err))) => Err(err),
            Ok(Err(_)) => Err(UpstreamError::Closed(self.shared.reason())),
            Err(_) => Err(UpstreamError::Timeout(timeout.as_millis() as u64)),
        }
    }
}

impl PeerShared {
    /// A token cancelled when the connection has closed.
    pub fn closed_token(&self) -> CancellationToken {
        self.closed.clone()
    }

    fn reason(&self) -> String {
        self.close_reason
            .lock()
            .expect("reason lock")
            .clone()
            .unwrap_or_else(|| "connection closed".into())
    }
}

impl Peer {
    /// Creates a peer and the pieces its transport task needs: the outbound queue to drain and the
    /// shared state to deliver into. Notifications go to `hook` when there is one; the caller
    /// receives the other non-response messages on the returned channel.
    pub fn new(
        hook: Option<NotificationHook>,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<Message>,
        Arc<PeerShared>,
        mpsc::UnboundedReceiver<Inbound>,
    ) {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(PeerShared {
            pending: Mutex::new(HashMap::new()),
            events: ev_tx,
            hook,
            direct: std::sync::RwLock::new(None),
            closed: CancellationToken::new(),
            close_reason: Mutex::new(None),
        });
        let peer = Self {
            outbound: out_tx,
            shared: shared.clone(),
            next_id: AtomicI64::new(1),
        };
        (peer, out_rx, shared, ev_rx)
    }

    /// Sends a request and returns a handle to await its response; the id is known at once so the
    /// caller can route cancellations and related messages.
    pub fn start_request(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<PendingRequest, UpstreamError> {
        if self.shared.closed.is_cancelled() {
            return Err(UpstreamError::Closed(self.shared.reason()));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(id, tx);
        let mut pending = PendingRequest {
            id,
            rx,
            exchange: None,
            shared: self.shared.clone(),
        };
        pending.exchange = self.send(Message::Request(Request::new(
            RequestId::Number(id),
            method,
            params,
        )))?;
        Ok(pending)
    }

    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, UpstreamError> {
        self.start_request(method, params)?.wait(timeout).await
    }

    /// Every item of a paginated list (`tools/list` with key `"tools"`, …), following
    /// `nextCursor`; a backend that never stops paginating is cut off after 1,000 pages.
    pub async fn list_all(
        &self,
        method: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<Vec<Value>, UpstreamError> {
        let mut items = Vec::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..1000 {
            let params = cursor.take().map(|c| serde_json::json!({"cursor": c}));
            let mut result = self.request(method, params, timeout).await?;
            if let Some(Value::Array(page)) = result.get_mut(key).map(Value::take) {
                items.extend(page);
            }
            match result.get("nextCursor") {
                Some(c) if !c.is_null() => cursor = Some(c.clone()),
                _ => return Ok(items),
            }
        }
        Err(UpstreamError::Protocol(format!(
            "{method} returned more than 1000 pages"
        )))
    }

    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), UpstreamError> {
        self.send_unawaited(Message::Notification(Notification::new(method, params)))
    }

    /// Queues `message` for the transport task, or returns its direct exchange for the caller to
    /// run.
    fn send(&self, message: Message) -> Result<Option<Exchange>, UpstreamError> {
        if let Some(direct) = self.shared.direct.read().expect("direct lock").as_ref() {
            return Ok(Some(direct(message)));
        }
        self.outbound
            .send(message)
            .map(|()| None)
            .map_err(|_| UpstreamError::Closed(self.shared.reason()))
    }

    /// Sends a message nobody waits an answer to: a direct exchange gets a task of its own.
    fn send_unawaited(&self, message: Message) -> Result<(), UpstreamError> {
        if let Some(exchange) = self.send(message)? {
            tokio::spawn(exchange);
        }
        Ok(())
    }

    /// Answers a request the backend sent us (sampling, elicitation, roots, ping).
    pub fn respond(&self, response: Response) -> Result<(), UpstreamError> {
        self.send_unawaited(Message::Response(response))
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// Resolves when the transport has ended.
    pub async fn closed(&self) {
        self.shared.closed.cancelled().await;
    }

    pub fn close_reason(&self) -> String {
        self.shared.reason()
    }

    /// How many requests are waiting for an answer.
    pub fn in_flight(&self) -> usize {
        self.shared.pending.lock().expect("pending lock").len()
    }
}
