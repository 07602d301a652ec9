//! Prometheus metrics of the gateway: calls, errors and latency per backend and tool, sessions,
//! backend state and restarts, circuit breaker states, openings and refusals. Rendered in the text exposition format by `/metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::breaker::CircuitState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    backend: String,
    method: String,
    tool: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    backend: String,
    tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

type LatencyFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: LatencyFamily,
    sessions: Gauge,
    backend_up: Family<BackendLabels, Gauge>,
    restarts: Family<BackendLabels, Gauge>,
    circuit_state: Family<BackendLabels, Gauge>,
    circuit_openings: Family<BackendLabels, Counter>,
    circuit_refusals: Family<BackendLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 us to ~50 s: gateway overhead and slow tools on one scale.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.00005, 2.0, 21,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("toolport");
        let calls = Family::<CallLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        let sessions = Gauge::default();
        let backend_up = Family::<BackendLabels, Gauge>::default();
        let restarts = Family::<BackendLabels, Gauge>::default();
        let circuit_state = Family::<BackendLabels, Gauge>::default();
        let circuit_openings = Family::<BackendLabels, Counter>::default();
        let circuit_refusals = Family::<BackendLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests forwarded to backends, by outcome (ok, error, timeout, unavailable)",
            calls.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from receiving a client request to answering it",
            latency.clone(),
        );
        registry.register("sessions", "Open client sessions", sessions.clone());
        registry.register(
            "backend_up",
            "1 when the backend is connected and initialised",
            backend_up.clone(),
        );
        registry.register(
            "backend_restarts",
            "Reconnections or process restarts of the backend",
            restarts.clone(),
        );
        registry.register(
            "backend_circuit_state",
            "The backend's circuit breaker: 0 closed, 1 open (calls refused), 2 half-open (one probe)",
            circuit_state.clone(),
        );
        registry.register(
            "backend_circuit_openings",
            "Times the backend's circuit opened after repeated failures",
            circuit_openings.clone(),
        );
        registry.register(
            "backend_circuit_refusals",
            "Calls refused without reaching the backend because its circuit was open",
            circuit_refusals.clone(),
        );
        Self {
            registry,
            calls,
            latency,
            sessions,
            backend_up,
            restarts,
            circuit_state,
            circuit_openings,
            circuit_refusals,
        }
    }
}

impl Metrics {
    pub fn record(
        &self,
        backend: &str,
        method: &str,
        tool: &str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.calls
            .get_or_create(&CallLabels {
                backend: backend.to_string(),
                method: method.to_string(),
                tool: tool.to_string(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                backend: backend.to_string(),
                tool: tool.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn session_opened(&self) {
        self.sessions.inc();
    }

    pub fn session_closed(&self) {
        self.sessions.dec();
    }

    pub fn backend_state(&self, backend: &str, up: bool, restarts: u64) {
        let labels = BackendLabels {
            backend: backend.to_string(),
        };
        self.backend_up.get_or_create(&labels).set(i64::from(up));
        self.restarts
            .get_or_create(&labels)
            .set(i64::try_from(restarts).unwrap_or(i64::MAX));
    }

    pub fn backend_removed(&self, backend: &str) {
        let labels = BackendLabels {
            backend: backend.to_string(),
        };
        self.backend_up.remove(&labels);
        self.restarts.remove(&labels);
        self.circuit_state.remove(&labels);
        self.circuit_openings.remove(&labels);
        self.circuit_refusals.remove(&labels);
    }

    pub fn circuit_state(&self, backend: &str, state: CircuitState) {
        self.circuit_state
            .get_or_create(&Self::backend(backend))
            .set(state.gauge());
    }

    pub fn circuit_opened(&self, backend: &str) {
        self.circuit_openings
            .get_or_create(&Self::backend(backend))
            .inc();
    }

    pub fn circuit_refused(&self, backend: &str) {
        self.circuit_refusals
            .get_or_create(&Self::backend(backend))
            .inc();
    }

    fn backend(backend: &str) -> BackendLabels {
        BackendLabels {
            backend: backend.to_string(),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
