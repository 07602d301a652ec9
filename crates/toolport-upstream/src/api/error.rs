//! Errors of setting up an API backend (reading, converting, validating); failures of single calls
//! become `isError` tool results instead, so the client sees them.

use toolport_import::ImportError;

use super::client::FetchError;
use crate::error::UpstreamError;

/// Why an API could not be made ready. Every message names the API, what failed, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("API `{api}`: could not read the description `{location}`: {message}")]
    SpecRead {
        api: String,
        location: String,
        message: String,
    },
    #[error("API `{api}`: could not download the description: {error}")]
    // The cause is part of the message, not a separate `source`, so reports show it once.
    SpecFetch { api: String, error: FetchError },
    #[error("API `{api}`: the description `{location}` was refused: {error}")]
    Convert {
        api: String,
        location: String,
        error: ImportError,
    },
    #[error(
        "API `{api}`: invalid baseUrl `{url}`: {message}; give an absolute http(s) URL such as https://api.example.com/v1"
    )]
    BaseUrl {
        api: String,
        url: String,
        message: String,
    },
    #[error(
        "API `{api}`: a GraphQL API needs `baseUrl` (the endpoint URL, e.g. https://api.github.com/graphql)"
    )]
    GraphqlEndpoint { api: String },
    #[error("API `{api}`: invalid header `{name}`: {message}")]
    Header {
        api: String,
        name: String,
        message: String,
    },
    #[error("API `{api}`: invalid auth configuration: {message}")]
    Auth { api: String, message: String },
    #[error(
        "API `{api}`: the description was converted while loading it, but the conversion task failed: {message}"
    )]
    Task { api: String, message: String },
}

impl From<ApiError> for UpstreamError {
    fn from(e: ApiError) -> Self {
        UpstreamError::Connect(e.to_string())
    }
}
