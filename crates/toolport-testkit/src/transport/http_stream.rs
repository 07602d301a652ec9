//! Resumable SSE streams of a Streamable HTTP session: each POST answered with SSE gets a
//! stream whose events are numbered (`<stream>-<seq>`) and kept until the final response has
//! reached a connected client, so that a client can close the stream (or have it closed, as
//! `test_reconnection` does) and resume with `GET` + `Last-Event-ID`.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

use super::body::{BodySink, message_event, priming_event};
use crate::fixture::lock;

struct Entry {
    next_seq: u64,
    events: Vec<(u64, Bytes)>,
    sink: Option<BodySink>,
    done: bool,
}

#[derive(Default)]
pub(crate) struct StreamStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
}

/// Parses `<stream>-<seq>`.
fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, seq) = id.trim().split_once('-')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}

impl StreamStore {
    /// Opens a stream delivering to `sink`; sends the priming event when `prime`.
    pub(crate) fn open(&self, sink: BodySink, prime: bool) -> u64 {
        let mut inner = lock(&self.inner);
        inner.next_id += 1;
        let id = inner.next_id;
        if prime {
            let _ = sink.send(priming_event(&format!("{id}-0")));
        }
        inner.entries.insert(
            id,
            Entry {
                next_seq: 1,
                events: Vec::new(),
                sink: Some(sink),
                done: false,
            },
        );
        id
    }

    /// Appends one message to stream `id`, delivering it when a client is attached. After the
    /// final message the stream ends, and is forgotten once a client has received it.
    pub(crate) fn push(&self, id: u64, json: &str, last: bool) {
        let mut inner = lock(&self.inner);
        let Some(entry) = inner.entries.get_mut(&id) else {
            return;
        };
        let seq = entry.next_seq;
        entry.next_seq += 1;
        let frame = message_event(Some(&format!("{id}-{seq}")), json);
        let delivered = match &entry.sink {
            Some(sink) => sink.send(frame.clone()).is_ok(),
            None => false,
        };
        if !delivered {
            entry.sink = None;
        }
        entry.events.push((seq, frame));
        if last {
            entry.done = true;
            entry.sink = None;
            if delivered {
                inner.entries.remove(&id);
            }
        }
    }

    /// Ends the HTTP response of stream `id` without ending the stream itself.
    pub(crate) fn detach(&self, id: u64) {
        if let Some(entry) = lock(&self.inner).entries.get_mut(&id) {
            entry.sink = None;
        }
    }

    /// Drops stream `id` if its requests are gone without a final message (cancelled).
    pub(crate) fn abandon(&self, id: u64) {
        let mut inner = lock(&self.inner);
        if inner.entries.get(&id).is_some_and(|e| !e.done) {
            inner.entries.remove(&id);
        }
    }

    /// Resumes after `last_event_id` on `sink`: replays what the client missed and keeps
    /// delivering. `false` when the id names no stream we know.
    pub(crate) fn resume(&self, last_event_id: &str, sink: BodySink) -> bool {
        let Some((id, seq)) = parse_event_id(last_event_id) else {
            return false;
        };
        let mut inner = lock(&self.inner);
        let Some(entry) = inner.entries.get_mut(&id) else {
            return false;
        };
        for (_, frame) in entry.events.iter().filter(|(s, _)| *s > seq) {
            let _ = sink.send(frame.clone());
        }
        if entry.done {
            inner.entries.remove(&id);
        } else {
            entry.sink = Some(sink);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn drain(rx: &mut mpsc::UnboundedReceiver<Bytes>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(b) = rx.try_recv() {
            out.push(String::from_utf8_lossy(&b).into_owned());
        }
        out
    }

    #[test]
    fn closed_stream_resumes_with_missed_events() {
        let store = StreamStore::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let id = store.open(tx, true);
        assert!(drain(&mut rx)[0].contains("retry:"));
        store.push(id, "{\"a\":1}", false);
        store.detach(id);
        drop(rx);
        store.push(id, "{\"final\":true}", true);
        let (tx2, mut rx2) = mpsc::unbounded_channel();
        assert!(store.resume(&format!("{id}-1"), tx2));
        let replayed = drain(&mut rx2);
        assert_eq!(replayed.len(), 1);
        assert!(replayed[0].contains("final"));
        assert!(!store.resume(&format!("{id}-1"), mpsc::unbounded_channel().0));
    }
}
