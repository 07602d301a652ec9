//! The call gate against a real SQLite store: rates checked per token, endpoint and upstream;
//! quotas per tenant plan; every call, admitted, refused, failed or abandoned, recorded as usage
//! and audited; a reloaded configuration applying at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolport_gateway::{CallEnd, CallGate, CallOutcome, CallRequest, Caller, Refusal};
use toolport_metering::{
    AuditLog, BatchConfig, CallMeter, MeteringConfig, PlansConfig, RateLimits, RedactionConfig,
    Redactor, UsageRecorder,
};
use toolport_store::{CallStatus, PageRequest, SqliteStore, Store, UsageFilter};

struct Setup {
    store: Arc<SqliteStore>,
    meter: Arc<CallMeter<SqliteStore>>,
    stop: CancellationToken,
    writers: Vec<tokio::task::JoinHandle<()>>,
    tenant: String,
}

impl Setup {
    async fn new(config: MeteringConfig) -> (Self, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
        let tenant = store.create_tenant("acme", "free").await.unwrap().id;
        let stop = CancellationToken::new();
        let (usage, usage_writer) =
            UsageRecorder::spawn(Arc::clone(&store), BatchConfig::default(), stop.clone());
        let (audit, audit_writer) = AuditLog::spawn(
            Arc::clone(&store),
            BatchConfig::default(),
            Redactor::new(&config.redaction),
            stop.clone(),
        );
        let meter = Arc::new(CallMeter::new(
            Arc::clone(&store),
            &config,
            usage,
            audit,
            tenant.clone(),
        ));
        let setup = Self {
            store,
            meter,
            stop,
            writers: vec![usage_writer, audit_writer],
            tenant,
        };
        (setup, tmp)
    }

    /// Stops the writers, so everything recorded is in the store.
    async fn flush(&mut self) {
        self.stop.cancel();
        for writer in self.writers.drain(..) {
            writer.await.unwrap();
        }
    }
}

fn caller(tenant: &str, token: &str) -> Caller {
    Caller {
        tenant_id: tenant.to_owned(),
        tenant_name: "acme".to_owned(),
        user_id: "u1".to_owned(),
        token_id: token.to_owned(),
    }
}

fn request<'a>(caller: Option<&'a Caller>, upstream: &'a str) -> CallRequest<'a> {
    CallRequest {
        caller,
        endpoint: Some("team"),
        upstream,
        tool: "echo",
        arguments: None,
        request_bytes: 2,
    }
}

fn ok(latency_ms: u64) -> CallOutcome {
    CallOutcome {
        end: CallEnd::Ok,
        latency: Duration::from_millis(latency_ms),
        response_bytes: 40,
    }
}

/// Plans where `free` allows `calls` a month.
fn quota_of(calls: u64) -> PlansConfig {
    serde_json::from_value(json!({"free": {"callsPerMonth": calls}})).unwrap()
}

fn limits(per_token: Option<&str>, upstream: Option<(&str, &str)>) -> MeteringConfig {
    MeteringConfig {
        limits: RateLimits {
            per_token: per_token.map(|r| r.parse().unwrap()),
            upstreams: upstream
                .map(|(name, rate)| (name.to_owned(), rate.parse().unwrap()))
                .into_iter()
                .collect(),
            ..RateLimits::default()
        },
        ..MeteringConfig::default()
    }
}

#[tokio::test]
async fn each_token_and_upstream_has_its_own_bucket() {
    let (setup, _tmp) = Setup::new(limits(Some("2/min"), Some(("slow", "1/min")))).await;
    let alice = caller(&setup.tenant, "tok-alice");
    let bob = caller(&setup.tenant, "tok-bob");
    for _ in 0..2 {
        let ticket = setup.meter.admit(request(Some(&alice), "fast")).await;
        ticket.unwrap().finish(ok(5));
    }
    let Err(Refusal::RateLimited { limit, retry_after }) =
        setup.meter.admit(request(Some(&alice), "fast")).await
    else {
        panic!("a third call within the minute must be refused");
    };
    assert_eq!(limit, "this token");
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(30));
    // Bob's token has its own bucket; the slow upstream allows one call a minute to anyone.
    setup
        .meter
        .admit(request(Some(&bob), "slow"))
        .await
        .unwrap()
        .finish(ok(5));
    let Err(Refusal::RateLimited { limit, .. }) =
        setup.meter.admit(request(Some(&bob), "slow")).await
    else {
        panic!("the slow upstream allows one call a minute");
    };
    assert_eq!(limit, "server \"slow\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_plan_quota_admits_exactly_its_calls_and_everything_is_recorded() {
    let config = MeteringConfig {
        plans: quota_of(3),
        ..MeteringConfig::default()
    };
    let (mut setup, _tmp) = Setup::new(config).await;
    let meter = Arc::clone(&setup.meter);
    let who = Arc::new(caller(&setup.tenant, "tok"));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let meter = Arc::clone(&meter);
            let who = Arc::clone(&who);
            tokio::spawn(async move {
                meter
                    .admit(request(Some(&who), "fast"))
                    .await
                    .map(|ticket| ticket.finish(ok(3)))
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(Refusal::QuotaExceeded { message, resets_at }) => {
                assert!(message.contains("3 of 3 used"), "{message}");
                assert!(resets_at > toolport_store::model::now());
            }
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(admitted, 3);
    // A call refused after admission (the circuit was open) gives its unit back.
    let ticket = meter.admit(request(None, "fast")).await;
    assert!(
        matches!(ticket, Err(Refusal::QuotaExceeded { .. })),
        "calls without a caller are billed to the default tenant, whose quota is spent"
    );
    setup.flush().await;
    let history = setup
        .store
        .usage_history(
            &setup.tenant,
            &UsageFilter::default(),
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    let count = |status| history.items.iter().filter(|e| e.status == status).count();
    assert_eq!(history.items.len(), 13);
    assert_eq!(count(CallStatus::Ok), 3);
    assert_eq!(count(CallStatus::Rejected), 10);
    let audit = setup
        .store
        .list_audit(Some(&setup.tenant), &PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(audit.items.len(), 13);
    assert!(audit.items.iter().all(|e| e.action == "tool.call"));
}

#[tokio::test]
async fn refused_after_admission_gives_the_unit_back_and_abandoned_calls_count() {
    let config = MeteringConfig {
        plans: quota_of(1),
        redaction: RedactionConfig {
            key_patterns: vec!["token".into()],
            ..RedactionConfig::default()
        },
        ..MeteringConfig::default()
    };
    let (mut setup, _tmp) = Setup::new(config).await;
    let args = json!({"token": "abc", "q": "rust"});
    let call = CallRequest {
        arguments: Some(&args),
        ..request(None, "fast")
    };
    let ticket = setup.meter.admit(call).await.unwrap();
    ticket.finish(CallOutcome {
        end: CallEnd::Refused,
        latency: Duration::from_millis(1),
        response_bytes: 0,
    });
    // The unit came back: another call is admitted, then abandoned (dropped unfinished).
    let abandoned = setup.meter.admit(call).await.unwrap();
    drop(abandoned);
    assert!(matches!(
        setup.meter.admit(call).await,
        Err(Refusal::QuotaExceeded { .. })
    ));
    setup.flush().await;
    let history = setup
        .store
        .usage_history(
            &setup.tenant,
            &UsageFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let statuses: Vec<CallStatus> = history.items.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            CallStatus::Rejected,
            CallStatus::Error,
            CallStatus::Rejected
        ]
    );
    assert_eq!(history.items[1].endpoint.as_deref(), Some("team"));
    let audit = setup
        .store
        .list_audit(Some(&setup.tenant), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(audit.items[1].detail["arguments"]["token"], "[redacted]");
    assert_eq!(audit.items[1].detail["arguments"]["q"], "rust");
    assert_eq!(
        audit.items[1].detail["note"],
        "the client went away before the answer"
    );
}

#[tokio::test]
async fn a_reloaded_configuration_applies_to_the_next_call() {
    let (setup, _tmp) = Setup::new(limits(Some("1/min"), None)).await;
    let who = caller(&setup.tenant, "tok");
    setup
        .meter
        .admit(request(Some(&who), "fast"))
        .await
        .unwrap()
        .finish(ok(1));
    assert!(
        setup
            .meter
            .admit(request(Some(&who), "fast"))
            .await
            .is_err()
    );
    setup.meter.configure(&MeteringConfig::default());
    setup
        .meter
        .admit(request(Some(&who), "fast"))
        .await
        .expect("no limit after the reload")
        .finish(ok(1));
}
