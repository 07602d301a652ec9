//! A peer whose transport sends directly (as Streamable HTTP does once its session is set up): a
//! request's exchange runs inside the future that waits for its answer and is abandoned with it,
//! while a message nobody waits for gets a task of its own.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use toolport_protocol::{Message, Response};
use toolport_upstream::{Peer, UpstreamError};

/// Sends something when dropped: tells the test that an exchange was abandoned or finished.
struct DropSignal(mpsc::UnboundedSender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

#[tokio::test]
async fn a_request_is_answered_through_its_exchange_without_the_queue() {
    let (peer, mut queue, shared, _events) = Peer::new(None);
    let delivering = shared.clone();
    shared.set_direct(Arc::new(move |message| {
        let shared = delivering.clone();
        Box::pin(async move {
            tokio::task::yield_now().await;
            if let Message::Request(request) = message {
                let echoed = json!({"method": request.method, "params": request.params});
                shared.deliver(Message::Response(Response::ok(request.id, echoed)), None);
            }
        })
    }));
    let answer = peer
        .request(
            "tools/call",
            Some(json!({"name": "echo"})),
            Duration::from_secs(5),
        )
        .await
        .expect("the exchange delivers the answer");
    assert_eq!(
        answer,
        json!({"method": "tools/call", "params": {"name": "echo"}})
    );
    assert!(queue.try_recv().is_err(), "nothing went through the queue");
    assert_eq!(peer.in_flight(), 0);
}

#[tokio::test]
async fn a_caller_that_stops_waiting_abandons_its_exchange() {
    let (peer, _queue, shared, _events) = Peer::new(None);
    let (signal, mut signals) = mpsc::unbounded_channel();
    shared.set_direct(Arc::new(move |_message| {
        let guard = DropSignal(signal.clone());
        // A server that never answers.
        Box::pin(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
    }));
    let outcome = peer
        .request("tools/call", None, Duration::from_millis(50))
        .await;
    assert!(
        matches!(outcome, Err(UpstreamError::Timeout(50))),
        "{outcome:?}"
    );
    assert_eq!(
        signals.try_recv(),
        Ok("dropped"),
        "the exchange ended with the wait"
    );
    assert_eq!(peer.in_flight(), 0);
}

#[tokio::test]
async fn a_notification_s_exchange_runs_though_nobody_waits_for_it() {
    let (peer, _queue, shared, _events) = Peer::new(None);
    let (sent, mut sends) = mpsc::unbounded_channel();
    shared.set_direct(Arc::new(move |message| {
        let sent = sent.clone();
        Box::pin(async move {
            tokio::task::yield_now().await;
            if let Message::Notification(n) = message {
                let _ = sent.send(n.method);
            }
        })
    }));
    peer.notify("notifications/cancelled", Some(json!({"requestId": 1})))
        .expect("the peer is open");
    let method = tokio::time::timeout(Duration::from_secs(5), sends.recv())
        .await
        .expect("the exchange ran on its own task");
    assert_eq!(method.as_deref(), Some("notifications/cancelled"));
}
