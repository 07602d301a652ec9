//! Loading the configuration file: JSON (with comments, as VS Code writes it) or TOML, the same
//! structure either way, turned into its validated form ([`Config`]: the gateway's and metering's). Errors name the file and the
//! line/column or key path, say what is wrong and what would be right.

mod api;
mod breaker;
mod interpolate;
mod raw;
mod registered;
mod validate;
pub mod watch;

use std::io::Read;
use std::path::{Path, PathBuf};

use toolport_gateway::GatewayConfig;
use toolport_metering::MeteringConfig;

use raw::RawFile;
use validate::Context;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A name the file uses under `/mcp/` is a tenant's virtual endpoint.
    #[error("{path}: {message}")]
    Clash { path: PathBuf, message: String },
}

pub use interpolate::SecretLookup;

/// The file's validated form: what the gateway runs, what metering enforces, and what tenants
/// may register.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub metering: MeteringConfig,
    pub registration: RegistrationPolicy,
}

/// What the admin API accepts beyond remote MCP servers and APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegistrationPolicy {
    /// `toolport.allowRegisteredStdio`: stdio servers (commands on this host) may be registered.
    pub allow_stdio: bool,
}

pub use registered::{Registration, registered_config};
pub use validate::Invalid;

/// Reads and validates the file at `path` against the process environment; `${secret:NAME}`
/// references are resolved by `secrets`.
pub fn load(path: &Path, secrets: SecretLookup<'_>) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, path, base, &|name| std::env::var(name).ok(), secrets)
}

/// Parses configuration text; `path` decides the format (`.toml` or JSON) and labels errors.
pub fn parse(
    text: &str,
    path: &Path,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: SecretLookup<'_>,
) -> Result<Config, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let raw = if is_toml {
        parse_toml(text, path)?
    } else {
        parse_json(text, path)?
    };
    let cx = Context {
        env,
        secrets,
        base_dir,
    };
    validate::validate(raw, &cx).map_err(|i| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: i.key,
        message: i.message,
    })
}

fn parse_json(text: &str, path: &Path) -> Result<RawFile, ConfigError> {
    // Comments are blanked out in place, so line and column numbers stay true.
    let mut stripped = String::with_capacity(text.len());
    json_comments::StripComments::new(text.as_bytes())
        .read_to_string(&mut stripped)
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let mut de = serde_json::Deserializer::from_str(&stripped);
    serde_path_to_error::deserialize::<_, RawFile>(&mut de).map_err(|err| {
        let key = err.path().to_string();
        let inner = err.into_inner();
        let message = if key == "." || key.is_empty() {
            inner.to_string()
        } else {
            format!("{key}: {inner}")
        };
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line: inner.line(),
            column: inner.column(),
            message: strip_position(&message),
        }
    })
}

/// serde_json appends " at line L column C"; the error already carries them.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn parse_toml(text: &str, path: &Path) -> Result<RawFile, ConfigError> {
    let syntax = |inner: toml::de::Error, key: String| {
        let (line, column) = inner
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        let message = inner.message().to_string();
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: if key == "." || key.is_empty() {
                message
            } else {
                format!("{key}: {message}")
            },
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| syntax(e, String::new()))?;
    serde_path_to_error::deserialize::<_, RawFile>(de).map_err(|err| {
        let key = err.path().to_string();
        syntax(err.into_inner(), key)
    })
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
