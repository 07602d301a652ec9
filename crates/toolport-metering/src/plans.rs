//! [`Plans`]: what each plan allows (calls per month, APIs, endpoints, tools per API), the built-in
//! `free`, `pro` and `enterprise` plans, and [`PlansConfig`], the configuration that overrides
//! them or adds plans.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A plan's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Tool calls per calendar month (UTC).
    pub calls_per_month: Option<u64>,
    /// APIs (imported HTTP APIs) a tenant may have.
    pub apis: Option<u64>,
    /// Endpoints a tenant may have.
    pub endpoints: Option<u64>,
    /// Tools one API may expose.
    pub tools_per_api: Option<u64>,
}

impl PlanLimits {
    /// The `free` plan's defaults.
    pub const FREE: Self = Self {
        calls_per_month: Some(1_000),
        apis: Some(3),
        endpoints: Some(1),
        tools_per_api: Some(50),
    };
    /// The `pro` plan's defaults.
    pub const PRO: Self = Self {
        calls_per_month: Some(100_000),
        apis: Some(20),
        endpoints: Some(10),
        tools_per_api: Some(500),
    };
    /// The `enterprise` plan's defaults: no limits.
    pub const ENTERPRISE: Self = Self {
        calls_per_month: None,
        apis: None,
        endpoints: None,
        tools_per_api: None,
    };

    /// The limit on one kind of resource.
    pub fn limit(&self, resource: Resource) -> Option<u64> {
        match resource {
            Resource::Apis => self.apis,
            Resource::Endpoints => self.endpoints,
            Resource::ToolsPerApi => self.tools_per_api,
        }
    }

    /// Whether `adding` more of a resource fit next to the `existing` ones.
    pub fn check(
        &self,
        resource: Resource,
        existing: u64,
        adding: u64,
    ) -> Result<(), LimitExceeded> {
        match self.limit(resource) {
            Some(limit) if existing.saturating_add(adding) > limit => Err(LimitExceeded {
                resource,
                limit,
                existing,
            }),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, o: &PlanOverride) {
        let set = |field: &mut Option<u64>, value: Option<Limit>| {
            if let Some(value) = value {
                *field = value.into();
            }
        };
        set(&mut self.calls_per_month, o.calls_per_month);
        set(&mut self.apis, o.apis);
        set(&mut self.endpoints, o.endpoints);
        set(&mut self.tools_per_api, o.tools_per_api);
    }
}

/// A countable resource a plan limits (besides calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A tenant's APIs.
    Apis,
    /// A tenant's endpoints.
    Endpoints,
    /// One API's tools.
    ToolsPerApi,
}

impl Resource {
    /// The limit's name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apis => "apis",
            Self::Endpoints => "endpoints",
            Self::ToolsPerApi => "tools_per_api",
        }
    }
}

/// More of a resource than the plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the plan allows {limit} {}, and {existing} exist", resource.as_str())]
pub struct LimitExceeded {
    /// The resource.
    pub resource: Resource,
    /// The plan's limit.
    pub limit: u64,
    /// How many there are already.
    pub existing: u64,
}

/// One configured limit: a number, or the word `"unlimited"` (TOML has no null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many.
    Count(u64),
    /// No limit.
    Unlimited,
}

impl From<Limit> for Option<u64> {
    fn from(limit: Limit) -> Self {
        match limit {
            Limit::Count(n) => Some(n),
            Limit::Unlimited => None,
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LimitVisitor;
        impl Visitor<'_> for LimitVisitor {
            type Value = Limit;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"unlimited\"")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Limit, E> {
                Ok(Limit::Count(n))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Limit, E> {
                u64::try_from(n)
                    .map(Limit::Count)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Limit, E> {
                if s == "unlimited" {
                    Ok(Limit::Unlimited)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(s), &self))
                }
            }
        }
        deserializer.deserialize_any(LimitVisitor)
    }
}

/// One plan's configured limits; a field left out (or null) keeps the plan's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct PlanOverride {
    /// Tool calls per calendar month (UTC).
    pub calls_per_month: Option<Limit>,
    /// APIs per tenant.
    pub apis: Option<Limit>,
    /// Endpoints per tenant.
    pub endpoints: Option<Limit>,
    /// Tools per API.
    pub tools_per_api: Option<Limit>,
}

/// Configured plans by name, e.g. `{"free": {"callsPerMonth": 5000}, "team": {"apis": 10}}`.
/// A built-in plan named here gets the given limits instead of its defaults; a new plan starts
/// from the built-in `free` limits ([`PlanLimits::FREE`], whatever `free` is configured to), so
/// that a forgotten field never grants unlimited use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct PlansConfig(pub BTreeMap<String, PlanOverride>);

/// Every plan by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plans {
    plans: BTreeMap<String, PlanLimits>,
}

impl Default for Plans {
    fn default() -> Self {
        Self {
            plans: [
                ("free", PlanLimits::FREE),
                ("pro", PlanLimits::PRO),
                ("enterprise", PlanLimits::ENTERPRISE),
            ]
            .into_iter()
            .map(|(name, limits)| (name.to_owned(), limits))
            .collect(),
        }
    }
}

impl Plans {
    /// The built-in plans with the configuration applied.
    pub fn from_config(config: &PlansConfig) -> Self {
        let mut plans = Self::default();
        for (name, o) in &config.0 {
            plans
                .plans
                .entry(name.clone())
                .or_insert(PlanLimits::FREE)
                .apply(o);
        }
        plans
    }

    /// The plan with this name.
    pub fn get(&self, name: &str) -> Option<&PlanLimits> {
        self.plans.get(name)
    }

    /// The plan with this name, or `free`'s limits for a name no plan has (a tenant whose plan
    /// was removed from the configuration).
    pub fn resolve(&self, name: &str) -> &PlanLimits {
        self.get(name)
            .or_else(|| self.get("free"))
            .unwrap_or(&PlanLimits::FREE)
    }

    /// Plan names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plans.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults() {
        let plans = Plans::default();
        assert_eq!(plans.get("free"), Some(&PlanLimits::FREE));
        assert_eq!(plans.get("free").unwrap().calls_per_month, Some(1_000));
        assert_eq!(plans.get("pro").unwrap().tools_per_api, Some(500));
        assert_eq!(plans.get("enterprise").unwrap().apis, None);
        assert_eq!(
            plans.names().collect::<Vec<_>>(),
            ["enterprise", "free", "pro"]
        );
        assert_eq!(plans.resolve("gone"), &PlanLimits::FREE);
    }

    #[test]
    fn configuration_overrides_and_extends() {
        let config: PlansConfig = serde_json::from_value(json!({
            "free": {"callsPerMonth": 5000, "endpoints": "unlimited"},
            "team": {"callsPerMonth": 20000, "apis": 10},
        }))
        .unwrap();
        let plans = Plans::from_config(&config);
        let free = plans.get("free").unwrap();
        assert_eq!(free.calls_per_month, Some(5000));
        assert_eq!(free.endpoints, None);
        assert_eq!(free.apis, Some(3), "a field left out keeps its default");
        let team = plans.get("team").unwrap();
        assert_eq!(
            *team,
            PlanLimits {
                calls_per_month: Some(20_000),
                apis: Some(10),
                // The built-in free limit, not the configured (unlimited) one.
                endpoints: Some(1),
                tools_per_api: Some(50),
            }
        );
        assert_eq!(plans.get("pro"), Some(&PlanLimits::PRO));
    }

    #[test]
    fn bad_configuration_is_refused() {
        for bad in [
            json!({"free": {"callsPerMonth": -1}}),
            json!({"free": {"callsPerMonth": "lots"}}),
            json!({"free": {"calls": 5}}),
            json!({"free": 5}),
        ] {
            assert!(
                serde_json::from_value::<PlansConfig>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn resource_limits() {
        let free = PlanLimits::FREE;
        free.check(Resource::Apis, 2, 1).unwrap();
        assert_eq!(
            free.check(Resource::Apis, 3, 1),
            Err(LimitExceeded {
                resource: Resource::Apis,
                limit: 3,
                existing: 3
            })
        );
        assert!(free.check(Resource::ToolsPerApi, 0, 51).is_err());
        free.check(Resource::ToolsPerApi, 0, 50).unwrap();
        assert!(free.check(Resource::Endpoints, 1, 1).is_err());
        PlanLimits::ENTERPRISE
            .check(Resource::Endpoints, u64::MAX, 1)
            .unwrap();
        let err = free.check(Resource::Endpoints, 1, 1).unwrap_err();
        assert_eq!(err.to_string(), "the plan allows 1 endpoints, and 1 exist");
    }
}
