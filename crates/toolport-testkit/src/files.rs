//! Reading what a store left on disk, for tests that prove a plaintext never reached it.

use std::path::{Path, PathBuf};

/// Every regular file directly in `dir` with its bytes. SQLite may remove its `-wal`/`-shm` files
/// while they are being listed (as its last connection closes); a file gone by the time it is read
/// holds nothing and is left out.
///
/// # Panics
/// When `dir` cannot be listed or a file that exists cannot be read.
pub fn stored_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if !path.is_file() {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => files.push((path, bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        }
    }
    files
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
