//! APIs as tools: executing the tools that `toolport-import` derives from OpenAPI, Swagger, Postman and
//! GraphQL descriptions against the real API, through an SSRF-safe client.
//!
//! Layout, in the order a call travels:
//! - [`config`]: [`ApiConfig`], the validated form of one `apis` entry ([`ApiAuth`], [`SpecSource`]).
//! - `spec_loader`: reads the description (path or URL) and converts it ([`load_conversion`]).
//! - `backend`: [`ApiBackend`] lists the tools of the chosen mode and answers calls (dispatch/search
//!   meta-tools locally), each as an [`ApiAnswer`] that says whether the API itself failed.
//! - `request` (server choice, assembly) with `params` (parameter styles) and `body` (body encodings).
//! - `auth` (credentials, extra headers) with `oauth` (client-credentials token cache).
//! - `response`: the HTTP response as a `CallToolResult` ([`json_result`] and [`text_result`] for
//!   answers computed locally, such as meta-tools').
//! - [`ssrf`] (which addresses may be reached) and [`client`] ([`SafeClient`], which enforces it on
//!   every connection and redirect; the gateway uses it for spec downloads too).

mod auth;
mod backend;
mod body;
pub mod client;
pub mod config;
mod error;
mod oauth;
mod params;
mod request;
mod response;
mod spec_loader;
pub mod ssrf;

pub use backend::{ApiAnswer, ApiBackend};
pub use client::{FetchError, Lookup, Redirects, SafeClient, StaticLookup, SystemLookup};
pub use config::{ApiAuth, ApiConfig, ApiKeyLocation, OAuth2ClientCredentials, SpecSource};
pub use error::ApiError;
pub use response::{json_result, text_result};
pub use spec_loader::load_conversion;
pub use ssrf::{AddressClass, SsrfError, SsrfPolicy};
