//! Upstream credentials: the configured auth (API key, bearer, basic, OAuth2 client credentials) and
//! fixed extra headers, added to every request of one API. Nothing comes from the MCP client.

use std::collections::BTreeMap;

use base64::Engine;

use super::client::SafeClient;
use super::config::{ApiAuth, ApiConfig, ApiKeyLocation};
use super::oauth::TokenSource;
use super::request::BuiltRequest;

/// Applies one API's credentials.
#[derive(Debug)]
pub(crate) struct Authenticator {
    auth: ApiAuth,
    headers: BTreeMap<String, String>,
    oauth: Option<TokenSource>,
}

/// What was applied, for a retry after the API refuses an OAuth token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Applied {
    pub oauth_token: Option<String>,
}

impl Authenticator {
    pub fn new(config: &ApiConfig, client: &SafeClient) -> Self {
        let oauth = match &config.auth {
            ApiAuth::OAuth2ClientCredentials(c) => {
                Some(TokenSource::new(c.clone(), client.clone(), config.timeout))
            }
            _ => None,
        };
        Authenticator {
            auth: config.auth.clone(),
            headers: config.headers.clone(),
            oauth,
        }
    }

    /// Adds the extra headers, then the credentials (which win over any same-named header).
    pub async fn apply(&self, req: &mut BuiltRequest) -> Result<Applied, String> {
        for (name, value) in &self.headers {
            req.set_header(name, value.clone());
        }
        let mut applied = Applied::default();
        match &self.auth {
            ApiAuth::None => {}
            ApiAuth::ApiKey {
                location,
                name,
                value,
            } => match location {
                ApiKeyLocation::Header => req.set_header(name, value.clone()),
                ApiKeyLocation::Query => {
                    let encoded = super::params::enc(name);
                    req.query.retain(|(k, _)| *k != encoded);
                    req.push_query(name, value);
                }
                ApiKeyLocation::Cookie => {
                    req.cookies.retain(|(k, _)| k != name);
                    req.cookies.push((name.clone(), value.clone()));
                }
            },
            ApiAuth::Bearer { token } => req.set_header("Authorization", format!("Bearer {token}")),
            ApiAuth::Basic { username, password } => {
                let creds = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                req.set_header("Authorization", format!("Basic {creds}"));
            }
            ApiAuth::OAuth2ClientCredentials(_) => {
                if let Some(source) = &self.oauth {
                    let token = source
                        .token()
                        .await
                        .map_err(|e| format!("could not obtain an OAuth2 access token: {e}"))?;
                    req.set_header("Authorization", format!("Bearer {token}"));
                    applied.oauth_token = Some(token);
                }
            }
        }
        Ok(applied)
    }

    /// After a 401: drops the OAuth token used, so the retry fetches a new one. True when a retry may help.
    pub async fn refused(&self, applied: &Applied) -> bool {
        match (&self.oauth, &applied.oauth_token) {
            (Some(source), Some(token)) => {
                source.invalidate(token).await;
                true
            }
            _ => false,
        }
    }
}
