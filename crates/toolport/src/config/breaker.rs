//! Validating `circuitBreaker` settings: the gateway-wide ones under `toolport` and a server's or
//! API's own, whose missing keys fall back to the gateway-wide values.

use std::time::Duration;

use toolport_gateway::config::CircuitBreakerSettings;

use super::raw::RawCircuitBreaker;
use super::validate::{Invalid, invalid};

/// The longest cool-down accepted; longer ones are more likely a unit mistake than a wish.
const MAX_OPEN_SECONDS: f64 = 86_400.0;

/// `raw` (at key path `key`) over `base`.
pub(super) fn circuit_breaker(
    raw: Option<&RawCircuitBreaker>,
    base: CircuitBreakerSettings,
    key: &str,
) -> Result<CircuitBreakerSettings, Invalid> {
    let Some(raw) = raw else {
        return Ok(base);
    };
    let open_for = match raw.open_seconds {
        None => base.open_for,
        Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_OPEN_SECONDS => {
            Duration::from_secs_f64(seconds)
        }
        Some(seconds) => {
            return Err(invalid(
                format!("{key}.openSeconds"),
                format!(
                    "{seconds} is not a cool-down: give seconds above 0 and at most {MAX_OPEN_SECONDS} (one day), e.g. 30 or 0.5"
                ),
            ));
        }
    };
    Ok(CircuitBreakerSettings {
        failure_threshold: raw.failure_threshold.unwrap_or(base.failure_threshold),
        open_for,
    })
}
