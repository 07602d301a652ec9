//! The OpenAPI 3.1 document of the admin API, generated from the handlers' `#[utoipa::path]`
//! annotations, and its route `GET /api/v1/openapi.json` (public).
//!
//! Problem responses are shared components (`#/components/responses/NotFound`, ...), each with
//! the `application/problem+json` body schema `ProblemDetails`; every operation lists exactly the
//! statuses its handler can answer with.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response as OaResponse, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse};

use crate::api;
use crate::problem::{PROBLEM_CONTENT_TYPE, ProblemDetails};

/// The OpenAPI 3.1 document of [`crate::router`], as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Toolport admin API",
        description = "Tenants, users, members, API tokens, secrets, registered APIs and MCP \
                       servers, virtual endpoints, plans, \
                       usage, the audit log and the vault's master key of a Toolport gateway. \
                       Every route needs `Authorization: Bearer tp_...` except this document. \
                       Errors are RFC 9457 problem details (`application/problem+json`). Lists \
                       take `?limit=` (1..=1000, default 100) and `?after=` (the previous page's \
                       `next_after`). Timestamps are Unix seconds. A tenant other than the \
                       token's own is answered exactly like a missing one (404).",
    ),
    paths(
        openapi_json,
        api::me::get_me,
        api::my_secrets::list_my_secrets,
        api::my_secrets::put_my_secret,
        api::my_secrets::delete_my_secret,
        api::tenants::list_tenants,
        api::tenants::create_tenant,
        api::tenants::get_tenant,
        api::tenants::delete_tenant,
        api::users::list_users,
        api::users::create_user,
        api::users::get_user,
        api::users::delete_user,
        api::members::list_members,
        api::members::add_member,
        api::members::set_member_role,
        api::members::remove_member,
        api::tokens::list_tokens,
        api::tokens::create_token,
        api::tokens::get_token,
        api::tokens::revoke_token,
        api::secrets::list_secrets,
        api::secrets::put_secret,
        api::secrets::delete_secret,
        api::endpoints::list_endpoints,
        api::endpoints::create_endpoint,
        api::endpoints::get_endpoint,
        api::endpoints::update_endpoint,
        api::endpoints::delete_endpoint,
        api::endpoints::set_endpoint_tools,
        api::endpoints::put_endpoint_tool,
        api::endpoints::remove_endpoint_tool,
        api::backends::list_apis,
        api::backends::register_api,
        api::backends::get_api,
        api::backends::replace_api,
        api::backends::delete_api,
        api::backends::list_servers,
        api::backends::register_server,
        api::backends::get_server,
        api::backends::replace_server,
        api::backends::delete_server,
        api::plans::list_plans,
        api::plans::set_tenant_plan,
        api::usage::get_usage,
        api::usage::list_usage_events,
        api::audit::list_tenant_audit,
        api::audit::list_audit,
        api::vault::rotate_master_key,
    ),
    components(
        schemas(ProblemDetails, crate::rotation::RotationReport),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            InternalError,
        )
    ),
    modifiers(&BearerScheme, &RateLimited),
    security(("bearer" = [])),
    tags(
        (name = "meta", description = "This document."),
        (
            name = "me",
            description = "The calling token, and its user's own secrets (write-only values)."
        ),
        (name = "tenants", description = "Tenants (operators manage them; others see their own)."),
        (name = "users", description = "The gateway's users (operator only)."),
        (name = "members", description = "A tenant's members and their roles."),
        (name = "tokens", description = "A tenant's API tokens."),
        (
            name = "secrets",
            description = "A tenant's secrets: write-only values, readable metadata."
        ),
        (
            name = "endpoints",
            description = "A tenant's virtual MCP endpoints (/mcp/{slug}): chosen tools of the \
                           gateway's backends, renamed and redescribed."
        ),
        (
            name = "backends",
            description = "A tenant's own HTTP APIs and MCP servers, private to it: their tools \
                           appear on /mcp for its tokens and in its virtual endpoints."
        ),
        (name = "plans", description = "Plans and their quotas; a tenant's plan."),
        (name = "usage", description = "A tenant's metered tool calls and quota."),
        (name = "audit", description = "Who did what: tool calls and administrative changes."),
        (name = "vault", description = "The vault's master key (operator only)."),
    )
)]
struct ApiDoc;

/// Adds the `bearer` security scheme.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("tp_ followed by 32 URL-safe characters")
                    .description(Some("An API token: `Authorization: Bearer tp_...`."))
                    .build(),
            ),
        );
    }
}

/// Adds the 429 response to every operation that takes a token: any of them may meet the token's
/// rate limit (`toolport.limits.perToken`).
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut doc.paths.paths {
            if path == "/api/v1/openapi.json" {
                continue;
            }
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                operation.responses.responses.insert(
                    "429".to_owned(),
                    RefOr::Ref(Ref::from_response_name("TooManyRequests")),
                );
            }
        }
    }
}

/// The OpenAPI document of this API (public: no token needed).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    operation_id = "get_openapi",
    security(()),
    responses(
        (
            status = 200,
            description = "The OpenAPI 3.1 document.",
            content_type = "application/json",
            body = Object
        ),
    )
)]
pub(crate) async fn openapi_json() -> Response {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_vec(&openapi()).unwrap_or_default());
    let mut response = body.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_CONTENT_TYPE,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemDetails")))
            .build(),
    )
}

/// Declares a reusable problem response component.
macro_rules! problem_responses {
    ($($name:ident => $description:literal),* $(,)?) => {$(
        #[doc = concat!("The `", stringify!($name), "` problem response: ", $description)]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<OaResponse>) {
                (stringify!($name), problem_response($description).build().into())
            }
        }
    )*};
}

problem_responses! {
    BadRequest => "The request cannot be read: malformed JSON, or a bad query or path value.",
    Forbidden => "The token lacks a scope this route needs, or the caller's role cannot do \
                  this in its own tenant.",
    NotFound => "No such record, or a tenant or record the token may not see (answered the \
                 same way).",
    Conflict => "The request conflicts with the current state (a duplicate, or an action \
                 that would lock the calling token out).",
    PayloadTooLarge => "The body is larger than the server accepts.",
    UnsupportedMediaType => "The body is not `application/json`.",
    Unprocessable => "The body is JSON, but a value is missing, of the wrong type, or not \
                      acceptable.",
    InternalError => "The server failed; the server log has the details.",
}

/// The 401 problem response, with its `WWW-Authenticate` challenge.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<OaResponse>) {
        let response = problem_response(
            "No valid API token: none was sent, or it is unknown, expired or revoked.",
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(String::schema()))
                .description(Some(
                    "`Bearer realm=\"toolport\"`, with `error=\"invalid_token\"` when a token was \
                     sent but is not valid.",
                ))
                .build(),
        )
        .build();
        ("Unauthorized", response.into())
    }
}

/// The 429 problem response, with its `Retry-After` header (for the rate limiter).
pub struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<OaResponse>) {
        let response = problem_response("Too many requests; retry after the given delay.")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(u64::schema()))
                    .description(Some("Seconds to wait before retrying."))
                    .build(),
            )
            .build();
        ("TooManyRequests", response.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::validate;

    fn schema_property(doc: &Value, schema: &str, property: &str) -> Value {
        doc["components"]["schemas"][schema]["properties"][property].clone()
    }

    /// The patterns the document declares are the ones the handlers enforce.
    #[test]
    fn declared_patterns_are_the_enforced_ones() {
        let doc = serde_json::to_value(openapi()).unwrap();
        let pattern = |schema: &str, property: &str| {
            schema_property(&doc, schema, property)["pattern"]
                .as_str()
                .unwrap_or_else(|| panic!("{schema}.{property} has no pattern"))
                .to_owned()
        };
        assert_eq!(pattern("NewTenant", "name"), validate::TENANT_NAME_PATTERN);
        assert_eq!(pattern("NewTenant", "plan"), validate::PLAN_PATTERN);
        for (path, method) in [
            ("/api/v1/audit", "get"),
            ("/api/v1/tenants/{tenant}/audit", "get"),
            ("/api/v1/tenants/{tenant}/usage/events", "get"),
        ] {
            let after = doc["paths"][path][method]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "after")
                .unwrap()
                .clone();
            assert_eq!(
                after["schema"]["pattern"],
                crate::page::HISTORY_CURSOR_PATTERN,
                "{path}"
            );
        }
        assert_eq!(pattern("NewUser", "email"), validate::EMAIL_PATTERN);
        assert_eq!(pattern("NewUser", "name"), validate::LABEL_PATTERN);
        assert_eq!(pattern("NewTokenRequest", "name"), validate::LABEL_PATTERN);
        let scopes = schema_property(&doc, "NewTokenRequest", "scopes");
        assert_eq!(scopes["items"]["pattern"], validate::SCOPE_PATTERN);
        assert_eq!(scopes["maxItems"], validate::SCOPES_MAX);
        assert_eq!(
            schema_property(&doc, "NewTokenRequest", "expires_in_seconds")["maximum"],
            validate::EXPIRES_IN_MAX
        );
        assert_eq!(
            schema_property(&doc, "NewUser", "email")["maxLength"],
            validate::EMAIL_MAX
        );
        assert_eq!(
            schema_property(&doc, "NewUser", "name")["maxLength"],
            validate::USER_NAME_MAX
        );
        assert_eq!(
            schema_property(&doc, "NewTokenRequest", "name")["maxLength"],
            validate::TOKEN_NAME_MAX
        );
        assert_eq!(
            schema_property(&doc, "SecretValue", "value")["maxLength"],
            validate::SECRET_VALUE_MAX
        );
        assert_eq!(
            pattern("NewEndpointRequest", "slug"),
            validate::SLUG_PATTERN
        );
        assert_eq!(
            pattern("ToolSelection", "name"),
            validate::TOOL_NAME_PATTERN
        );
        assert_eq!(
            pattern("ToolSelection", "upstream"),
            validate::LABEL_PATTERN
        );
        assert_eq!(pattern("ToolSelection", "tool"), validate::LABEL_PATTERN);
        assert_eq!(
            schema_property(&doc, "ToolSelection", "description")["maxLength"],
            validate::TOOL_DESCRIPTION_MAX
        );
        assert_eq!(
            schema_property(&doc, "NewEndpointRequest", "description")["maxLength"],
            validate::ENDPOINT_DESCRIPTION_MAX
        );
        assert_eq!(
            schema_property(&doc, "ToolSelectionList", "tools")["maxItems"],
            validate::ENDPOINT_TOOLS_MAX
        );
        for method in ["put", "delete"] {
            let params =
                &doc["paths"]["/api/v1/tenants/{tenant}/secrets/{name}"][method]["parameters"];
            let name = params
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "name")
                .unwrap();
            assert_eq!(name["schema"]["pattern"], validate::SECRET_NAME_PATTERN);
        }
    }
}
