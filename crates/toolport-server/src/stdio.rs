//! The gateway over this process's stdin and stdout (`toolport stdio`), for desktop clients that
//! can only spawn commands: newline-delimited JSON-RPC, one session, every backend namespaced.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use toolport_gateway::{Gateway, Scope};
use toolport_protocol::jsonrpc::Payload;
use toolport_protocol::{Message, meta};

/// Serves one client on `input`/`output` until the input ends or `shutdown` fires.
pub async fn serve<R, W>(
    gateway: Arc<Gateway>,
    input: R,
    mut output: W,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let session = gateway.open_session("stdio".into(), Scope::All, None, tx.clone());
    let mut writer = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(4096);
        while let Some(first) = rx.recv().await {
            buf.clear();
            for m in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                serde_json::to_writer(&mut buf, &m).expect("messages always serialise");
                buf.push(b'\n');
            }
            output.write_all(&buf).await?;
            output.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let tasks = TaskTracker::new();
    let mut lines = BufReader::new(input).lines();
    loop {
        let line = tokio::select! {
            () = shutdown.cancelled() => break,
            line = lines.next_line() => match line? { Some(l) => l, None => break },
        };
        if line.trim().is_empty() {
            continue;
        }
        let items = match Payload::parse(line.as_bytes()) {
            Payload::Single(item) => vec![item],
            Payload::Batch(items) => items,
        };
        for item in items {
            let gateway = gateway.clone();
            let session = session.clone();
            let tx = tx.clone();
            tasks.spawn(async move {
                let answer = match item {
                    // 2026-07-28 requests carry their revision in `_meta` and need no session.
                    Ok(Message::Request(request))
                        if meta::declared_version(request.params.as_ref()).is_some() =>
                    {
                        Some(
                            gateway
                                .handle_stateless(Scope::All, None, request, &tx)
                                .await,
                        )
                    }
                    Ok(message) => gateway.handle(&session, message, &tx).await,
                    Err(invalid) => Some(invalid.into_response()),
                };
                if let Some(answer) = answer {
                    let _ = tx.send(Message::Response(answer));
                }
            });
        }
    }
    // Answer what was asked before the input ended, then stop writing.
    tasks.close();
    tokio::select! {
        () = tasks.wait() => {}
        () = shutdown.cancelled() => {}
    }
    gateway.close_session("stdio");
    drop(session);
    drop(tx);
    // The writer ends once every sender is gone; a lingering one only delays the exit briefly.
    if tokio::time::timeout(std::time::Duration::from_secs(2), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    Ok(())
}
