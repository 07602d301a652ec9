//! The SSRF-safe HTTP client every outbound API request and spec download goes through: names are
//! resolved by a resolver that vets each address and hands reqwest only those (so the connection goes
//! to the checked address, no DNS rebinding), address-literal URLs are checked before sending, and
//! every redirect is re-checked (at most [`MAX_REDIRECTS`]).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ssrf::{SsrfError, SsrfPolicy};

/// Redirects followed per request; each one is checked like the first URL.
pub const MAX_REDIRECTS: usize = 5;

/// Turns a host name into addresses. The system resolver by default; tests and fixed host maps use
/// [`StaticLookup`].
pub trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;
}

/// The operating system's resolver (`getaddrinfo` through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let host = host.to_string();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed map from host name (lower case) to addresses; unknown names fail to resolve.
#[derive(Debug, Default, Clone)]
pub struct StaticLookup {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticLookup {
    pub fn new(hosts: impl IntoIterator<Item = (String, Vec<IpAddr>)>) -> Self {
        StaticLookup {
            hosts: hosts
                .into_iter()
                .map(|(h, a)| (h.to_ascii_lowercase(), a))
                .collect(),
        }
    }
}

impl Lookup for StaticLookup {
    fn lookup(&self, host: &str) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let found = self.hosts.get(&host.to_ascii_lowercase()).cloned();
        let host = host.to_string();
        Box::pin(async move {
            found.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("unknown host {host}"))
            })
        })
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// reqwest's resolver hook: resolves, vets every address, returns only vetted ones.
struct VettingResolver {
    policy: Arc<SsrfPolicy>,
    lookup: Arc<dyn Lookup>,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolving = resolve_vetted(&*self.lookup, Some(self.policy.clone()), name.as_str());
        Box::pin(async move {
            // Boxed as `dyn Error` directly, so that it can be downcast again.
            let ips = resolving.await.map_err(|e| Box::new(e) as BoxError)?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Resolves `host` and keeps the addresses `policy` admits (every one without a policy), so that
/// only vetted addresses reach a connector; a name with none left is refused with the first refusal.
pub(crate) fn resolve_vetted(
    lookup: &dyn Lookup,
    policy: Option<Arc<SsrfPolicy>>,
    host: &str,
) -> impl Future<Output = Result<Vec<IpAddr>, SsrfError>> + Send + 'static {
    let lookup = lookup.lookup(host);
    let host = host.to_string();
    async move {
        let ips = lookup.await.map_err(|e| SsrfError::Resolve {
            host: host.clone(),
            message: e.to_string(),
        })?;
        let mut refusal = None;
        let vetted: Vec<IpAddr> = ips
            .into_iter()
            .filter(
                |ip| match policy.as_deref().map(|p| p.check_ip(&host, *ip)) {
                    None | Some(Ok(())) => true,
                    Some(Err(e)) => {
                        refusal.get_or_insert(e);
                        false
                    }
                },
            )
            .collect();
        if vetted.is_empty() {
            return Err(refusal.unwrap_or(SsrfError::NoAddress { host }));
        }
        Ok(vetted)
    }
}

/// Why a request through the [`SafeClient`] failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Ssrf(#[from] SsrfError),
    #[error("no complete answer from {url} within {ms} ms")]
    Timeout { url: String, ms: u64 },
    #[error("request to {url} failed: {message}")]
    Http { url: String, message: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the document at {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("could not build the HTTP client: {0}")]
    Build(String),
}

impl FetchError {
    /// Whether the remote end could not be reached or did not answer in time (as opposed to a
    /// request refused here by policy or limits).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, FetchError::Timeout { .. } | FetchError::Http { .. })
    }

    /// Classifies a reqwest error, surfacing an SSRF refusal from anywhere in its source chain.
    pub fn from_reqwest(url: &str, timeout: Duration, e: &reqwest::Error) -> Self {
        if let Some(ssrf) = ssrf_in_chain(e) {
            return FetchError::Ssrf(ssrf);
        }
        if e.is_timeout() {
            return FetchError::Timeout {
                url: url.to_string(),
                ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            };
        }
        FetchError::Http {
            url: url.to_string(),
            message: chain_message(e),
        }
    }
}

/// The SSRF refusal anywhere in `e`'s source chain: HTTP clients wrap what the resolver refused.
pub(crate) fn ssrf_in_chain(e: &(dyn StdError + 'static)) -> Option<SsrfError> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(ssrf) = s.downcast_ref::<SsrfError>() {
            return Some(ssrf.clone());
        }
        // An `io::Error` wrapping ours reports the inner error's source, not the inner error.
        if let Some(ssrf) = s
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<SsrfError>())
        {
            return Some(ssrf.clone());
        }
        source = s.source();
    }
    None
}

/// `e` and each of its sources, joined by `: ` (HTTP clients' own messages say little alone).
pub(crate) fn chain_message(e: &(dyn StdError + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// Which redirects a request follows (each one checked against the policy either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Any origin (spec downloads, unauthenticated calls).
    AnyOrigin,
    /// Only to the origin of the first URL; a redirect elsewhere is returned as the 3xx response,
    /// so credentials in custom headers (API keys) never reach another host.
    SameOrigin,
}

/// An HTTP client that only reaches addresses its [`SsrfPolicy`] admits. Cheap to clone.
#[derive(Clone)]
pub struct SafeClient {
    any_origin: reqwest::Client,
    same_origin: reqwest::Client,
    policy: Arc<SsrfPolicy>,
}

impl std::fmt::Debug for SafeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeClient")
            .field("allow_hosts", &self.policy.allow_hosts())
            .finish()
    }
}

impl SafeClient {
    /// A client resolving names with the system resolver.
    pub fn new(policy: Arc<SsrfPolicy>) -> Result<Self, FetchError> {
        Self::with_lookup(policy, Arc::new(SystemLookup))
    }

    /// A client resolving names with `lookup` (every address still vetted by `policy`).
    pub fn with_lookup(
        policy: Arc<SsrfPolicy>,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, FetchError> {
        let build = |redirects: Redirects| {
            let redirect_policy = policy.clone();
            let redirect = reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS {
                    let url = attempt.url().to_string();
                    return attempt.error(SsrfError::TooManyRedirects {
                        limit: MAX_REDIRECTS,
                        url,
                    });
                }
                if redirects == Redirects::SameOrigin
                    && attempt
                        .previous()
                        .first()
                        .is_some_and(|first| first.origin() != attempt.url().origin())
                {
                    return attempt.stop();
                }
                match redirect_policy.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            });
            reqwest::Client::builder()
                .dns_resolver(Arc::new(VettingResolver {
                    policy: policy.clone(),
                    lookup: lookup.clone(),
                }))
                .redirect(redirect)
                // A proxy would resolve names itself, out of the policy's sight.
                .no_proxy()
                .connect_timeout(Duration::from_secs(10))
                .user_agent(concat!("toolport/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError::Build(e.to_string()))
        };
        Ok(SafeClient {
            any_origin: build(Redirects::AnyOrigin)?,
            same_origin: build(Redirects::SameOrigin)?,
            policy,
        })
    }

    pub fn policy(&self) -> &SsrfPolicy {
        &self.policy
    }

    /// Starts a request; send it with [`SafeClient::execute`] (never with `send`, which would skip
    /// the check of address-literal URLs). Outside this crate, build a `reqwest::Request` instead.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: url::Url,
    ) -> reqwest::RequestBuilder {
        self.any_origin.request(method, url)
    }

    /// Sends `request` after checking its URL, following checked redirects to any origin; the
    /// exchange up to the response headers is bounded by `timeout`.
    pub async fn execute(
        &self,
        request: reqwest::Request,
        timeout: Duration,
    ) -> Result<reqwest::Response, FetchError> {
        self.execute_with(request, timeout, Redirects::AnyOrigin)
            .await
    }

    /// Like [`SafeClient::execute`], with a choice of which redirects are followed.
    pub async fn execute_with(
        &self,
        request: reqwest::Request,
        timeout: Duration,
        redirects: Redirects,
    ) -> Result<reqwest::Response, FetchError> {
        self.policy.check_url(request.url())?;
        let url = request.url().to_string();
        let client = match redirects {
            Redirects::AnyOrigin => &self.any_origin,
            Redirects::SameOrigin => &self.same_origin,
        };
        match tokio::time::timeout(timeout, client.execute(request)).await {
            Err(_) => Err(FetchError::Timeout {
                url,
                ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Ok(Err(e)) => Err(FetchError::from_reqwest(&url, timeout, &e)),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Downloads a document (a spec, a referenced file): success status required, at most `limit` bytes.
    pub async fn get_bytes(
        &self,
        url: &str,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, FetchError> {
        let parsed = url::Url::parse(url).map_err(|e| FetchError::Http {
            url: url.to_string(),
            message: format!("invalid URL: {e}"),
        })?;
        let request = self
            .any_origin
            .get(parsed)
            .build()
            .map_err(|e| FetchError::from_reqwest(url, timeout, &e))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut response = self.execute(request, timeout).await?;
        if !response.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let (body, truncated) = read_limited(&mut response, limit, deadline, url, timeout).await?;
        if truncated {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        Ok(body)
    }
}

/// Reads at most `limit` bytes of the body before `deadline`; the flag says whether more followed.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
    deadline: tokio::time::Instant,
    url: &str,
    timeout: Duration,
) -> Result<(Vec<u8>, bool), FetchError> {
    let mut body = Vec::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => {
                return Err(FetchError::Timeout {
                    url: url.to_string(),
                    ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                });
            }
            Ok(Err(e)) => return Err(FetchError::from_reqwest(url, timeout, &e)),
            Ok(Ok(None)) => return Ok((body, false)),
            Ok(Ok(Some(c))) => c,
        };
        let room = limit.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
}
