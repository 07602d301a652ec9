//! Client sessions of the HTTP transports: the gateway session plus its standalone message stream,
//! which one GET (or legacy SSE) stream at a time may drain, and an idle clock for expiry.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_gateway::{Gateway, Scope, Session};
use toolport_protocol::Message;

use crate::access::Caller;

type Outbound = mpsc::UnboundedReceiver<Message>;

/// Messages kept for a session whose client has no stream open; older ones are dropped so that a
/// client that never opens its GET stream cannot grow the gateway's memory without bound.
const MAX_BACKLOG: usize = 1024;

/// Drops the oldest queued messages beyond `keep`; returns how many were dropped.
fn trim_backlog(rx: &mut Outbound, keep: usize) -> usize {
    let excess = rx.len().saturating_sub(keep);
    for _ in 0..excess {
        let _ = rx.try_recv();
    }
    excess
}

#[derive(Debug)]
pub struct HttpSession {
    pub session: Arc<Session>,
    /// Who opened it; only the same caller may use it.
    pub owner: Caller,
    outbound: Arc<Mutex<Option<Outbound>>>,
    last_seen: Mutex<Instant>,
}

impl HttpSession {
    /// Takes the session's standalone stream; `None` while another stream holds it.
    pub fn take_stream(&self) -> Option<OutboundStream> {
        let rx = self.outbound.lock().expect("outbound lock").take()?;
        Some(OutboundStream {
            rx: Some(rx),
            slot: self.outbound.clone(),
        })
    }

    fn touch(&self) {
        *self.last_seen.lock().expect("clock lock") = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_seen.lock().expect("clock lock").elapsed()
    }

    fn streaming(&self) -> bool {
        self.outbound.lock().expect("outbound lock").is_none()
    }

    /// Bounds the backlog of a session that has no stream open (see [`MAX_BACKLOG`]).
    fn trim(&self) -> usize {
        match self.outbound.lock().expect("outbound lock").as_mut() {
            Some(rx) => trim_backlog(rx, MAX_BACKLOG),
            None => 0,
        }
    }
}

/// The messages of a session's standalone stream; gives the receiver back when dropped so that a
/// client can reconnect its stream.
#[derive(Debug)]
pub struct OutboundStream {
    rx: Option<Outbound>,
    slot: Arc<Mutex<Option<Outbound>>>,
}

impl Stream for OutboundStream {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        match self.rx.as_mut() {
            Some(rx) => rx.poll_recv(cx),
            None => Poll::Ready(None),
        }
    }
}

impl Drop for OutboundStream {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            *self.slot.lock().expect("outbound lock") = Some(rx);
        }
    }
}

#[derive(Debug, Default)]
pub struct HttpSessions {
    map: Mutex<HashMap<String, Arc<HttpSession>>>,
}

impl HttpSessions {
    pub fn create(&self, gateway: &Gateway, scope: Scope, owner: Caller) -> Arc<HttpSession> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let session = gateway.open_session(id.clone(), scope, owner.0.clone(), tx);
        let entry = Arc::new(HttpSession {
            session,
            owner,
            outbound: Arc::new(Mutex::new(Some(rx))),
            last_seen: Mutex::new(Instant::now()),
        });
        self.map
            .lock()
            .expect("sessions lock")
            .insert(id, entry.clone());
        entry
    }

    pub fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        let entry = self.map.lock().expect("sessions lock").get(id).cloned()?;
        entry.touch();
        Some(entry)
    }

    /// Who opened session `id`, without counting as activity.
    pub fn owner(&self, id: &str) -> Option<Caller> {
        let map = self.map.lock().expect("sessions lock");
        map.get(id).map(|s| s.owner.clone())
    }

    pub fn remove(&self, gateway: &Gateway, id: &str) -> bool {
        let removed = self.map.lock().expect("sessions lock").remove(id).is_some();
        if removed {
            gateway.close_session(id);
        }
        removed
    }

    /// Forgets sessions idle longer than the configured limit and bounds the backlog of those
    /// without a stream, until `shutdown`.
    pub async fn expire(self: Arc<Self>, gateway: Arc<Gateway>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let limit = gateway.config().http.session_idle;
            let idle: Vec<String> = self
                .map
                .lock()
                .expect("sessions lock")
                .iter()
                .filter(|(_, s)| !s.streaming() && s.idle_for() > limit)
                .map(|(id, _)| id.clone())
                .collect();
            for id in idle {
                tracing::debug!(session = %id, "expiring idle session");
                self.remove(&gateway, &id);
            }
            let sessions: Vec<_> = self
                .map
                .lock()
                .expect("sessions lock")
                .values()
                .cloned()
                .collect();
            for session in sessions {
                let dropped = session.trim();
                if dropped > 0 {
                    tracing::debug!(session = %session.session.id, dropped, "dropped unread notifications");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toolport_protocol::Notification;

    #[test]
    fn backlog_keeps_the_newest_messages() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for i in 0..10 {
            tx.send(Message::Notification(Notification::new(
                format!("n{i}"),
                None,
            )))
            .unwrap();
        }
        assert_eq!(trim_backlog(&mut rx, 4), 6);
        assert_eq!(rx.len(), 4);
        assert_eq!(rx.try_recv().unwrap().method(), Some("n6"));
        assert_eq!(trim_backlog(&mut rx, 4), 0);
    }
}
