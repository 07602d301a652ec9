//! [`Caller`]: the axum extractor that authenticates every admin request with its bearer token.
//!
//! It runs before any other extractor of a handler, so a request without a valid token is
//! answered with 401 (and one over its token's rate limit with 429 and `Retry-After`) before its
//! path, query or body is looked at.

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use toolport_metering::RetryAfter;
use toolport_store::Store;

use crate::access::Principal;
use crate::problem::Problem;
use crate::state::AdminState;

/// The authenticated caller of an admin route.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Store + 'static> FromRequestParts<AdminState<S>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState<S>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let principal = state.auth.principal(token).await?;
        if let Err(RetryAfter(wait)) = state.meter.check_admin_request(&principal.token_id) {
            // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Problem::too_many_requests(
                seconds,
                format!(
                    "this token's rate limit (toolport.limits.perToken) is reached; retry in {seconds} s"
                ),
            ));
        }
        Ok(Self(principal))
    }
}

/// The token of an `Authorization: Bearer ...` header. No header, or another scheme, is a missing
/// token; a Bearer header whose token is empty or not ASCII is an invalid one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Problem::missing_token());
    };
    let text = value.to_str().map_err(|_| Problem::invalid_token())?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Problem::missing_token());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Problem::invalid_token());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::problem::{CHALLENGE, CHALLENGE_INVALID, ProblemKind};

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(bearer_token(&with("Bearer tp_abc")).unwrap(), "tp_abc");
        assert_eq!(bearer_token(&with("bearer  tp_abc ")).unwrap(), "tp_abc");
        let missing = bearer_token(&HeaderMap::new()).unwrap_err();
        assert_eq!(missing.kind(), ProblemKind::Unauthorized);
        let basic = bearer_token(&with("Basic dXNlcjpwdw==")).unwrap_err();
        assert_eq!(basic, Problem::missing_token());
        assert_eq!(
            bearer_token(&with("Bearer")).unwrap_err(),
            Problem::invalid_token()
        );
        assert_ne!(CHALLENGE, CHALLENGE_INVALID);
    }
}
