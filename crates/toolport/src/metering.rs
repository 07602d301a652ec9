//! The usage and audit writers and the call gate over them, started with the gateway and drained
//! after it: every call recorded before shutdown reaches the store.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_metering::{
    AuditLog, BatchConfig, CallMeter, MeteringConfig, Redactor, UsageRecorder,
};
use toolport_store::SqliteStore;

use crate::tenancy::Tenancy;

pub struct Metering {
    pub meter: Arc<CallMeter<SqliteStore>>,
    /// Stops the writers; cancelled only once nothing records any more.
    stop: CancellationToken,
    writers: Vec<JoinHandle<()>>,
}

impl Metering {
    /// Starts the writers; calls without a caller are billed to the administrator's tenant.
    pub fn start(tenancy: &Tenancy, config: &MeteringConfig) -> Self {
        let stop = CancellationToken::new();
        let (usage, usage_writer) =
            UsageRecorder::spawn(tenancy.store.clone(), BatchConfig::default(), stop.clone());
        let (audit, audit_writer) = AuditLog::spawn(
            tenancy.store.clone(),
            BatchConfig::default(),
            Redactor::new(&config.redaction),
            stop.clone(),
        );
        let meter = Arc::new(CallMeter::new(
            tenancy.store.clone(),
            config,
            usage,
            audit,
            tenancy.admin_tenant.id.clone(),
        ));
        Self {
            meter,
            stop,
            writers: vec![usage_writer, audit_writer],
        }
    }

    /// Writes what is still queued and stops the writers. Call it after the server and the
    /// gateway have stopped taking calls.
    pub async fn drain(self) {
        self.stop.cancel();
        for writer in self.writers {
            let _ = writer.await;
        }
    }
}
