//! Reading an API description (file path or http(s) URL, through the SSRF-safe client) and converting
//! it, with external `$ref`s loaded the same way; only a description read from a local file may
//! reference local files (not one fetched from a URL, nor one uploaded without a location).

use std::time::Duration;

use toolport_import::{Conversion, DocumentLoader, LoadError};

use super::client::SafeClient;
use super::config::{ApiConfig, MAX_SPEC_BYTES, SpecSource};
use super::error::ApiError;

/// Deadline of one description download (the API's own timeout when longer).
const SPEC_TIMEOUT: Duration = Duration::from_secs(60);

fn is_url(location: &str) -> bool {
    location.starts_with("https://") || location.starts_with("http://")
}

/// Reads the description of API `name` and converts it with the config's options.
pub async fn load_conversion(
    name: &str,
    config: &ApiConfig,
    client: &SafeClient,
) -> Result<Conversion, ApiError> {
    let timeout = SPEC_TIMEOUT.max(config.timeout);
    let bytes = match &config.spec {
        SpecSource::Bytes { bytes, .. } => bytes.clone(),
        SpecSource::Location(location) if is_url(location) => client
            .get_bytes(location, MAX_SPEC_BYTES, timeout)
            .await
            .map_err(|error| ApiError::SpecFetch {
                api: name.to_string(),
                error,
            })?,
        SpecSource::Location(path) => read_file(name, path).await?,
    };
    let options = config.convert_options(name);
    let location = config.spec.location().to_string();
    let loader = RefLoader {
        client: client.clone(),
        local_files: !location.is_empty() && !is_url(&location),
        handle: tokio::runtime::Handle::current(),
        timeout,
    };
    let api = name.to_string();
    let task =
        tokio::task::spawn_blocking(move || toolport_import::convert(&bytes, &options, &loader));
    match task.await {
        Ok(Ok(conversion)) => Ok(conversion),
        Ok(Err(error)) => Err(ApiError::Convert {
            api,
            location,
            error,
        }),
        Err(e) => Err(ApiError::Task {
            api,
            message: e.to_string(),
        }),
    }
}

async fn read_file(api: &str, path: &str) -> Result<Vec<u8>, ApiError> {
    let err = |message: String| ApiError::SpecRead {
        api: api.to_string(),
        location: path.to_string(),
        message,
    };
    let meta = tokio::fs::metadata(path).await.map_err(|e| {
        err(format!(
            "{e}; check the `spec` path (relative paths start at the working directory)"
        ))
    })?;
    if meta.len() > MAX_SPEC_BYTES as u64 {
        return Err(err(format!(
            "the file has {} bytes, more than the {MAX_SPEC_BYTES} bytes a description may have",
            meta.len()
        )));
    }
    tokio::fs::read(path).await.map_err(|e| err(e.to_string()))
}

/// Loads documents named by external `$ref`s. Runs on a blocking thread (conversion is CPU work), so
/// it may block on the runtime for downloads.
struct RefLoader {
    client: SafeClient,
    /// Whether references to local files may be followed.
    local_files: bool,
    handle: tokio::runtime::Handle,
    timeout: Duration,
}

impl DocumentLoader for RefLoader {
    fn load(&self, location: &str) -> Result<Vec<u8>, LoadError> {
        if is_url(location) {
            return self
                .handle
                .block_on(
                    self.client
                        .get_bytes(location, MAX_SPEC_BYTES, self.timeout),
                )
                .map_err(|e| LoadError::new(e.to_string()));
        }
        if !self.local_files {
            return Err(LoadError::new(format!(
                "`{location}` is a local file referenced from a description that was downloaded or uploaded, not read from a local file; such references are refused"
            )));
        }
        let meta = std::fs::metadata(location)
            .map_err(|e| LoadError::new(format!("cannot read `{location}`: {e}")))?;
        if meta.len() > MAX_SPEC_BYTES as u64 {
            return Err(LoadError::new(format!(
                "`{location}` is larger than {MAX_SPEC_BYTES} bytes"
            )));
        }
        std::fs::read(location)
            .map_err(|e| LoadError::new(format!("cannot read `{location}`: {e}")))
    }
}
