//! A backend that is a child process speaking newline-delimited JSON-RPC on stdin/stdout.
//!
//! One task owns the child: it writes queued messages, reads replies, notices the exit, and on
//! shutdown terminates the child's whole process group (SIGTERM, then SIGKILL after a grace
//! period) so that nothing is orphaned. Stderr lines go to the log under the server's name.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_protocol::Message;
use toolport_protocol::jsonrpc::Payload;

use crate::error::UpstreamError;
use crate::peer::{Inbound, NotificationHook, Peer, PeerShared};

const TERMINATE_GRACE: Duration = Duration::from_secs(3);

pub(super) fn spawn(
    name: &str,
    command: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
    cwd: Option<&Path>,
    hook: Option<NotificationHook>,
    shutdown: CancellationToken,
) -> Result<(Arc<Peer>, mpsc::UnboundedReceiver<Inbound>), UpstreamError> {
    let mut cmd = Command::new(command);
    cmd.args(args)
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn().map_err(|e| {
        UpstreamError::Connect(format!(
            "cannot start `{command}`: {e} (check that the command is installed and on PATH)"
        ))
    })?;
    let stdin = child.stdin.take().expect("stdin piped");
    let stdout = child.stdout.take().expect("stdout piped");
    let stderr = child.stderr.take().expect("stderr piped");
    let server: Arc<str> = name.into();
    tokio::spawn(log_stderr(server.clone(), stderr));
    let (peer, out_rx, shared, ev_rx) = Peer::new(hook);
    tokio::spawn(run(server, child, stdin, stdout, out_rx, shared, shutdown));
    Ok((Arc::new(peer), ev_rx))
}

async fn log_stderr(server: Arc<str>, stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "toolport::backend", server = %server, "stderr: {line}");
    }
}

async fn run(
    server: Arc<str>,
    mut child: Child,
    stdin: ChildStdin,
    stdout: tokio::process::ChildStdout,
    mut outbound: mpsc::UnboundedReceiver<Message>,
    shared: Arc<PeerShared>,
    shutdown: CancellationToken,
) {
    let pid = child.id();
    let mut writer = BufWriter::new(stdin);
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::with_capacity(4096);
    let mut buf = Vec::with_capacity(4096);
    let reason = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break "gateway shutting down".to_string(),
            msg = outbound.recv() => {
                let Some(msg) = msg else { break "peer dropped".to_string() };
                buf.clear();
                write_line(&mut buf, &msg);
                // Drain whatever else is queued so that a burst costs one flush.
                while let Ok(more) = outbound.try_recv() {
                    write_line(&mut buf, &more);
                }
                if let Err(e) = async {
                    writer.write_all(&buf).await?;
                    writer.flush().await
                }.await {
                    break format!("writing to the process failed: {e}");
                }
            }
            read = reader.read_until(b'\n', &mut line) => {
                match read {
                    Ok(0) => break exit_reason(&mut child).await,
                    Ok(_) => {
                        deliver_line(&server, &shared, &line);
                        line.clear();
                    }
                    Err(e) => break format!("reading from the process failed: {e}"),
                }
            }
            status = child.wait() => {
                break match status {
                    Ok(s) => format!("process exited ({s})"),
                    Err(e) => format!("process lost: {e}"),
                };
            }
        }
    };
    terminate(&server, &mut child, pid).await;
    tracing::warn!(target: "toolport::backend", server = %server, "connection ended: {reason}");
    shared.close(reason);
}

fn write_line(buf: &mut Vec<u8>, msg: &Message) {
    serde_json::to_writer(&mut *buf, msg).expect("a message always serialises");
    buf.push(b'\n');
}

fn deliver_line(server: &str, shared: &PeerShared, line: &[u8]) {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return;
    }
    match Payload::parse(trimmed) {
        Payload::Single(Ok(msg)) => shared.deliver(msg, None),
        Payload::Batch(items) => {
            for msg in items.into_iter().flatten() {
                shared.deliver(msg, None);
            }
        }
        Payload::Single(Err(err)) => tracing::warn!(
            target: "toolport::backend",
            server,
            "ignoring a stdout line that is not JSON-RPC ({}): {}",
            err.error.message,
            String::from_utf8_lossy(&trimmed[..trimmed.len().min(200)])
        ),
    }
}

async fn exit_reason(child: &mut Child) -> String {
    match tokio::time::timeout(Duration::from_millis(500), child.wait()).await {
        Ok(Ok(status)) => format!("process exited ({status})"),
        _ => "process closed its stdout".to_string(),
    }
}

/// Terminates the child's process group: SIGTERM, a grace period, then SIGKILL.
async fn terminate(server: &str, child: &mut Child, pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    let group = Pid::from_raw(pid);
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout(TERMINATE_GRACE, child.wait())
        .await
        .is_err()
    {
        tracing::warn!(target: "toolport::backend", server, "did not stop after SIGTERM; killing");
    }
    // The group may hold grandchildren even after the leader exited.
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait().await;
}
