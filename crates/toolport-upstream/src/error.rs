//! Errors of the southbound side, each naming what failed so that the gateway can say it to clients.

use toolport_protocol::RpcError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The backend answered with a JSON-RPC error; it goes to the client unchanged. Boxed so
    /// that results carrying this error stay small.
    #[error("{0}")]
    Rpc(Box<RpcError>),
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("connection closed: {0}")]
    Closed(String),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("protocol error: {0}")]
    Protocol(String),
}
