//! MCP protocol revisions, negotiation, and the capabilities that distinguish the eras.

use std::fmt;

/// The revisions Toolport speaks, oldest first. Ordering follows the dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    V2024_11_05,
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
}

impl ProtocolVersion {
    pub const ALL: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];
    pub const LATEST: Self = Self::V2026_07_28;
    /// The newest revision that still has an `initialize` handshake and sessions.
    pub const LATEST_STATEFUL: Self = Self::V2025_11_25;

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The answer to an `initialize` that asked for `requested`: the same revision when we speak
    /// it and it has a handshake, otherwise the newest stateful revision (the client may then
    /// disconnect if it cannot speak it, as the lifecycle rules say).
    pub fn negotiate(requested: &str) -> Self {
        match Self::parse(requested) {
            Some(v) if !v.is_stateless() => v,
            _ => Self::LATEST_STATEFUL,
        }
    }

    /// 2026-07-28 and later: no handshake, no session, version and capabilities in every `_meta`.
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// 2025-06-18 and later: `MCP-Protocol-Version` header on HTTP requests after initialize.
    pub fn has_version_header(self) -> bool {
        self >= Self::V2025_06_18
    }

    /// 2025-03-26 and later speak Streamable HTTP; 2024-11-05 only knows legacy HTTP+SSE.
    pub fn has_streamable_http(self) -> bool {
        self >= Self::V2025_03_26
    }

    /// Every revision name, newest first, as `server/discover` lists them.
    pub fn supported_strings() -> Vec<&'static str> {
        Self::ALL.iter().rev().map(|v| v.as_str()).collect()
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_known_stateful_revisions() {
        for v in ProtocolVersion::ALL
            .into_iter()
            .filter(|v| !v.is_stateless())
        {
            assert_eq!(ProtocolVersion::negotiate(v.as_str()), v);
        }
    }

    #[test]
    fn negotiation_falls_back_to_latest_stateful() {
        assert_eq!(
            ProtocolVersion::negotiate("1999-01-01"),
            ProtocolVersion::V2025_11_25
        );
        assert_eq!(
            ProtocolVersion::negotiate("2026-07-28"),
            ProtocolVersion::V2025_11_25
        );
    }

    #[test]
    fn order_follows_dates() {
        let mut sorted = ProtocolVersion::ALL;
        sorted.sort_by_key(|v| v.as_str());
        assert_eq!(sorted, ProtocolVersion::ALL);
    }
}
