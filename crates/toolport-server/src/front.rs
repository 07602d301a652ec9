//! The service in front of the router. `POST /mcp` and `POST /mcp/{name}` carry every MCP call, so
//! they go straight to their handler: the access check, the scope, the body under its limit, then
//! [`streamable::post`]. Everything else goes through the axum router. The router's machinery per
//! request (a clone of the route, the middleware's boxed service and future, extractors copying
//! the headers and the path) cost about a tenth of a call's CPU time (BENCHMARKS.md).

use std::collections::HashMap;
use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use futures::future::{BoxFuture, Either};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower::Service;

use crate::access;
use crate::error::HttpError;
use crate::router::AppState;
use crate::streamable::{self, named_scope, query_scope};

/// Serves `POST /mcp[/{name}]` itself and hands every other request to `router`.
#[derive(Clone, Debug)]
pub struct Front {
    state: AppState,
    router: Router,
    /// `toolport.maxBodyBytes`, as the router's `DefaultBodyLimit` has it.
    body_limit: usize,
}

impl Front {
    pub fn new(state: AppState, router: Router, body_limit: usize) -> Self {
        Self {
            state,
            router,
            body_limit,
        }
    }
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteFuture<Infallible>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.method() == Method::POST
            && let Some(target) = McpPath::of(request.uri().path())
        {
            let (state, limit) = (self.state.clone(), self.body_limit);
            return Either::Right(Box::pin(async move {
                Ok(post(state, target, request, limit)
                    .await
                    .unwrap_or_else(IntoResponse::into_response))
            }));
        }
        Either::Left(self.router.call(request))
    }
}

/// The path of a Streamable HTTP POST, as the router would match it.
#[derive(Debug, PartialEq, Eq)]
enum McpPath {
    /// `/mcp`
    All,
    /// `/mcp/{name}`, `name` still percent-encoded.
    Named(String),
}

impl McpPath {
    fn of(path: &str) -> Option<Self> {
        match path.strip_prefix("/mcp")? {
            "" => Some(Self::All),
            rest => rest
                .strip_prefix('/')
                .filter(|name| !name.is_empty() && !name.contains('/'))
                .map(|name| Self::Named(name.to_owned())),
        }
    }
}

async fn post(
    state: AppState,
    target: McpPath,
    request: Request,
    limit: usize,
) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    let caller = access::admit(&state, &parts.headers, &parts.uri).await?;
    let scope = match target {
        McpPath::All => {
            let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .map_err(IntoResponse::into_response)?;
            query_scope(&query)
        }
        McpPath::Named(encoded) => {
            let name = percent_encoding::percent_decode_str(&encoded)
                .decode_utf8()
                .map_err(|_| {
                    HttpError::bad_request(format!(
                        "the server or endpoint name {encoded:?} is not UTF-8 once percent-decoded"
                    ))
                    .into_response()
                })?;
            named_scope(&state.gateway, &name).map_err(IntoResponse::into_response)?
        }
    };
    let body = read_limited(body, limit)
        .await
        .map_err(IntoResponse::into_response)?;
    streamable::post(state, scope, caller, &parts.headers, body)
        .await
        .map_err(IntoResponse::into_response)
}

/// The whole body, refused with 413 beyond `limit` bytes.
async fn read_limited(body: Body, limit: usize) -> Result<Bytes, HttpError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(streamable::body_too_large()),
        Err(error) => Err(streamable::unreadable_body(StatusCode::BAD_REQUEST, &error)),
    }
}

#[cfg(test)]
mod tests {
    use super::McpPath;

    #[test]
    fn only_the_routers_post_paths_are_taken() {
        assert_eq!(McpPath::of("/mcp"), Some(McpPath::All));
        let named = |name: &str| Some(McpPath::Named(name.to_owned()));
        assert_eq!(McpPath::of("/mcp/github"), named("github"));
        assert_eq!(McpPath::of("/mcp/git%68ub"), named("git%68ub"));
        for other in [
            "/mcp/", "/mcp/a/b", "/mcpx", "/mcp//", "/message", "/sse", "/",
        ] {
            assert_eq!(McpPath::of(other), None, "{other}");
        }
    }
}
