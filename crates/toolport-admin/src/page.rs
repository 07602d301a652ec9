//! Pagination on the wire: `?limit=` and `?after=` in, `{"items": [...], "next_after": ...}` out.
//!
//! The cursor is the store's (the sort key of the last item of the page), opaque to clients.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;
use toolport_store::PageRequest;
use utoipa::IntoParams;

use crate::problem::Problem;

/// The query parameters of every list route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page; omit (or leave empty) for the first page.
    pub after: Option<String>,
}

impl PageParams {
    /// The store's page request, or 400 naming the bad value.
    pub fn request(self) -> Result<PageRequest, Problem> {
        let limit = self.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
        if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
            return Err(Problem::malformed(format!(
                "query parameter `limit` must be between 1 and {}, got {limit}",
                PageRequest::MAX_LIMIT
            )));
        }
        Ok(PageRequest {
            limit,
            after: self.after.filter(|a| !a.is_empty()),
        })
    }
}

/// The cursor syntax of the newest-first history lists (usage events, the audit log): the
/// `next_after` they give out, or empty for the first page.
pub const HISTORY_CURSOR_PATTERN: &str = r"^(-?[0-9]{1,19}\.[A-Za-z0-9-]{1,64})?$";

/// The query parameters of the history lists: like [`PageParams`], with a cursor of their own
/// syntax (anything else is a 400, never a lookup).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryPageParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, value_type = Option<u32>)]
    pub limit: Option<u32>,
    /// The `next_after` of the previous page; omit (or leave empty) for the first page.
    #[param(pattern = r"^(-?[0-9]{1,19}\.[A-Za-z0-9-]{1,64})?$")]
    pub after: Option<String>,
}

/// 400 unless `after` has the history cursors' syntax ([`HISTORY_CURSOR_PATTERN`]).
pub fn check_history_cursor(after: Option<&str>) -> Result<(), Problem> {
    let Some(after) = after.filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let well_formed = after.split_once('.').is_some_and(|(at, id)| {
        at.parse::<i64>().is_ok()
            && (1..=64).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if well_formed {
        Ok(())
    } else {
        Err(Problem::malformed(
            "query parameter `after` is not a cursor of this list; pass the `next_after` of the \
             previous page, or omit it for the first page",
        ))
    }
}

/// The page a list request asks for. Extraction never fails: a bad query is kept as a 400
/// [`Problem`] that the handler returns after authorization, so that a caller who may not see a
/// tenant learns nothing from how its query was judged.
#[derive(Debug)]
pub struct Paging(pub Result<PageRequest, Problem>);

impl Paging {
    /// The page request, or the problem with the query.
    pub fn request(self) -> Result<PageRequest, Problem> {
        self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let parsed = Query::<PageParams>::try_from_uri(&parts.uri)
            .map_err(|rejection| {
                Problem::malformed(format!(
                    "{}; `limit` must be an integer from 1 to {} and `after` a cursor from a \
                     previous page",
                    rejection.body_text(),
                    PageRequest::MAX_LIMIT
                ))
            })
            .and_then(|Query(params)| params.request());
        Ok(Self(parsed))
    }
}

/// Declares a page type of the wire (`items` plus `next_after`) for one record type.
macro_rules! page_of {
    ($name:ident, $item:ty, $what:literal) => {
        #[doc = concat!("One page of ", $what, ".")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            #[doc = concat!("The ", $what, " of this page, in the list's order.")]
            pub items: Vec<$item>,
            /// The cursor for the next page (pass it as `?after=`); `null` on the last page.
            pub next_after: Option<String>,
        }

        impl $name {
            /// The wire form of a store page.
            pub fn from_page<T>(page: toolport_store::Page<T>) -> Self
            where
                $item: From<T>,
            {
                Self {
                    items: page.items.into_iter().map(<$item>::from).collect(),
                    next_after: page.next_after,
                }
            }
        }
    };
}

pub(crate) use page_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_cursors_are_checked_before_any_lookup() {
        for good in ["", "1700000000000.5f1c-ab", "-1.x"] {
            assert!(check_history_cursor(Some(good)).is_ok(), "{good}");
        }
        for bad in ["Ø", "12", "x.y", "1.", "1.a.b"] {
            let problem = check_history_cursor(Some(bad)).unwrap_err();
            assert!(problem.detail().contains("`after`"), "{bad}");
        }
    }

    #[test]
    fn limits_are_checked() {
        let ok = PageParams {
            limit: None,
            after: Some(String::new()),
        }
        .request()
        .unwrap();
        assert_eq!(ok, PageRequest::first(PageRequest::DEFAULT_LIMIT));
        for bad in [0, 1001] {
            let params = PageParams {
                limit: Some(bad),
                after: None,
            };
            assert!(params.request().unwrap_err().detail().contains("`limit`"));
        }
    }
}
