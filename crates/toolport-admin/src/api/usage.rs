//! `/api/v1/tenants/{tenant}/usage`: a tenant's metered tool calls, summed over a time range with
//! its quota, and one by one (newest first).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::{Deserialize, Serialize};
use toolport_store::{
    CallStatus, EndpointUsage, Store, ToolUsage, UsageCounts, UsageEvent, UsageFilter, UsageSummary,
};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::extract::PathArgs;
use crate::page::{PageParams, check_history_cursor, page_of};
use crate::problem::Problem;
use crate::state::AdminState;

/// The range of a usage summary.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// Start of the range, Unix seconds (inclusive); default: the start of the current month
    /// (UTC).
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// End of the range, Unix seconds (exclusive); default: now.
    #[param(minimum = 0)]
    pub to: Option<i64>,
}

/// Which usage events to list, and which page.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page; omit (or leave empty) for the first page.
    #[param(pattern = r"^(-?[0-9]{1,19}\.[A-Za-z0-9-]{1,64})?$")]
    pub after: Option<String>,
    /// Only calls of this tool (its backend's name for it).
    pub tool: Option<String>,
    /// Only calls through this endpoint.
    pub endpoint: Option<String>,
    /// Only calls at or after this time (Unix seconds).
    #[param(minimum = 0)]
    pub from: Option<i64>,
    /// Only calls before this time (Unix seconds).
    #[param(minimum = 0)]
    pub to: Option<i64>,
}

/// Calls by outcome.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UsageCounts)]
pub struct CountsView {
    /// Every call.
    pub calls: u64,
    /// Calls the backend answered with an error (or that failed on the way).
    pub errors: u64,
    /// Calls refused before reaching a backend (rate limit, quota, open circuit).
    pub rejected: u64,
}

impl From<UsageCounts> for CountsView {
    fn from(c: UsageCounts) -> Self {
        Self {
            calls: c.calls,
            errors: c.errors,
            rejected: c.rejected,
        }
    }
}

/// One tool's calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolUsageView {
    /// The server or API that owns the tool.
    pub upstream: String,
    /// The tool, as its backend names it.
    pub tool: String,
    /// Its calls.
    pub counts: CountsView,
}

/// One endpoint's calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointUsageView {
    /// The endpoint; `null` for the aggregate endpoint (`/mcp`, stdio).
    pub endpoint: Option<String>,
    /// Its calls.
    pub counts: CountsView,
}

/// The tenant's plan and how much of its monthly call quota is used.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    /// The plan's name.
    pub plan: String,
    /// Calls allowed per calendar month (UTC); `null` is unlimited.
    pub calls_per_month: Option<u64>,
    /// Calls counted this month (rejected calls do not count).
    pub used: u64,
    /// When the count starts again (Unix seconds).
    pub resets_at: i64,
}

/// A tenant's usage over a range, and its quota now.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSummaryView {
    /// Start of the range (Unix seconds, inclusive).
    pub from: i64,
    /// End of the range (Unix seconds, exclusive).
    pub to: i64,
    /// Every call in the range.
    pub totals: CountsView,
    /// Bytes of arguments received.
    pub request_bytes: u64,
    /// Bytes of results sent.
    pub response_bytes: u64,
    /// Mean latency of the calls that reached a backend; `null` without any.
    pub avg_latency_ms: Option<u64>,
    /// Median latency of the same calls.
    pub p50_latency_ms: Option<u64>,
    /// Per tool, most called first.
    pub by_tool: Vec<ToolUsageView>,
    /// Per endpoint, most called first.
    pub by_endpoint: Vec<EndpointUsageView>,
    /// The plan's monthly call quota.
    pub quota: QuotaView,
}

/// How a call ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallStatusName {
    /// The backend answered.
    Ok,
    /// The backend answered with an error, or the way to it failed.
    Error,
    /// Refused before reaching a backend.
    Rejected,
}

/// One metered tool call.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UsageEvent)]
pub struct UsageEventView {
    /// When the call arrived (Unix milliseconds).
    pub at_ms: i64,
    /// The user whose token made it; `null` on open MCP routes.
    pub user_id: Option<String>,
    /// The token that made it.
    pub token_id: Option<String>,
    /// The endpoint it came through; `null` for the aggregate one.
    pub endpoint: Option<String>,
    /// The server or API that owns the tool.
    pub upstream: String,
    /// The tool, as its backend names it.
    pub tool: String,
    /// How it ended.
    pub status: CallStatusName,
    /// From arrival to answer.
    pub latency_ms: u64,
    /// Bytes of arguments.
    pub request_bytes: u64,
    /// Bytes of result.
    pub response_bytes: u64,
}

impl From<UsageEvent> for UsageEventView {
    fn from(e: UsageEvent) -> Self {
        Self {
            at_ms: e.at_ms,
            user_id: e.user_id,
            token_id: e.token_id,
            endpoint: e.endpoint,
            upstream: e.upstream,
            tool: e.tool,
            status: match e.status {
                CallStatus::Ok => CallStatusName::Ok,
                CallStatus::Error => CallStatusName::Error,
                CallStatus::Rejected => CallStatusName::Rejected,
            },
            latency_ms: e.latency_ms,
            request_bytes: e.request_bytes,
            response_bytes: e.response_bytes,
        }
    }
}

page_of!(UsageEventPage, UsageEventView, "usage events");

/// The tenant's usage over a range (default: this month so far) and its quota.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/usage",
    tag = "usage",
    operation_id = "get_usage",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), RangeParams),
    responses(
        (status = 200, description = "The usage summary.", body = UsageSummaryView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_usage<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    uri: Uri,
) -> Result<Json<UsageSummaryView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let range: RangeParams = query(&uri)?;
    not_negative(&[("from", range.from), ("to", range.to)])?;
    let now = toolport_store::model::now();
    let from = range
        .from
        .unwrap_or_else(|| toolport_metering::month_bounds(now).0);
    // An empty range (`to` at or before `from`) sums no calls.
    let to = range.to.unwrap_or(now + 1);
    let summary = state.store.usage_summary(&tenant.id, from, to).await?;
    let quota = state.meter.quota(&tenant.id).await?;
    Ok(Json(summary_view(summary, quota)))
}

/// The tenant's tool calls one by one, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/usage/events",
    tag = "usage",
    operation_id = "list_usage_events",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), EventParams),
    responses(
        (status = 200, description = "One page of calls, newest first.", body = UsageEventPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_usage_events<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    uri: Uri,
) -> Result<Json<UsageEventPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let params: EventParams = query(&uri)?;
    not_negative(&[("from", params.from), ("to", params.to)])?;
    let page = PageParams {
        limit: params.limit,
        after: params.after,
    }
    .request()?;
    check_history_cursor(page.after.as_deref())?;
    let filter = UsageFilter {
        tool: params.tool,
        endpoint: params.endpoint,
        from: params.from,
        to: params.to,
    };
    let events = state
        .store
        .usage_history(&tenant.id, &filter, &page)
        .await?;
    Ok(Json(UsageEventPage::from_page(events)))
}

/// The query of `uri` as `T`, or 400 saying what is wrong (read after authorization, so that a
/// caller who may not see the tenant learns nothing from it).
pub(crate) fn query<T: serde::de::DeserializeOwned>(uri: &Uri) -> Result<T, Problem> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(value)| value)
        .map_err(|rejection| Problem::malformed(rejection.body_text()))
}

/// 400 for a time before 1970 (the document says `minimum: 0`).
fn not_negative(times: &[(&str, Option<i64>)]) -> Result<(), Problem> {
    match times.iter().find(|(_, t)| t.is_some_and(|t| t < 0)) {
        Some((name, Some(t))) => Err(Problem::malformed(format!(
            "query parameter `{name}` must be Unix seconds (0 or more), got {t}"
        ))),
        _ => Ok(()),
    }
}

fn summary_view(s: UsageSummary, quota: toolport_metering::QuotaStatus) -> UsageSummaryView {
    UsageSummaryView {
        from: s.from,
        to: s.to,
        totals: s.totals.into(),
        request_bytes: s.request_bytes,
        response_bytes: s.response_bytes,
        avg_latency_ms: s.avg_latency_ms,
        p50_latency_ms: s.p50_latency_ms,
        by_tool: s
            .by_tool
            .into_iter()
            .map(
                |ToolUsage {
                     upstream,
                     tool,
                     counts,
                 }| ToolUsageView {
                    upstream,
                    tool,
                    counts: counts.into(),
                },
            )
            .collect(),
        by_endpoint: s
            .by_endpoint
            .into_iter()
            .map(|EndpointUsage { endpoint, counts }| EndpointUsageView {
                endpoint,
                counts: counts.into(),
            })
            .collect(),
        quota: QuotaView {
            plan: quota.plan,
            calls_per_month: quota.limits.calls_per_month,
            used: quota.used,
            resets_at: quota.resets_at,
        },
    }
}
