//! How external `$ref`s reach other documents without this crate doing I/O: the caller supplies a loader.

use thiserror::Error;

/// Why a referenced document could not be loaded.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct LoadError {
    pub message: String,
}

impl LoadError {
    pub fn new(message: impl Into<String>) -> Self {
        LoadError {
            message: message.into(),
        }
    }
}

/// Fetches the bytes of a document named by an external `$ref`.
///
/// `location` is the reference already resolved against the referring document's location
/// (for example `schemas/pet.yaml` referenced from `api/openapi.yaml` arrives as `api/schemas/pet.yaml`;
/// absolute URLs arrive unchanged). It carries no `#fragment`.
pub trait DocumentLoader {
    fn load(&self, location: &str) -> Result<Vec<u8>, LoadError>;
}

/// The default loader: refuses every external reference (the operations that need one become diagnostics).
#[derive(Debug, Default, Clone, Copy)]
pub struct RefuseLoader;

impl DocumentLoader for RefuseLoader {
    fn load(&self, location: &str) -> Result<Vec<u8>, LoadError> {
        Err(LoadError::new(format!(
            "external reference `{location}` not loaded: no document loader was supplied (bundle the description into one file, or register it from a path so its neighbours can be read)"
        )))
    }
}

/// Resolves `reference` (without fragment) against `base` (the referring document's location).
pub fn resolve_location(base: &str, reference: &str) -> String {
    if reference.is_empty() {
        return base.to_string();
    }
    if reference.contains("://") || reference.starts_with('/') {
        return normalize(reference);
    }
    let dir = match base.rfind('/') {
        Some(i) => &base[..=i],
        None => "",
    };
    normalize(&format!("{dir}{reference}"))
}

fn normalize(path: &str) -> String {
    let (prefix, rest) = match path.find("://") {
        Some(i) => {
            let after = &path[i + 3..];
            let host_end = after.find('/').map_or(after.len(), |j| j);
            (path[..i + 3 + host_end].to_string(), &after[host_end..])
        }
        None => (String::new(), path),
    };
    let absolute = rest.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if absolute || !prefix.is_empty() {
        format!("{prefix}/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_location;

    #[test]
    fn resolves_relative_locations() {
        assert_eq!(
            resolve_location("api/openapi.yaml", "schemas/pet.yaml"),
            "api/schemas/pet.yaml"
        );
        assert_eq!(
            resolve_location("api/v1/openapi.yaml", "../common.yaml"),
            "api/common.yaml"
        );
        assert_eq!(resolve_location("openapi.yaml", "./a.yaml"), "a.yaml");
        assert_eq!(resolve_location("/x/y/z.json", "../a.json"), "/x/a.json");
        assert_eq!(
            resolve_location("https://h/a/b.json", "c.json"),
            "https://h/a/c.json"
        );
        assert_eq!(
            resolve_location("a.yaml", "https://h/x.json"),
            "https://h/x.json"
        );
    }
}
