//! One API as a backend: lists its tools (every operation, or the dispatch/search meta-tools) and
//! answers `tools/call` by executing the operation against the real API.
//!
//! Failures of a call (bad arguments, refused address, timeout, non-2xx) come back as `isError`
//! results so that the model sees them; only an unknown tool name is an `Err`. Besides the result,
//! a call says whether the API itself failed (unreachable, timed out, 5xx, 429), which the
//! gateway's circuit breaker counts; bad arguments and 4xx answers are the caller's business.

use std::sync::Arc;

use serde_json::{Map, Value};
use toolport_import::modes::{dispatch, prefix, resolve_call, search};
use toolport_import::{Conversion, ConvertedTool, ExecutionPlan, Mode};
use toolport_protocol::RpcError;
use url::Url;

use super::auth::Authenticator;
use super::body::Body;
use super::client::{Redirects, SafeClient};
use super::config::{ApiAuth, ApiConfig};
use super::error::ApiError;
use super::request::{BuiltRequest, Target, build_graphql, build_http};
use super::response::{Received, json_result, mark_graphql_errors, text_result, to_result};
use super::spec_loader::load_conversion;
use crate::error::UpstreamError;

/// Largest file downloaded for a multipart resource link.
const MAX_LINKED_FILE_BYTES: usize = 32 * 1024 * 1024;

/// What one call produced: the `CallToolResult`, and whether the API itself failed to serve it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    pub result: Value,
    /// The API could not be reached, did not answer in time, or answered 5xx or 429.
    pub upstream_failed: bool,
}

impl ApiAnswer {
    /// An answer that did not depend on the API's health (computed locally or refused early).
    fn local(result: Value) -> Self {
        Self {
            result,
            upstream_failed: false,
        }
    }
}

/// An API ready to serve calls. Share it behind an `Arc`; calls run concurrently.
#[derive(Debug)]
pub struct ApiBackend {
    name: String,
    config: ApiConfig,
    conversion: Conversion,
    base_url: Option<Url>,
    spec_url: Option<Url>,
    client: SafeClient,
    /// Same-origin only when credentials are configured (see [`Redirects::SameOrigin`]).
    redirects: Redirects,
    auth: Authenticator,
    index: Option<search::SearchIndex>,
}

impl ApiBackend {
    /// Reads and converts the description (see [`load_conversion`]), then builds the backend.
    pub async fn load(
        name: &str,
        config: ApiConfig,
        client: SafeClient,
    ) -> Result<Arc<Self>, ApiError> {
        let conversion = load_conversion(name, &config, &client).await?;
        Self::new(name, config, conversion, client).map(Arc::new)
    }

    /// A backend over an existing conversion (for example one the gateway keeps cached).
    pub fn new(
        name: &str,
        config: ApiConfig,
        conversion: Conversion,
        client: SafeClient,
    ) -> Result<Self, ApiError> {
        let base_url = match &config.base_url {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw).map_err(|e| ApiError::BaseUrl {
                    api: name.to_string(),
                    url: raw.clone(),
                    message: e.to_string(),
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ApiError::BaseUrl {
                        api: name.to_string(),
                        url: raw.clone(),
                        message: "only http and https are supported".to_string(),
                    });
                }
                Some(url)
            }
        };
        let graphql = conversion
            .tools
            .iter()
            .any(|t| matches!(t.plan, ExecutionPlan::Graphql(_)));
        if graphql && base_url.is_none() {
            return Err(ApiError::GraphqlEndpoint {
                api: name.to_string(),
            });
        }
        for (header, value) in &config.headers {
            let bad = reqwest::header::HeaderName::from_bytes(header.as_bytes())
                .err()
                .map(|_| "not a valid HTTP header name")
                .or_else(|| {
                    reqwest::header::HeaderValue::from_str(value)
                        .err()
                        .map(|_| "the value contains line breaks or non-ASCII characters")
                });
            if let Some(message) = bad {
                return Err(ApiError::Header {
                    api: name.to_string(),
                    name: header.clone(),
                    message: message.to_string(),
                });
            }
        }
        if let ApiAuth::OAuth2ClientCredentials(c) = &config.auth
            && Url::parse(&c.token_url).is_err()
        {
            return Err(ApiError::Auth {
                api: name.to_string(),
                message: format!("tokenUrl `{}` is not an absolute URL", c.token_url),
            });
        }
        let index =
            (conversion.mode == Mode::Search).then(|| search::SearchIndex::new(&conversion.tools));
        let auth = Authenticator::new(&config, &client);
        let redirects = if config.auth == ApiAuth::None && config.headers.is_empty() {
            Redirects::AnyOrigin
        } else {
            Redirects::SameOrigin
        };
        Ok(ApiBackend {
            name: name.to_string(),
            spec_url: config.spec.url(),
            config,
            conversion,
            base_url,
            client,
            redirects,
            auth,
            index,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The conversion behind the tools (operations, diagnostics, mode).
    pub fn conversion(&self) -> &Conversion {
        &self.conversion
    }

    /// The MCP `Tool` objects to list, for the conversion's mode.
    pub fn tools(&self) -> Vec<Value> {
        toolport_import::exposed_tools(&self.conversion)
            .into_iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect()
    }

    /// Runs one tool; the result is a `CallToolResult`.
    pub async fn call(&self, tool_name: &str, arguments: Value) -> Result<Value, UpstreamError> {
        self.call_observed(tool_name, arguments)
            .await
            .map(|answer| answer.result)
    }

    /// Runs one tool and says whether the API itself failed (see [`ApiAnswer`]).
    pub async fn call_observed(
        &self,
        tool_name: &str,
        arguments: Value,
    ) -> Result<ApiAnswer, UpstreamError> {
        let p = prefix(&self.conversion.api_name);
        let meta = tool_name
            .strip_prefix(p.as_str())
            .and_then(|s| s.strip_prefix("__"));
        match (self.conversion.mode, meta) {
            (Mode::Tools, _) => match self.conversion.tool(tool_name) {
                Some(tool) => Ok(self.execute(tool, arguments).await),
                None => Err(self.unknown(tool_name)),
            },
            (Mode::Dispatch, Some("list_operations")) => {
                let text = |k: &str| arguments.get(k).and_then(Value::as_str);
                let num = |k: &str, d: usize| {
                    arguments
                        .get(k)
                        .and_then(Value::as_u64)
                        .map_or(d, |n| usize::try_from(n).unwrap_or(usize::MAX))
                };
                Ok(ApiAnswer::local(json_result(dispatch::list_operations(
                    &self.conversion.tools,
                    text("query"),
                    text("tag"),
                    num("offset", 0),
                    num("limit", dispatch::DEFAULT_LIMIT),
                ))))
            }
            (Mode::Dispatch, Some("describe_operation")) => {
                let op = arguments
                    .get("operation")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Ok(ApiAnswer::local(
                    match dispatch::describe_operation(&self.conversion.tools, op) {
                        Some(v) => json_result(v),
                        None => text_result(
                            format!(
                                "no operation named `{op}`; list the operations to find its exact name"
                            ),
                            true,
                        ),
                    },
                ))
            }
            (Mode::Search, Some("search_operations")) => {
                let query = arguments.get("query").and_then(Value::as_str).unwrap_or("");
                let limit = arguments
                    .get("limit")
                    .and_then(Value::as_u64)
                    .map_or(5, |n| usize::try_from(n).unwrap_or(20));
                let empty;
                let index = match &self.index {
                    Some(i) => i,
                    None => {
                        empty = search::SearchIndex::new(&self.conversion.tools);
                        &empty
                    }
                };
                Ok(ApiAnswer::local(json_result(search::search_operations(
                    &self.conversion.tools,
                    index,
                    query,
                    limit,
                ))))
            }
            (Mode::Dispatch | Mode::Search, Some("call_operation")) => {
                match resolve_call(&self.conversion.tools, &arguments) {
                    Ok((tool, args)) => Ok(self.execute(tool, args).await),
                    Err(message) => Ok(ApiAnswer::local(text_result(message, true))),
                }
            }
            _ => Err(self.unknown(tool_name)),
        }
    }

    fn unknown(&self, tool_name: &str) -> UpstreamError {
        UpstreamError::Rpc(Box::new(RpcError::invalid_params(format!(
            "unknown tool `{tool_name}` of API `{}`",
            self.name
        ))))
    }

    /// Executes one operation; every failure becomes an `isError` result.
    async fn execute(&self, tool: &ConvertedTool, arguments: Value) -> ApiAnswer {
        let args = match arguments {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return ApiAnswer::local(text_result("the arguments must be a JSON object", true));
            }
        };
        let built = match &tool.plan {
            ExecutionPlan::Http(plan) => build_http(
                plan,
                &args,
                Target {
                    base_url: self.base_url.as_ref(),
                    spec_url: self.spec_url.as_ref(),
                },
            ),
            ExecutionPlan::Graphql(plan) => match &self.base_url {
                Some(endpoint) => build_graphql(plan, &args, endpoint),
                None => Err("the GraphQL endpoint is not configured (baseUrl)".to_string()),
            },
        };
        let built = match built {
            Ok(b) => b,
            Err(message) => {
                return ApiAnswer::local(text_result(
                    format!("invalid arguments for `{}`: {message}", tool.tool.name),
                    true,
                ));
            }
        };
        let mut built = built;
        if let Err(message) = self.fetch_linked_files(&mut built).await {
            return ApiAnswer::local(text_result(message, true));
        }
        let mut answer = self.send(built, true).await;
        if matches!(tool.plan, ExecutionPlan::Graphql(_)) {
            answer.result = mark_graphql_errors(answer.result);
        }
        answer
    }

    /// Downloads the resource links given for multipart file fields.
    async fn fetch_linked_files(&self, built: &mut BuiltRequest) -> Result<(), String> {
        let Some(Body::Multipart(parts)) = &mut built.body else {
            return Ok(());
        };
        for part in parts.iter_mut() {
            if let Some(uri) = part.fetch.take() {
                part.data = self
                    .client
                    .get_bytes(&uri, MAX_LINKED_FILE_BYTES, self.config.timeout)
                    .await
                    .map_err(|e| {
                        format!("file field `{}`: could not fetch `{uri}`: {e}", part.name)
                    })?;
            }
        }
        Ok(())
    }

    /// Authenticates and sends; one retry with a fresh OAuth token after a 401.
    async fn send(&self, mut built: BuiltRequest, may_retry: bool) -> ApiAnswer {
        let applied = match self.auth.apply(&mut built).await {
            Ok(a) => a,
            Err(message) => {
                return ApiAnswer::local(text_result(
                    format!("API `{}`: {message}", self.name),
                    true,
                ));
            }
        };
        let method = built.method.to_string();
        let url = built.full_url();
        let shown_url = without_query(&url);
        let url_query = url.query().unwrap_or("").to_string();
        let retry_copy = (may_retry && applied.oauth_token.is_some()).then(|| built.clone());
        let builder = self.client.request(built.method.clone(), url);
        let request = match built.into_reqwest(builder) {
            Ok(r) => r,
            Err(message) => {
                return ApiAnswer::local(text_result(format!("invalid request: {message}"), true));
            }
        };
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut response = match self
            .client
            .execute_with(request, timeout, self.redirects)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return ApiAnswer {
                    upstream_failed: e.is_unreachable(),
                    result: text_result(
                        redact(format!("API `{}`: {e}", self.name), &url_query),
                        true,
                    ),
                };
            }
        };
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let Some(mut again) = retry_copy
            && self.auth.refused(&applied).await
        {
            again
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
            return Box::pin(self.send(again, false)).await;
        }
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.config.max_response_bytes;
        let (body, truncated) =
            match super::client::read_limited(&mut response, limit, deadline, &shown_url, timeout)
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    return ApiAnswer {
                        upstream_failed: e.is_unreachable(),
                        result: text_result(
                            redact(format!("API `{}`: {e}", self.name), &url_query),
                            true,
                        ),
                    };
                }
            };
        let result = to_result(Received {
            method: &method,
            url: &shown_url,
            status,
            content_type,
            location,
            body,
            truncated,
            limit,
        });
        ApiAnswer {
            result,
            upstream_failed: status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// The URL as shown in results: without its query, which may carry an API key.
fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// `message` with the request's query string (which may carry an API key) blanked out.
fn redact(message: String, query: &str) -> String {
    if query.is_empty() {
        message
    } else {
        message.replace(query, "[query redacted]")
    }
}
