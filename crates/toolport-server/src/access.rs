//! Who may use the MCP routes: with `toolport.mcpAccess = "token"` (the default) every request
//! carries an API token whose scopes cover the endpoint it addresses (401 without a valid token,
//! 403 when its scopes do not reach a configured server or endpoint), and a session can only be
//! used by the caller who opened it. A tenant's virtual endpoint answers only tokens of that
//! tenant whose scopes reach it; to anyone else it is a 404 exactly like a name that does not
//! exist (so is any unknown name, whatever the token's scopes). With `"open"` (loopback only)
//! virtual endpoints are served to anyone, like everything else.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use toolport_admin::{AccessError, Principal};
use toolport_gateway::config::McpAccess;
use toolport_protocol::ErrorCode;

use crate::error::HttpError;
use crate::guard;
use crate::router::AppState;
use crate::streamable::{SESSION_HEADER, no_such_endpoint};
use crate::{sse, streamable};

/// The identity behind a request, attached to it for the handlers: its token's tenant, user and
/// id, or `None` when the MCP routes are open. Sessions remember it to refuse other callers and to
/// meter their calls. Two callers are equal when they are the same user of the same tenant.
#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Arc<toolport_gateway::Caller>>);

impl Caller {
    fn of(principal: &Principal) -> Self {
        Self(Some(Arc::new(toolport_gateway::Caller {
            tenant_id: principal.tenant_id.clone(),
            tenant_name: principal.tenant_name.clone(),
            user_id: principal.user_id.clone(),
            token_id: principal.token_id.clone(),
        })))
    }
}

impl PartialEq for Caller {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => a.same_user(b),
            _ => false,
        }
    }
}

impl Eq for Caller {}

/// The one middleware of the MCP routes other than `POST /mcp[/{name}]` (which
/// [`crate::front`] serves, calling [`admit`] itself): the caller is attached to the request for
/// the handlers. One layer rather than two, since each layer boxes the request's future once more.
pub async fn check(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match admit(&state, request.headers(), request.uri()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => refused,
    }
}

/// Who sends a request to an MCP route, or the response that refuses it: the DNS-rebinding guard
/// first (a foreign Host or Origin is refused before anything else is read), then the token, then
/// the session's owner.
pub async fn admit(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Caller, Response> {
    let config = state.gateway.config();
    if let Some(refused) = guard::refusal(&config.http, headers) {
        return Err(refused.into_response());
    }
    let caller = match config.http.mcp_access {
        McpAccess::Open => Caller::default(),
        McpAccess::Token => authorize(state, headers, uri.path()).await?,
    };
    if let Some((id, unknown)) = session_id(headers, uri)
        && state
            .sessions
            .owner(id)
            .is_some_and(|owner| owner != caller)
    {
        // Answered like an unknown session: another caller's session does not exist for you.
        return Err(unknown(id).into_response());
    }
    Ok(caller)
}

async fn authorize(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Caller, Response> {
    let Some(auth) = &state.auth else {
        return Err(unauthorized(&AccessError::Invalid, false));
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(unauthorized(&AccessError::Missing, false));
    };
    let principal = match auth.authenticate(token).await {
        Ok(p) => p,
        Err(AccessError::Store(e)) => {
            tracing::error!("cannot check an API token: {e}");
            return Err(HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::INTERNAL_ERROR,
                "cannot check the API token right now; try again",
            )
            .into_response());
        }
        Err(e) => return Err(unauthorized(&e, true)),
    };
    let endpoint = endpoint_of(path);
    let caller = Caller::of(&principal);
    if let Endpoint::Named(name) = endpoint {
        let config = state.gateway.config();
        let server_visible = state.gateway.server_visible(name, caller.0.as_deref());
        if !server_visible && config.servers.contains_key(name) {
            // A server not granted to the caller's tenant does not exist for it.
            return Err(no_such_endpoint(name).into_response());
        }
        if !server_visible && !config.endpoints.contains_key(name) {
            // A tenant's virtual endpoint, or nothing: it answers only its own tenant's tokens
            // whose scopes reach it, and everyone else exactly as if it did not exist.
            let owned = state.gateway.virtual_endpoint(name).is_some_and(|e| {
                e.tenant_id == principal.tenant_id && principal.scopes.allows_endpoint(Some(name))
            });
            if !owned {
                return Err(no_such_endpoint(name).into_response());
            }
            return Ok(caller);
        }
    }
    if endpoint != Endpoint::SessionBound && !principal.scopes.allows_endpoint(endpoint.name()) {
        let what = endpoint.name().map_or_else(
            || "the aggregate endpoint /mcp".to_string(),
            |n| format!("endpoint {n:?}"),
        );
        return Err(HttpError::forbidden(format!(
            "this token's scopes do not cover {what}; create a token with scope \"mcp\" or \"mcp:{}\"",
            endpoint.name().unwrap_or("NAME")
        ))
        .into_response());
    }
    Ok(caller)
}

fn unauthorized(error: &AccessError, token_sent: bool) -> Response {
    let challenge = if token_sent {
        r#"Bearer realm="toolport", error="invalid_token""#
    } else {
        r#"Bearer realm="toolport""#
    };
    let mut response = HttpError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::INVALID_REQUEST,
        error.to_string(),
    )
    .into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// What an MCP route addresses.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint<'a> {
    /// `/mcp`, `/sse`.
    Aggregate,
    /// `/mcp/{name}`, `/sse/{name}`.
    Named(&'a str),
    /// `/message`: its session decides (and was checked when it was opened).
    SessionBound,
}

impl<'a> Endpoint<'a> {
    fn name(&self) -> Option<&'a str> {
        match self {
            Self::Named(name) => Some(name),
            _ => None,
        }
    }
}

fn endpoint_of(path: &str) -> Endpoint<'_> {
    let rest = path
        .strip_prefix("/mcp")
        .or_else(|| path.strip_prefix("/sse"));
    match rest {
        Some(rest) => match rest.strip_prefix('/').filter(|n| !n.is_empty()) {
            Some(name) => Endpoint::Named(name),
            None => Endpoint::Aggregate,
        },
        None => Endpoint::SessionBound,
    }
}

/// A transport's answer for a session id that names no session of the caller's.
type UnknownSession = fn(&str) -> HttpError;

/// The session a request names, `Mcp-Session-Id` (Streamable HTTP) or `?sessionId=` (legacy
/// SSE), with the answer its transport gives a session that does not exist.
fn session_id<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<(&'a str, UnknownSession)> {
    if let Some(id) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some((id, streamable::unknown_session));
    }
    uri.query()
        .and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("sessionId="))
        })
        .map(|id| (id, sse::unknown_session as UnknownSession))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_read_from_paths() {
        assert_eq!(endpoint_of("/mcp"), Endpoint::Aggregate);
        assert_eq!(endpoint_of("/mcp/"), Endpoint::Aggregate);
        assert_eq!(endpoint_of("/sse/github"), Endpoint::Named("github"));
        assert_eq!(endpoint_of("/mcp/github"), Endpoint::Named("github"));
        assert_eq!(endpoint_of("/message"), Endpoint::SessionBound);
    }
}
