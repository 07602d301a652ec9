//! The validated configuration of one API (an `apis` entry), as the gateway hands it over: values
//! already resolved, nothing left to parse.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use toolport_import::{ConvertOptions, Filter, Format, Mode};

/// Default bound on a response body kept for the client (1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Default deadline of one API call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest description document downloaded or read (64 MiB; GitHub's REST description is 13 MB).
pub const MAX_SPEC_BYTES: usize = 64 * 1024 * 1024;

/// Where the API description comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// A file path or an `http(s)://` URL, read by [`load_conversion`](super::load_conversion).
    Location(String),
    /// The document already read; `source` is where it came from (external `$ref`s and relative
    /// server URLs are resolved against it; may be empty).
    Bytes { source: String, bytes: Vec<u8> },
}

impl SpecSource {
    /// The path or URL of the document (empty when unknown).
    pub fn location(&self) -> &str {
        match self {
            SpecSource::Location(l) => l,
            SpecSource::Bytes { source, .. } => source,
        }
    }

    /// The location when it is an http(s) URL.
    pub fn url(&self) -> Option<url::Url> {
        let l = self.location();
        if l.starts_with("https://") || l.starts_with("http://") {
            url::Url::parse(l).ok()
        } else {
            None
        }
    }
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    Header,
    Query,
    Cookie,
}

/// How Toolport authenticates to the API. Secrets never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum ApiAuth {
    #[default]
    None,
    ApiKey {
        location: ApiKeyLocation,
        name: String,
        value: String,
    },
    Bearer {
        token: String,
    },
    Basic {
        username: String,
        password: String,
    },
    OAuth2ClientCredentials(OAuth2ClientCredentials),
}

impl fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiAuth::None => f.write_str("None"),
            ApiAuth::ApiKey { location, name, .. } => f
                .debug_struct("ApiKey")
                .field("location", location)
                .field("name", name)
                .field("value", &"***")
                .finish(),
            ApiAuth::Bearer { .. } => f.write_str("Bearer { token: *** }"),
            ApiAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            ApiAuth::OAuth2ClientCredentials(c) => c.fmt(f),
        }
    }
}

/// The OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct OAuth2ClientCredentials {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    /// Sent as `audience` (Auth0 and similar providers need it).
    pub audience: Option<String>,
    /// Send `client_id`/`client_secret` in the form body instead of HTTP Basic (`client_secret_post`).
    pub credentials_in_body: bool,
}

impl fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("credentials_in_body", &self.credentials_in_body)
            .finish()
    }
}

/// One API, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    pub spec: SpecSource,
    /// Force a description format instead of detecting it.
    pub format: Option<Format>,
    /// Replaces the description's servers (required for GraphQL: the endpoint URL).
    pub base_url: Option<String>,
    pub auth: ApiAuth,
    /// Sent with every request (after the operation's own headers, before auth).
    pub headers: BTreeMap<String, String>,
    /// Deadline of one call, response body included.
    pub timeout: Duration,
    /// Bodies above this are truncated with a notice.
    pub max_response_bytes: usize,
    /// `None`: tools below `dispatch_threshold` operations, dispatch at or above.
    pub mode: Option<Mode>,
    pub dispatch_threshold: usize,
    pub filter: Filter,
    /// Postman `{{variables}}` overriding the collection's.
    pub variables: BTreeMap<String, String>,
}

impl ApiConfig {
    /// A configuration with defaults: no auth, 30 s timeout, 1 MiB responses, automatic mode.
    pub fn new(spec: SpecSource) -> Self {
        ApiConfig {
            spec,
            format: None,
            base_url: None,
            auth: ApiAuth::None,
            headers: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            mode: None,
            dispatch_threshold: ConvertOptions::default().dispatch_threshold,
            filter: Filter::default(),
            variables: BTreeMap::new(),
        }
    }

    /// The importer options for the API named `name`.
    pub fn convert_options(&self, name: &str) -> ConvertOptions {
        ConvertOptions {
            format: self.format,
            api_name: name.to_string(),
            source: self.spec.location().to_string(),
            filter: self.filter.clone(),
            variables: self.variables.clone(),
            mode: self.mode,
            dispatch_threshold: self.dispatch_threshold,
        }
    }
}
