//! OAuth 2.0 client credentials: the access token is fetched once, cached, and refreshed shortly before
//! it expires; concurrent callers wait for the one refresh in flight instead of starting their own.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::SafeClient;
use super::config::OAuth2ClientCredentials;

/// How long before expiry a token is replaced (at most; a tenth of its lifetime for short-lived tokens).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Lifetime assumed when the server does not say (`expires_in` absent).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// Bound on a token endpoint's answer.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    refresh_at: Instant,
}

/// The token cache of one API.
#[derive(Debug)]
pub(crate) struct TokenSource {
    config: OAuth2ClientCredentials,
    client: SafeClient,
    timeout: Duration,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub fn new(config: OAuth2ClientCredentials, client: SafeClient, timeout: Duration) -> Self {
        TokenSource {
            config,
            client,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token. The lock is held across the refresh: one request per expiry window.
    pub async fn token(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Forgets `token` (the API refused it), unless it was already replaced.
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, String> {
        let c = &self.config;
        let url = url::Url::parse(&c.token_url)
            .map_err(|e| format!("the OAuth2 tokenUrl `{}` is invalid ({e})", c.token_url))?;
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if !c.scopes.is_empty() {
                form.append_pair("scope", &c.scopes.join(" "));
            }
            if let Some(a) = &c.audience {
                form.append_pair("audience", a);
            }
            if c.credentials_in_body {
                form.append_pair("client_id", &c.client_id);
                form.append_pair("client_secret", &c.client_secret);
            }
            form.finish()
        };
        let mut builder = self
            .client
            .request(reqwest::Method::POST, url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if !c.credentials_in_body {
            // RFC 6749 §2.3.1: form-encode both parts before joining them.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(&c.client_id), enc(&c.client_secret));
            builder = builder.header(
                reqwest::header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            );
        }
        let request = builder
            .body(form)
            .build()
            .map_err(|e| format!("could not build the token request: {e}"))?;
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut response = self
            .client
            .execute(request, self.timeout)
            .await
            .map_err(|e| format!("the token request failed: {e}"))?;
        let status = response.status();
        let (body, _) = super::client::read_limited(
            &mut response,
            MAX_TOKEN_RESPONSE,
            deadline,
            &c.token_url,
            self.timeout,
        )
        .await
        .map_err(|e| format!("the token request failed: {e}"))?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(format!(
                "the token endpoint `{}` answered HTTP {status}: {}; check clientId, clientSecret and scopes",
                c.token_url,
                excerpt(&text)
            ));
        }
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            format!(
                "the token endpoint `{}` did not answer JSON: {}",
                c.token_url,
                excerpt(&text)
            )
        })?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                format!(
                    "the token endpoint `{}` answered without `access_token`",
                    c.token_url
                )
            })?
            .to_string();
        let lifetime = match v.get("expires_in") {
            Some(Value::Number(n)) => n
                .as_f64()
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9))),
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .map(|s| Duration::from_secs_f64(s.clamp(0.0, 1e9))),
            _ => None,
        }
        .unwrap_or(DEFAULT_LIFETIME);
        let margin = REFRESH_MARGIN.min(lifetime / 10);
        Ok(Cached {
            token,
            refresh_at: started + lifetime.saturating_sub(margin),
        })
    }
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}
