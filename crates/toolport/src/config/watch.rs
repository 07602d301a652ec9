//! Hot reload: watches the configuration file (and listens for other reasons to rebuild it, such as
//! a changed secret) and publishes each new valid version through a watch channel. An invalid file
//! is refused with a log line and the last good configuration stays.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Config, ConfigError};
use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Builds the configuration from the file (and whatever else it refers to).
pub type Loader = Box<dyn Fn() -> Result<Config, ConfigError> + Send>;

/// Editors save in bursts (truncate, write, rename); wait this long for the burst to settle.
const SETTLE: Duration = Duration::from_millis(150);

/// Watches `path` until `shutdown`, rebuilding with `load` when it changes or `rebuild` fires; new
/// valid configurations are sent on `updates`.
pub fn spawn(
    path: PathBuf,
    load: Loader,
    mut rebuild: mpsc::UnboundedReceiver<()>,
    updates: watch::Sender<Config>,
    shutdown: CancellationToken,
) -> notify::Result<tokio::task::JoinHandle<()>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let file_name = path.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event
                .paths
                .iter()
                .any(|p| p.file_name().map(ToOwned::to_owned) == file_name)
        {
            let _ = tx.send(());
        }
    })?;
    // Watching the directory survives editors that replace the file by renaming.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                event = rx.recv() => {
                    if event.is_none() { return }
                    tokio::time::sleep(SETTLE).await;
                }
                Some(()) = rebuild.recv() => {}
            }
            while rx.try_recv().is_ok() || rebuild.try_recv().is_ok() {}
            match load() {
                Ok(config) => {
                    if *updates.borrow() != config {
                        tracing::info!(path = %path.display(), "configuration changed; applying");
                        updates.send_replace(config);
                    }
                }
                Err(err) => {
                    tracing::error!("configuration refused, keeping the last good one: {err}")
                }
            }
        }
    }))
}
