//! The stdio transport: one JSON-RPC message (or batch) per line on stdin, every outgoing
//! message as one line on stdout. One session per process; a client that never sends
//! `initialize` and marks its requests with a `_meta` revision is served statelessly.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::mpsc;
use toolport_protocol::jsonrpc::{Payload, Request};
use toolport_protocol::{Message, RpcError};

use crate::error::FixtureError;
use crate::fixture::session::Session;
use crate::fixture::{Fixture, Outgoing, Sink, stateless};

/// How long pending output may take to drain after stdin closes.
const DRAIN: Duration = Duration::from_millis(500);

pub(crate) async fn serve(fixture: Arc<Fixture>) -> Result<(), FixtureError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_loop(rx));
    let session = fixture.new_session();
    session.set_standalone(Some(tx.clone()));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let result = loop {
        match lines.next_line().await {
            Ok(Some(line)) => on_line(&fixture, &session, &tx, line.as_bytes()),
            Ok(None) => break Ok(()),
            Err(err) => break Err(FixtureError::Stdio(err)),
        }
    };
    session.close();
    drop(tx);
    let _ = tokio::time::timeout(DRAIN, writer).await;
    result
}

fn on_line(fixture: &Arc<Fixture>, session: &Arc<Session>, tx: &Sink, line: &[u8]) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let items = match Payload::parse(line) {
        Payload::Single(item) => vec![item],
        Payload::Batch(items) => items,
    };
    for item in items {
        match item {
            Ok(Message::Request(req)) => on_request(fixture, session, tx, req),
            Ok(msg) => fixture.on_message(session, msg, tx),
            Err(invalid) => {
                let _ = tx.send(Outgoing::error(invalid.id, *invalid.error));
            }
        }
    }
}

fn on_request(fixture: &Arc<Fixture>, session: &Arc<Session>, tx: &Sink, req: Request) {
    let stateless = req.method != "initialize"
        && !session.is_initialized()
        && fixture.speaks_stateless()
        && (stateless::declares_version(&req) || req.method == "server/discover");
    if !stateless {
        fixture.spawn_request(session, req, tx.clone());
        return;
    }
    match stateless::check_meta(&req, None, fixture.config.max_protocol) {
        Err(error) => {
            let _ = tx.send(Outgoing::error(req.id, error));
        }
        Ok(_) if stateless::REMOVED_METHODS.contains(&req.method.as_str()) => {
            let error = RpcError::method_not_found(&req.method);
            let _ = tx.send(Outgoing::error(req.id, error));
        }
        Ok(info) => fixture.spawn_stateless(info, req, tx.clone()),
    }
}

/// Writes every outgoing message as a line, flushing once the queue is empty.
async fn write_loop(mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut out = BufWriter::new(tokio::io::stdout());
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next {
            let text = match item {
                Outgoing::Message(t) | Outgoing::Final(t, _) => t,
                Outgoing::CloseStream => String::new(),
            };
            if !text.is_empty()
                && (out.write_all(text.as_bytes()).await.is_err()
                    || out.write_all(b"\n").await.is_err())
            {
                return;
            }
            next = rx.try_recv().ok();
        }
        if out.flush().await.is_err() {
            return;
        }
    }
}
