//! Circuit breakers, one per backend, so that a failing backend is given time to recover instead
//! of receiving (and making every client wait for) call after call. Closed counts consecutive
//! failures; at the threshold the circuit opens and refuses calls for the cool-down; then it is
//! half-open and lets exactly one probe through, whose success closes it and whose failure opens
//! it again. The state machine ([`Circuit`]) takes the time as an argument, so it is tested
//! without sleeping; [`Breakers`] reads it from an injectable [`Clock`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use toolport_protocol::ErrorCode;
use toolport_upstream::{Status, UpstreamError};

use crate::config::CircuitBreakerSettings;
use crate::metrics::Metrics;

/// Where [`Breakers`] read the time (a fixed or stepped clock in tests).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// A circuit's state as `/readyz` and `/metrics` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// The value of the `toolport_backend_circuit_state` gauge.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// `probe` is the number of the probe in flight, if one is.
    HalfOpen {
        probe: Option<u64>,
    },
}

/// What [`Circuit::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The call may go; `probe` numbers it when it is the half-open circuit's one probe.
    Pass {
        probe: Option<u64>,
    },
    Refuse {
        retry_after: Duration,
    },
}

/// How a call that was let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The backend answered (a JSON-RPC error for bad arguments is an answer too).
    Answered,
    /// Transport error, timeout, backend down, or an API's 5xx/429.
    Failed,
    /// Says nothing about the backend (cancelled by the client, refused before sending, the
    /// backend still starting).
    Neutral,
}

impl Outcome {
    /// How an MCP backend's reply counts: a JSON-RPC error is the backend answering, except the
    /// code transports use for a lost connection.
    pub(crate) fn of_reply(reply: &Result<Value, UpstreamError>) -> Self {
        match reply {
            Ok(_) => Self::Answered,
            Err(UpstreamError::Rpc(rpc)) if rpc.code != ErrorCode::BACKEND_UNAVAILABLE => {
                Self::Answered
            }
            Err(_) => Self::Failed,
        }
    }

    /// How a call refused because the backend is not ready counts: a backend that is down is
    /// failing; one still starting (or stopped on purpose) says nothing about its health yet.
    pub(crate) fn of_unready(status: &Status) -> Self {
        match status {
            Status::Down { .. } => Self::Failed,
            _ => Self::Neutral,
        }
    }
}

/// The state machine of one backend's circuit.
#[derive(Debug)]
pub(crate) struct Circuit {
    phase: Phase,
    probes: u64,
}

impl Circuit {
    pub(crate) fn new() -> Self {
        Self {
            phase: Phase::Closed { failures: 0 },
            probes: 0,
        }
    }

    /// The state at `now`: an open circuit whose cool-down has passed is half-open.
    pub(crate) fn state(&mut self, now: Instant) -> CircuitState {
        if let Phase::Open { until } = self.phase
            && now >= until
        {
            self.phase = Phase::HalfOpen { probe: None };
        }
        match self.phase {
            Phase::Closed { .. } => CircuitState::Closed,
            Phase::Open { .. } => CircuitState::Open,
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    pub(crate) fn admit(&mut self, settings: &CircuitBreakerSettings, now: Instant) -> Admission {
        if !settings.enabled() {
            self.phase = Phase::Closed { failures: 0 };
            return Admission::Pass { probe: None };
        }
        self.state(now);
        match self.phase {
            Phase::Closed { .. } => Admission::Pass { probe: None },
            Phase::Open { until } => Admission::Refuse {
                retry_after: until - now,
            },
            Phase::HalfOpen { probe: None } => {
                self.probes += 1;
                self.phase = Phase::HalfOpen {
                    probe: Some(self.probes),
                };
                Admission::Pass {
                    probe: Some(self.probes),
                }
            }
            // The probe's answer decides; until then a caller can only be told to come back later.
            Phase::HalfOpen { probe: Some(_) } => Admission::Refuse {
                retry_after: settings.open_for,
            },
        }
    }

    /// Records how a call let through with `probe` ended; true when this opened the circuit.
    pub(crate) fn finish(
        &mut self,
        settings: &CircuitBreakerSettings,
        probe: Option<u64>,
        outcome: Outcome,
        now: Instant,
    ) -> bool {
        let open = Phase::Open {
            until: now + settings.open_for,
        };
        match (self.phase, outcome) {
            (_, Outcome::Neutral) => {
                // A probe that ends without a verdict makes room for the next one.
                if let Phase::HalfOpen { probe: Some(p) } = self.phase
                    && probe == Some(p)
                {
                    self.phase = Phase::HalfOpen { probe: None };
                }
                false
            }
            (Phase::Closed { .. }, Outcome::Answered) => {
                self.phase = Phase::Closed { failures: 0 };
                false
            }
            (Phase::Closed { failures }, Outcome::Failed) => {
                let failures = failures + 1;
                if settings.enabled() && failures >= settings.failure_threshold {
                    self.phase = open;
                    true
                } else {
                    self.phase = Phase::Closed { failures };
                    false
                }
            }
            (Phase::HalfOpen { probe: Some(p) }, outcome) if probe == Some(p) => {
                if outcome == Outcome::Failed {
                    self.phase = open;
                    true
                } else {
                    self.phase = Phase::Closed { failures: 0 };
                    false
                }
            }
            // Calls let through before the circuit opened end late; only the probe decides now.
            (Phase::Open { .. } | Phase::HalfOpen { .. }, _) => false,
        }
    }
}

/// The circuits of every backend, with their metrics.
pub(crate) struct Breakers {
    circuits: Mutex<HashMap<Arc<str>, Circuit>>,
    metrics: Arc<Metrics>,
    clock: Clock,
}

impl std::fmt::Debug for Breakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breakers").finish_non_exhaustive()
    }
}

impl Breakers {
    pub(crate) fn new(metrics: Arc<Metrics>, clock: Clock) -> Self {
        Self {
            circuits: Mutex::new(HashMap::new()),
            metrics,
            clock,
        }
    }

    /// Asks `backend`'s circuit whether a call may go now; the refusal carries the delay after
    /// which trying again makes sense.
    pub(crate) fn admit(
        &self,
        backend: &Arc<str>,
        settings: CircuitBreakerSettings,
    ) -> Result<Permit<'_>, Duration> {
        let now = (self.clock)();
        let admission = self
            .circuits
            .lock()
            .expect("circuits lock")
            .entry(backend.clone())
            .or_insert_with(Circuit::new)
            .admit(&settings, now);
        match admission {
            Admission::Pass { probe } => Ok(Permit {
                breakers: self,
                backend: backend.clone(),
                settings,
                probe,
                finished: false,
            }),
            Admission::Refuse { retry_after } => {
                self.metrics.circuit_refused(backend);
                Err(retry_after)
            }
        }
    }

    /// `backend`'s state now (closed for a backend that was never called); updates its gauge.
    pub(crate) fn state(&self, backend: &str) -> CircuitState {
        let now = (self.clock)();
        let state = self
            .circuits
            .lock()
            .expect("circuits lock")
            .get_mut(backend)
            .map_or(CircuitState::Closed, |c| c.state(now));
        self.metrics.circuit_state(backend, state);
        state
    }

    /// Drops `backend`'s circuit: a removed or redefined backend starts closed.
    pub(crate) fn forget(&self, backend: &str) {
        self.circuits.lock().expect("circuits lock").remove(backend);
    }

    fn finish(&self, permit: &Permit<'_>, outcome: Outcome) {
        let now = (self.clock)();
        let opened = self
            .circuits
            .lock()
            .expect("circuits lock")
            .get_mut(&permit.backend)
            .is_some_and(|c| c.finish(&permit.settings, permit.probe, outcome, now));
        if opened {
            tracing::warn!(
                server = %permit.backend,
                open_ms = permit.settings.open_for.as_millis() as u64,
                "circuit opened: calls to this server are refused until the cool-down has passed",
            );
            self.metrics.circuit_opened(&permit.backend);
        }
    }
}

/// Leave to send one call; record how it ended with [`Permit::finish`]. Dropped unfinished (the
/// client went away, the call was never sent), it counts as neither success nor failure.
pub(crate) struct Permit<'a> {
    breakers: &'a Breakers,
    backend: Arc<str>,
    settings: CircuitBreakerSettings,
    probe: Option<u64>,
    finished: bool,
}

impl Permit<'_> {
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.finished = true;
        self.breakers.finish(&self, outcome);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.breakers.finish(self, Outcome::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(threshold: u32, open_ms: u64) -> CircuitBreakerSettings {
        CircuitBreakerSettings {
            failure_threshold: threshold,
            open_for: Duration::from_millis(open_ms),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Admits one call at `now` and ends it with `outcome`; returns whether that opened it.
    fn call(c: &mut Circuit, s: &CircuitBreakerSettings, now: Instant, outcome: Outcome) -> bool {
        match c.admit(s, now) {
            Admission::Pass { probe } => c.finish(s, probe, outcome, now),
            Admission::Refuse { .. } => panic!("refused at {now:?}"),
        }
    }

    #[test]
    fn opens_after_the_threshold_of_consecutive_failures_and_refuses_with_the_remaining_delay() {
        let s = settings(3, 1000);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        assert!(!call(&mut c, &s, t0, Outcome::Failed));
        assert!(!call(&mut c, &s, t0, Outcome::Failed));
        assert_eq!(c.state(t0), CircuitState::Closed);
        assert!(call(&mut c, &s, t0, Outcome::Failed), "third failure opens");
        assert_eq!(c.state(t0), CircuitState::Open);
        assert_eq!(
            c.admit(&s, t0 + ms(400)),
            Admission::Refuse {
                retry_after: ms(600)
            }
        );
        assert_eq!(c.state(t0 + ms(999)), CircuitState::Open);
    }

    #[test]
    fn an_answer_resets_the_count_of_consecutive_failures() {
        let s = settings(2, 1000);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        assert!(!call(&mut c, &s, t0, Outcome::Failed));
        assert!(!call(&mut c, &s, t0, Outcome::Answered));
        assert!(!call(&mut c, &s, t0, Outcome::Failed));
        assert!(
            !call(&mut c, &s, t0, Outcome::Neutral),
            "neutral keeps the count"
        );
        assert_eq!(c.state(t0), CircuitState::Closed);
        assert!(call(&mut c, &s, t0, Outcome::Failed));
    }

    #[test]
    fn after_the_cool_down_exactly_one_probe_goes_and_its_success_closes() {
        let s = settings(1, 200);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        assert!(call(&mut c, &s, t0, Outcome::Failed));
        let later = t0 + ms(200);
        assert_eq!(c.state(later), CircuitState::HalfOpen);
        let Admission::Pass { probe: Some(probe) } = c.admit(&s, later) else {
            panic!("the probe is let through")
        };
        assert_eq!(
            c.admit(&s, later),
            Admission::Refuse {
                retry_after: ms(200)
            },
            "a second caller waits for the probe"
        );
        assert!(!c.finish(&s, Some(probe), Outcome::Answered, later));
        assert_eq!(c.state(later), CircuitState::Closed);
        assert_eq!(c.admit(&s, later), Admission::Pass { probe: None });
    }

    #[test]
    fn a_failed_probe_opens_again_for_a_whole_cool_down() {
        let s = settings(1, 200);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        call(&mut c, &s, t0, Outcome::Failed);
        let later = t0 + ms(250);
        assert!(call(&mut c, &s, later, Outcome::Failed), "reopened");
        assert_eq!(c.state(later + ms(199)), CircuitState::Open);
        assert_eq!(
            c.admit(&s, later + ms(50)),
            Admission::Refuse {
                retry_after: ms(150)
            }
        );
        assert_eq!(c.state(later + ms(200)), CircuitState::HalfOpen);
    }

    #[test]
    fn a_probe_without_verdict_lets_the_next_caller_probe() {
        let s = settings(1, 100);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        call(&mut c, &s, t0, Outcome::Failed);
        let later = t0 + ms(100);
        let Admission::Pass { probe } = c.admit(&s, later) else {
            panic!("probe")
        };
        assert!(!c.finish(&s, probe, Outcome::Neutral, later));
        assert_eq!(c.state(later), CircuitState::HalfOpen);
        assert!(matches!(
            c.admit(&s, later),
            Admission::Pass { probe: Some(_) }
        ));
    }

    #[test]
    fn calls_admitted_before_opening_do_not_decide_later_states() {
        let s = settings(1, 100);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        let Admission::Pass { probe: early } = c.admit(&s, t0) else {
            panic!("closed")
        };
        assert!(call(&mut c, &s, t0, Outcome::Failed));
        assert!(!c.finish(&s, early, Outcome::Answered, t0), "late answer");
        assert_eq!(c.state(t0), CircuitState::Open);
        let later = t0 + ms(100);
        let Admission::Pass { probe } = c.admit(&s, later) else {
            panic!("probe")
        };
        assert!(!c.finish(&s, early, Outcome::Failed, later), "late failure");
        assert!(!c.finish(&s, early, Outcome::Neutral, later));
        assert_eq!(
            c.admit(&s, later),
            Admission::Refuse {
                retry_after: ms(100)
            },
            "the probe is still the one in flight"
        );
        c.finish(&s, probe, Outcome::Answered, later);
        assert_eq!(c.state(later), CircuitState::Closed);
    }

    #[test]
    fn a_threshold_of_zero_turns_the_breaker_off() {
        let off = settings(0, 100);
        let t0 = Instant::now();
        let mut c = Circuit::new();
        for _ in 0..10 {
            assert!(!call(&mut c, &off, t0, Outcome::Failed));
        }
        let on = settings(1, 100);
        assert!(call(&mut c, &on, t0, Outcome::Failed));
        assert_eq!(c.admit(&off, t0), Admission::Pass { probe: None });
        assert_eq!(c.state(t0), CircuitState::Closed);
    }

    #[test]
    fn what_counts_as_a_failure_of_an_mcp_backend() {
        use toolport_protocol::RpcError;
        let rpc = |code| Err(UpstreamError::Rpc(Box::new(RpcError::new(code, "x"))));
        assert_eq!(Outcome::of_reply(&Ok(Value::Null)), Outcome::Answered);
        assert_eq!(
            Outcome::of_reply(&rpc(ErrorCode::INVALID_PARAMS)),
            Outcome::Answered,
            "bad arguments are the caller's"
        );
        assert_eq!(
            Outcome::of_reply(&rpc(ErrorCode::BACKEND_UNAVAILABLE)),
            Outcome::Failed,
            "a lost connection"
        );
        assert_eq!(
            Outcome::of_reply(&Err(UpstreamError::Timeout(5))),
            Outcome::Failed
        );
        assert_eq!(
            Outcome::of_reply(&Err(UpstreamError::Connect("refused".into()))),
            Outcome::Failed
        );
        let down = Status::Down {
            reason: "exited".into(),
        };
        assert_eq!(Outcome::of_unready(&down), Outcome::Failed);
        assert_eq!(Outcome::of_unready(&Status::Starting), Outcome::Neutral);
    }

    /// A clock the test moves by hand.
    fn stepped_clock() -> (Clock, Arc<Mutex<Instant>>) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let read = now.clone();
        (Arc::new(move || *read.lock().unwrap()), now)
    }

    #[test]
    fn breakers_count_refusals_and_openings_and_a_dropped_probe_is_neutral() {
        let metrics = Arc::new(Metrics::default());
        let (clock, now) = stepped_clock();
        let breakers = Breakers::new(metrics.clone(), clock);
        let backend: Arc<str> = "api".into();
        let s = settings(2, 200);
        for _ in 0..2 {
            breakers.admit(&backend, s).unwrap().finish(Outcome::Failed);
        }
        assert_eq!(breakers.state("api"), CircuitState::Open);
        assert_eq!(breakers.admit(&backend, s).err(), Some(ms(200)));
        *now.lock().unwrap() += ms(150);
        assert_eq!(breakers.admit(&backend, s).err(), Some(ms(50)));
        *now.lock().unwrap() += ms(50);
        assert_eq!(breakers.state("api"), CircuitState::HalfOpen);
        drop(breakers.admit(&backend, s).expect("probe"));
        let probe = breakers
            .admit(&backend, s)
            .expect("a new probe after a dropped one");
        assert!(breakers.admit(&backend, s).is_err());
        probe.finish(Outcome::Answered);
        assert_eq!(breakers.state("api"), CircuitState::Closed);
        let text = metrics.render();
        assert!(
            text.contains(r#"toolport_backend_circuit_refusals_total{backend="api"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"toolport_backend_circuit_openings_total{backend="api"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"toolport_backend_circuit_state{backend="api"} 0"#),
            "{text}"
        );
        breakers.forget("api");
        assert_eq!(breakers.state("unknown"), CircuitState::Closed);
    }
}
