//! A backend reached over the legacy HTTP+SSE transport (2024-11-05): one GET stream that first
//! names a POST endpoint in an `endpoint` event and then carries every message from the server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_protocol::jsonrpc::Payload;
use toolport_protocol::{ErrorCode, Message, Response, RpcError};
use url::Url;

use super::header_map;
use super::http_client::{McpHttpClient, RequestBody};
use crate::error::UpstreamError;
use crate::peer::{Inbound, NotificationHook, Peer, PeerShared};

const ENDPOINT_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn connect(
    name: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    client: McpHttpClient,
    hook: Option<NotificationHook>,
    shutdown: CancellationToken,
) -> Result<(Arc<Peer>, mpsc::UnboundedReceiver<Inbound>), UpstreamError> {
    let invalid =
        |e: &dyn std::fmt::Display| UpstreamError::Connect(format!("invalid URL {url:?}: {e}"));
    let base = Url::parse(url).map_err(|e| invalid(&e))?;
    let base_uri: Uri = url.parse().map_err(|e| invalid(&e))?;
    let headers = header_map(headers)?;
    let open = |uri: Uri| {
        let mut request = Request::new(RequestBody::default());
        *request.uri_mut() = uri;
        request.headers_mut().clone_from(&headers);
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        request
    };
    let resp = client
        .send(&base_uri, open)
        .await
        .map_err(|e| UpstreamError::Connect(format!("GET {url} failed: {e}")))?;
    if !resp.status().is_success() {
        return Err(UpstreamError::Connect(format!(
            "GET {url} answered HTTP {}",
            resp.status()
        )));
    }
    let mut events = resp.into_body().into_data_stream().eventsource();
    let endpoint = tokio::time::timeout(ENDPOINT_WAIT, async {
        while let Some(Ok(event)) = events.next().await {
            if event.event == "endpoint" {
                return Some(event.data);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| {
        UpstreamError::Connect(format!(
            "{url} sent no `endpoint` event within {}s; is it a legacy SSE server? (use \"type\": \"http\" for Streamable HTTP)",
            ENDPOINT_WAIT.as_secs()
        ))
    })?;
    let endpoint = base
        .join(endpoint.trim())
        .map_err(|e| UpstreamError::Protocol(format!("invalid endpoint {endpoint:?}: {e}")))?;
    // Messages carry the configured headers (credentials): they go back to the server's origin
    // only, never to a host the server names.
    if endpoint.origin() != base.origin() {
        return Err(UpstreamError::Protocol(format!(
            "{url} named {endpoint} as its message endpoint, which is on another origin; Toolport \
             posts messages only to the SSE server's own origin"
        )));
    }
    let endpoint: Uri = endpoint
        .as_str()
        .parse()
        .map_err(|e| UpstreamError::Protocol(format!("invalid endpoint {endpoint}: {e}")))?;
    let (peer, mut outbound, shared, ev_rx) = Peer::new(hook);
    let name: Arc<str> = name.into();
    tokio::spawn(async move {
        let closed = shared.closed_token();
        let reason = loop {
            tokio::select! {
                () = shutdown.cancelled() => break "gateway shutting down".to_string(),
                () = closed.cancelled() => return,
                msg = outbound.recv() => {
                    let Some(msg) = msg else { break "peer dropped".to_string() };
                    tokio::spawn(post(client.clone(), endpoint.clone(), headers.clone(), msg, shared.clone()));
                }
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        if event.event == "message" || event.event.is_empty() {
                            deliver(&name, &shared, event.data.as_bytes());
                        }
                    }
                    Some(Err(e)) => break format!("event stream failed: {e}"),
                    None => break "event stream ended".to_string(),
                }
            }
        };
        shared.close(reason);
    });
    Ok((Arc::new(peer), ev_rx))
}

fn deliver(name: &str, shared: &PeerShared, bytes: &[u8]) {
    match Payload::parse(bytes) {
        Payload::Single(Ok(msg)) => shared.deliver(msg, None),
        Payload::Batch(items) => items
            .into_iter()
            .flatten()
            .for_each(|m| shared.deliver(m, None)),
        Payload::Single(Err(e)) => tracing::warn!(
            target: "toolport::backend",
            server = name,
            "ignoring a malformed message: {}",
            e.error.message
        ),
    }
}

async fn post(
    client: McpHttpClient,
    endpoint: Uri,
    headers: HeaderMap,
    msg: Message,
    shared: Arc<PeerShared>,
) {
    let id = match &msg {
        Message::Request(r) => Some(r.id.clone()),
        _ => None,
    };
    let body = Bytes::from(msg.to_json());
    let build = |uri: Uri| {
        let mut request = Request::new(Full::new(body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        request.headers_mut().clone_from(&headers);
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        request
    };
    let result = client.send(&endpoint, build).await;
    let problem = match result {
        Ok(r) if r.status().is_success() => {
            // Read to its end, so that the connection goes back to the pool.
            let _ = r.into_body().collect().await;
            return;
        }
        Ok(r) => format!("POST {endpoint} answered HTTP {}", r.status()),
        Err(e) => format!("POST {endpoint} failed: {e}"),
    };
    if let Some(id) = id {
        shared.deliver(
            Message::Response(Response::error(
                id,
                RpcError::new(ErrorCode::BACKEND_UNAVAILABLE, problem),
            )),
            None,
        );
    }
}
