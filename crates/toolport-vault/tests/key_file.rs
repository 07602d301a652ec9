//! The master key's sources on disk and in the environment: a key file made on first run with mode
//! 0600, refused when others can read it, and errors that say what to do without showing the key.

use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use toolport_vault::{KeyError, KeyOrigin, MasterKey};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn first_run_creates_a_private_key_file_and_later_runs_load_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("master.key");

    let (created, origin) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(origin, KeyOrigin::Created);
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
    let content = fs::read_to_string(&path).unwrap();
    assert_eq!(
        content.trim_end().len(),
        44,
        "base64 of 32 bytes and a newline"
    );
    // No temporary file is left behind.
    assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);

    let (loaded, origin) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(origin, KeyOrigin::Loaded);
    assert_eq!(loaded.id(), created.id());
    assert_eq!(MasterKey::load(&path).unwrap().id(), created.id());
    // The file's content is also a valid TOOLPORT_MASTER_KEY value.
    assert_eq!(
        MasterKey::from_env_value(&content).unwrap().id(),
        created.id()
    );
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (key, _) = MasterKey::load_or_create(&path).unwrap();
    for bad in [0o644, 0o640, 0o604, 0o660, 0o606] {
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
        for result in [
            MasterKey::load(&path).map(|_| ()),
            MasterKey::load_or_create(&path).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, KeyError::InsecurePermissions { mode, .. } if mode == bad));
            let message = err.to_string();
            assert!(message.contains(&format!("mode {bad:04o}")), "{message}");
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
        }
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(MasterKey::load(&path).unwrap().id(), key.id());
}

#[cfg(unix)]
fn write_private(path: &Path, content: &[u8]) {
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[cfg(unix)]
#[test]
fn key_file_forms_and_invalid_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let expected = MasterKey::from_bytes([9; 32]).id();

    write_private(&path, &[9; 32]);
    assert_eq!(MasterKey::load(&path).unwrap().id(), expected, "raw bytes");
    write_private(&path, format!("{}\n", "09".repeat(32)).as_bytes());
    assert_eq!(MasterKey::load(&path).unwrap().id(), expected, "hex");

    write_private(&path, b"PLAINTEXT-NOT-A-KEY\n");
    let err = MasterKey::load_or_create(&path).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, KeyError::InvalidFile { .. }), "{err:?}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("64 hex characters or as base64"),
        "{message}"
    );
    assert!(!message.contains("PLAINTEXT"), "{message}");

    write_private(&path, b"");
    assert!(
        MasterKey::load(&path)
            .unwrap_err()
            .to_string()
            .contains("it is empty")
    );
    write_private(&path, &[b'a'; 5000]);
    let err = MasterKey::load(&path).unwrap_err().to_string();
    assert!(err.contains("it is 5000 bytes long"), "{err}");
}

#[test]
fn a_missing_directory_that_cannot_be_created_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    fs::write(&blocker, b"").unwrap();
    let err = MasterKey::load_or_create(&blocker.join("master.key")).unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot create the directory of key file"),
        "{err}"
    );
}

#[test]
fn the_environment_wins_over_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let value = "0a".repeat(32);
    let (key, origin) = MasterKey::resolve(Some(&value), &path).unwrap();
    assert_eq!(origin, KeyOrigin::Environment);
    assert_eq!(key.id(), MasterKey::from_bytes([10; 32]).id());
    assert!(
        !path.exists(),
        "no key file is created when the environment has the key"
    );

    let err = MasterKey::resolve(Some("too-short"), &path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TOOLPORT_MASTER_KEY is not a valid master key"),
        "{err}"
    );

    let (_, origin) = MasterKey::resolve(None, &path).unwrap();
    assert_eq!(origin, KeyOrigin::Created);
}

#[test]
fn concurrent_first_runs_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let ids: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| MasterKey::load_or_create(&path).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = ids.iter().filter(|(_, o)| *o == KeyOrigin::Created).count();
    assert_eq!(created, 1);
    assert!(ids.iter().all(|(k, _)| k.id() == ids[0].0.id()));
}
