//! [`MeteringConfig`]: the rate limits, plans and audit redaction as the configuration file states
//! them (`toolport.limits`, `toolport.plans`, `toolport.auditRedaction`), and [`Rate`]s as users
//! write them: `"100/min"`, or `{"rate": "100/min", "burst": 20}`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::plans::PlansConfig;
use crate::rate::Rate;
use crate::redact::RedactionConfig;

/// Everything metering reads from the configuration; hot reload replaces it as a whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeteringConfig {
    pub limits: RateLimits,
    pub plans: PlansConfig,
    pub redaction: RedactionConfig,
}

/// Token-bucket limits on tool calls (and, per token, on admin API requests); absent is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimits {
    /// Each API token's calls.
    #[serde(deserialize_with = "some_rate")]
    pub per_token: Option<Rate>,
    /// Each endpoint's calls (the aggregate `/mcp` counts as one endpoint).
    #[serde(deserialize_with = "some_rate")]
    pub per_endpoint: Option<Rate>,
    /// Each backend's calls, unless `upstreams` names it.
    #[serde(deserialize_with = "some_rate")]
    pub per_upstream: Option<Rate>,
    /// Backends with a rate of their own, by server or API name.
    #[serde(deserialize_with = "rate_map")]
    pub upstreams: BTreeMap<String, Rate>,
}

impl RateLimits {
    /// The rate of one backend.
    pub fn upstream(&self, name: &str) -> Option<Rate> {
        self.upstreams.get(name).copied().or(self.per_upstream)
    }
}

/// Why a rate was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate {text:?}: {reason} (write it like \"100/min\", \"5/s\" or \"1000/h\")")]
pub struct RateSyntaxError {
    text: String,
    reason: &'static str,
}

impl FromStr for Rate {
    type Err = RateSyntaxError;

    /// `N/s`, `N/min` or `N/h` (also `second`, `minute`, `hour`): N calls per unit, in bursts of
    /// up to N.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| RateSyntaxError {
            text: text.to_owned(),
            reason,
        };
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| error("missing \"/unit\""))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| error("the count is not a whole number"))?;
        if count == 0 {
            return Err(error("the count must be at least 1"));
        }
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return Err(error("the unit is not s, min or h")),
        };
        Ok(Self {
            per_second: f64::from(count) / seconds,
            burst: count,
        })
    }
}

/// A rate as written: the short form, or the short form with its own burst.
#[derive(Deserialize)]
#[serde(untagged)]
enum RateText {
    Short(String),
    Full { rate: String, burst: u32 },
}

impl RateText {
    fn into_rate<E: serde::de::Error>(self) -> Result<Rate, E> {
        let (text, burst) = match self {
            Self::Short(text) => (text, None),
            Self::Full { rate, burst } => (rate, Some(burst)),
        };
        let mut rate: Rate = text.parse().map_err(E::custom)?;
        if let Some(burst) = burst {
            if burst == 0 {
                return Err(E::custom(format!("burst of {text:?} must be at least 1")));
            }
            rate.burst = burst;
        }
        Ok(rate)
    }
}

fn some_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Rate>, D::Error> {
    Option::<RateText>::deserialize(deserializer)?
        .map(RateText::into_rate)
        .transpose()
}

fn rate_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Rate>, D::Error> {
    BTreeMap::<String, RateText>::deserialize(deserializer)?
        .into_iter()
        .map(|(name, text)| Ok((name, text.into_rate()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rates_parse_in_every_unit() {
        let rate: Rate = "120/min".parse().unwrap();
        assert_eq!(rate.burst, 120);
        assert!((rate.per_second - 2.0).abs() < 1e-9);
        assert_eq!("5/s".parse::<Rate>().unwrap().per_second, 5.0);
        assert_eq!("3600/hour".parse::<Rate>().unwrap().per_second, 1.0);
        for (bad, reason) in [
            ("100", "missing"),
            ("x/min", "whole number"),
            ("0/s", "at least 1"),
            ("5/day", "unit"),
        ] {
            let err = bad.parse::<Rate>().unwrap_err().to_string();
            assert!(err.contains(reason), "{bad}: {err}");
            assert!(err.contains("\"100/min\""), "{err}");
        }
    }

    #[test]
    fn limits_take_both_forms_and_fall_back_per_upstream() {
        let limits: RateLimits = serde_json::from_value(json!({
            "perToken": "10/s",
            "perUpstream": {"rate": "60/min", "burst": 5},
            "upstreams": {"github": "2/s"},
        }))
        .unwrap();
        assert_eq!(limits.per_token.unwrap().burst, 10);
        assert_eq!(limits.per_endpoint, None);
        assert_eq!(limits.upstream("github").unwrap().burst, 2);
        let other = limits.upstream("stripe").unwrap();
        assert_eq!((other.burst, other.per_second), (5, 1.0));
        let err = serde_json::from_value::<RateLimits>(json!({"perToken": "ten/s"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a whole number"), "{err}");
        let err = serde_json::from_value::<RateLimits>(json!({"perTokn": "1/s"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
    }
}
