//! How to reach one backend: the validated form of an `mcpServers` (or `apis`) entry.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::api::ApiConfig;

#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamSpec {
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    StreamableHttp {
        url: String,
        headers: BTreeMap<String, String>,
    },
    Sse {
        url: String,
        headers: BTreeMap<String, String>,
    },
    /// An HTTP API whose description becomes tools (boxed: it is much larger than the others).
    Api(Box<ApiConfig>),
}

impl UpstreamSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Stdio { .. } => "stdio",
            Self::StreamableHttp { .. } => "http",
            Self::Sse { .. } => "sse",
            Self::Api(_) => "api",
        }
    }
}
