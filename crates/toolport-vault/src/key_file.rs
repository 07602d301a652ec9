//! The key file during and after a rotation: the active key and the previous keys that values not
//! yet re-sealed still need, one per line, replaced atomically (private temporary file, synced,
//! renamed over the old one), so a crash at any moment leaves either the old file or the new one.
//!
//! ```text
//! # Toolport master keys: the first seals, the others only open values sealed before a rotation.
//! <active key, base64>
//! <previous key, base64>
//! ```
//!
//! A file with one key (as [`MasterKey::load_or_create`] writes it, or 32 raw bytes) reads as an
//! active key without previous ones.

use std::fs;
use std::io::Write;
use std::path::Path;

use zeroize::Zeroizing;

use crate::master::{create_private_file, decode_key_text, read_key_file, temp_path};
use crate::{KeyError, MasterKey};

const HEADER: &str = "# Toolport master keys: the first seals, the others only open values sealed before a rotation.\n";

/// Reads the key file at `path`: the active key and the previous keys, in file order.
pub fn load_keys(path: &Path) -> Result<(MasterKey, Vec<MasterKey>), KeyError> {
    let content = read_key_file(path)?;
    if let Ok(raw) = <[u8; 32]>::try_from(&content[..]) {
        return Ok((MasterKey::from_bytes(raw), Vec::new()));
    }
    let mut keys = Vec::new();
    for (index, line) in content.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let key = decode_key_text(line).map_err(|reason| KeyError::InvalidFile {
            path: path.to_owned(),
            reason: format!("line {}: {reason}", index + 1),
        })?;
        keys.push(key);
    }
    let mut keys = keys.into_iter();
    let active = keys.next().ok_or_else(|| KeyError::InvalidFile {
        path: path.to_owned(),
        reason: "it holds no key".to_owned(),
    })?;
    Ok((active, keys.collect()))
}

/// Replaces the key file at `path` with `keys` (the first is the active one): written to a private
/// (0600) temporary file in the same directory, synced, renamed over `path`, and the directory
/// synced, so that the file is never missing, empty or half-written.
pub fn write_keys(path: &Path, keys: &[&MasterKey]) -> Result<(), KeyError> {
    let io_err = |action: &'static str, at: &Path| {
        let path = at.to_owned();
        move |source: std::io::Error| KeyError::Io {
            action,
            path,
            source,
        }
    };
    let tmp = temp_path(path);
    let written = (|| {
        let mut file = create_private_file(&tmp).map_err(io_err("create", &tmp))?;
        // Sized up front so that appending never reallocates and leaves a copy of a key behind.
        let mut text = Zeroizing::new(String::with_capacity(HEADER.len() + keys.len() * 46));
        text.push_str(HEADER);
        for key in keys {
            text.push_str(&key.export_base64());
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_err("write", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err("replace", path))
    })();
    if written.is_err() {
        // The temporary name is ours alone; failing to remove it leaves a 0600 file, not a leak.
        let _ = fs::remove_file(&tmp);
        return written;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("sync the directory of", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(keys: &[MasterKey]) -> Vec<crate::KeyId> {
        keys.iter().map(MasterKey::id).collect()
    }

    #[test]
    fn keys_round_trip_in_order_and_the_file_stays_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (a, b, c) = (
            MasterKey::generate(),
            MasterKey::generate(),
            MasterKey::generate(),
        );
        write_keys(&path, &[&a, &b, &c]).unwrap();
        let (active, previous) = load_keys(&path).unwrap();
        assert_eq!(active.id(), a.id());
        assert_eq!(ids(&previous), vec![b.id(), c.id()]);
        write_keys(&path, &[&c]).unwrap();
        let (active, previous) = load_keys(&path).unwrap();
        assert_eq!(active.id(), c.id());
        assert!(previous.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_single_key_file_reads_as_the_active_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (created, _) = MasterKey::load_or_create(&path).unwrap();
        let (active, previous) = load_keys(&path).unwrap();
        assert_eq!(active.id(), created.id());
        assert!(previous.is_empty());
    }

    #[test]
    fn errors_name_the_line_and_never_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::generate();
        write_keys(&path, &[&key]).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("not-a-key\n");
        fs::write(&path, &text).unwrap();
        let err = load_keys(&path).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("not-a-key") && !err.contains(key.export_base64().trim()));
        fs::write(&path, HEADER).unwrap();
        let err = load_keys(&path).unwrap_err().to_string();
        assert!(err.contains("holds no key"), "{err}");
    }
}
