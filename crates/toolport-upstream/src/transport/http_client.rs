//! The HTTP client of the MCP transports (Streamable HTTP, legacy SSE): hyper-util's pooled client
//! over rustls, without the request layers of a general-purpose client, since every call of an
//! HTTP backend goes through it. Names can be resolved through the SSRF policy (only vetted
//! addresses are connected to), and redirects are followed only within the server's own origin
//! (whose URL was checked), so that no redirect needs a check of its own.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{LOCATION, USER_AGENT};
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::api::client::{
    Lookup, MAX_REDIRECTS, SystemLookup, chain_message, resolve_vetted, ssrf_in_chain,
};
use crate::api::ssrf::{SsrfError, SsrfPolicy};

/// The body of every request: the whole message, ready to be sent again after a redirect.
pub(crate) type RequestBody = Full<Bytes>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const AGENT: &str = concat!("toolport/", env!("CARGO_PKG_VERSION"));

/// How much of an error answer's body is read to quote it.
const EXCERPT_READ_LIMIT: usize = 64 * 1024;
const EXCERPT_CHARS: usize = 300;

/// Why a request to an MCP server got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Ssrf(#[from] SsrfError),
    #[error("{0}")]
    Failed(String),
    #[error(
        "it redirected to {to}, on another origin; Toolport follows an MCP server's redirects only \
         within its origin, so that the server's headers (credentials) go nowhere else: configure \
         the URL it redirects to"
    )]
    CrossOrigin { to: String },
    #[error("invalid URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("it answered HTTP {status} with a Location that is not a URL: {location:?}")]
    BadLocation {
        status: StatusCode,
        location: String,
    },
}

/// The client of the MCP transports. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct McpHttpClient {
    client: Client<HttpsConnector<HttpConnector<Resolver>>, RequestBody>,
}

impl std::fmt::Debug for McpHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHttpClient").finish_non_exhaustive()
    }
}

impl Default for McpHttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl McpHttpClient {
    /// A client that reaches any address (for servers the operator configured).
    pub fn new() -> Self {
        Self::build(Resolver {
            policy: None,
            lookup: Arc::new(SystemLookup),
        })
    }

    /// A client for the MCP server at `server_url` that connects only to addresses `policy`
    /// admits, as `lookup` resolves them (for servers a tenant registered). `server_url` itself is
    /// checked first ([`SsrfPolicy::check_url`]), since an address literal never reaches a
    /// resolver; redirects stay within its origin.
    pub fn vetting(
        server_url: &str,
        policy: Arc<SsrfPolicy>,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, HttpError> {
        let parsed = url::Url::parse(server_url).map_err(|e| HttpError::InvalidUrl {
            url: server_url.to_string(),
            message: e.to_string(),
        })?;
        policy.check_url(&parsed)?;
        Ok(Self::build(Resolver {
            policy: Some(policy),
            lookup,
        }))
    }

    fn build(resolver: Resolver) -> Self {
        let mut http = HttpConnector::new_with_resolver(resolver);
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring's provider supports rustls' default protocol versions")
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        McpHttpClient { client }
    }

    /// Sends the request `build` makes for `uri`. A 301, 302, 307 or 308 to the same origin is
    /// followed (at most [`MAX_REDIRECTS`] times) by sending what `build` makes for its target: an
    /// MCP message keeps its method and body wherever the server moved.
    pub(crate) async fn send(
        &self,
        uri: &Uri,
        build: impl Fn(Uri) -> Request<RequestBody>,
    ) -> Result<Response<Incoming>, HttpError> {
        let mut target = uri.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = build(target.clone());
            request
                .headers_mut()
                .entry(USER_AGENT)
                .or_insert(HeaderValue::from_static(AGENT));
            let response = self.client.request(request).await.map_err(|e| {
                ssrf_in_chain(&e).map_or_else(|| HttpError::Failed(chain_message(&e)), Into::into)
            })?;
            let status = response.status();
            if !matches!(status.as_u16(), 301 | 302 | 307 | 308) {
                return Ok(response);
            }
            let Some(location) = response.headers().get(LOCATION) else {
                return Ok(response);
            };
            target = redirect_target(uri, &target, status, location)?;
        }
        Err(SsrfError::TooManyRedirects {
            limit: MAX_REDIRECTS,
            url: target.to_string(),
        }
        .into())
    }
}

/// The `Host` header for requests to `uri`'s origin (its port only when not the scheme's
/// default), or `None` without a host. Made once per server: left to hyper-util, it is formatted
/// again for every request. Redirects stay within the origin, so it holds for all of them.
pub(crate) fn host_header(uri: &Uri) -> Option<HeaderValue> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    let value = match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    HeaderValue::from_str(&value).ok()
}

/// Where a redirect from `current` leads, if it stays within the origin of `first`.
fn redirect_target(
    first: &Uri,
    current: &Uri,
    status: StatusCode,
    location: &HeaderValue,
) -> Result<Uri, HttpError> {
    let bad = || HttpError::BadLocation {
        status,
        location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
    };
    let current = url::Url::parse(&current.to_string()).map_err(|_| bad())?;
    let first = url::Url::parse(&first.to_string()).map_err(|_| bad())?;
    let next = location
        .to_str()
        .ok()
        .and_then(|l| current.join(l).ok())
        .ok_or_else(bad)?;
    if next.origin() != first.origin() {
        return Err(HttpError::CrossOrigin {
            to: next.to_string(),
        });
    }
    next.as_str().parse().map_err(|_| bad())
}

/// The start of an error answer's body, to quote in the error (empty when it cannot be read).
pub(crate) async fn excerpt(response: Response<Incoming>) -> String {
    let body = Limited::new(response.into_body(), EXCERPT_READ_LIMIT);
    match body.collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .chars()
            .take(EXCERPT_CHARS)
            .collect(),
        Err(_) => String::new(),
    }
}

/// hyper-util's resolver hook: resolves with `lookup` and, with a policy, hands over only the
/// addresses it admits, so that the connection goes to a checked address (no DNS rebinding).
/// Address-literal hosts never reach a resolver; their URLs are checked before sending.
#[derive(Clone)]
struct Resolver {
    policy: Option<Arc<SsrfPolicy>>,
    lookup: Arc<dyn Lookup>,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, SsrfError>> + Send>>;

impl tower::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = SsrfError;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let resolving = resolve_vetted(&*self.lookup, self.policy.clone(), name.as_str());
        Box::pin(async move {
            let ips = resolving.await?;
            Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect::<Vec<_>>()
                .into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(url: &str) -> Option<String> {
        host_header(&url.parse().expect("a valid URI"))
            .map(|v| v.to_str().expect("ASCII").to_owned())
    }

    #[test]
    fn the_host_header_names_the_port_only_when_it_is_not_the_schemes_default() {
        assert_eq!(
            host_of("http://127.0.0.1:8080/mcp").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_of("http://example.com:80/mcp").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            host_of("https://example.com/mcp").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            host_of("https://example.com:80/mcp").as_deref(),
            Some("example.com:80")
        );
        assert_eq!(host_of("http://[::1]:3000/").as_deref(), Some("[::1]:3000"));
        assert_eq!(
            host_of("https://user:secret@example.com:8443/").as_deref(),
            Some("example.com:8443")
        );
        assert_eq!(host_of("/mcp"), None);
    }
}
