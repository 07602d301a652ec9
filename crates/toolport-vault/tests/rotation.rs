//! Rotation keeps every secret readable: before, during and after re-encryption, in one process
//! and across instances that learn about the new key at different times.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use toolport_vault::{MasterKey, Sealed, Vault, VaultError};

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes([byte; 32])
}

struct Row {
    tenant: String,
    name: String,
    plaintext: Vec<u8>,
    sealed: Sealed,
}

fn rows(vault: &Vault, count: usize) -> Vec<Row> {
    (0..count)
        .map(|i| {
            let tenant = format!("tenant-{}", i % 7);
            let name = format!("secret-{i}");
            let plaintext = format!("value-{i}-{}", "x".repeat(i)).into_bytes();
            let sealed = vault.seal(&tenant, &name, &plaintext).unwrap();
            Row {
                tenant,
                name,
                plaintext,
                sealed,
            }
        })
        .collect()
}

fn assert_all_readable(vault: &Vault, rows: &[Row]) {
    for row in rows {
        let opened = vault.open(&row.tenant, &row.name, &row.sealed).unwrap();
        assert_eq!(opened.expose(), row.plaintext.as_slice(), "{}", row.name);
    }
}

#[test]
fn rotation_keeps_every_secret_readable() {
    let vault = Vault::new(key(1));
    let old_id = vault.active_key_id();
    let mut rows = rows(&vault, 100);
    let check = vault.key_check().unwrap();

    let retiring = vault.rotate(key(2)).unwrap();
    assert_eq!(retiring, old_id);
    assert_ne!(vault.active_key_id(), old_id);
    assert_all_readable(&vault, &rows);
    vault.verify(&check).unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| vault.needs_reseal(&r.sealed))
            .count(),
        100
    );

    // Re-encrypt half, as an interrupted `toolport vault rotate` would.
    for row in rows.iter_mut().step_by(2) {
        row.sealed = vault.reseal(&row.tenant, &row.name, &row.sealed).unwrap();
        assert_eq!(row.sealed.key_id(), vault.active_key_id());
    }
    assert_all_readable(&vault, &rows);
    assert_eq!(
        rows.iter()
            .filter(|r| vault.needs_reseal(&r.sealed))
            .count(),
        50
    );

    // Secrets written during the rotation use the new key.
    let fresh = vault.seal("tenant-0", "new", b"new").unwrap();
    assert!(!vault.needs_reseal(&fresh));

    // Resume: only the rows that still need it.
    for row in rows.iter_mut().filter(|r| vault.needs_reseal(&r.sealed)) {
        row.sealed = vault.reseal(&row.tenant, &row.name, &row.sealed).unwrap();
    }
    assert_eq!(
        rows.iter()
            .filter(|r| vault.needs_reseal(&r.sealed))
            .count(),
        0
    );
    let new_check = vault.key_check().unwrap();

    vault.retire(old_id).unwrap();
    assert_eq!(vault.key_ids(), vec![vault.active_key_id()]);
    assert_all_readable(&vault, &rows);
    vault.verify(&new_check).unwrap();
    // The old check names a retired key: a start with only the old check would be refused.
    assert!(matches!(
        vault.verify(&check),
        Err(VaultError::WrongMasterKey { .. })
    ));

    // A restart with only the new key reads everything.
    let restarted = Vault::new(key(2));
    restarted.verify(&new_check).unwrap();
    assert_all_readable(&restarted, &rows);
}

#[test]
fn retiring_too_early_fails_loudly_not_silently() {
    let vault = Vault::new(key(1));
    let rows = rows(&vault, 3);
    let old = vault.rotate(key(2)).unwrap();
    vault.retire(old).unwrap();
    let err = vault
        .open(&rows[0].tenant, &rows[0].name, &rows[0].sealed)
        .unwrap_err();
    assert!(matches!(err, VaultError::UnknownKey { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("retired before re-encryption finished")
    );
    // Adding the old key back repairs it.
    vault.add_opening_key(key(1));
    assert_all_readable(&vault, &rows);
}

#[test]
fn instances_rotating_at_different_times_read_each_other() {
    // Two instances on one database, both on key 1.
    let a = Vault::new(key(1));
    let b = Vault::new(key(1));
    let before = rows(&a, 10);

    // Step 1: every instance learns key 2 as an opening key.
    a.add_opening_key(key(2));
    b.add_opening_key(key(2));
    // Step 2: instance A switches first; B still seals with key 1 for a while.
    a.rotate(key(2)).unwrap();
    let from_a = rows(&a, 10);
    let from_b = rows(&b, 10);
    for vault in [&a, &b] {
        assert_all_readable(vault, &before);
        assert_all_readable(vault, &from_a);
        assert_all_readable(vault, &from_b);
    }
    b.rotate(key(2)).unwrap();
    assert_eq!(a.key_ids(), b.key_ids());
}

#[test]
fn opens_racing_a_rotation_all_succeed() {
    let vault = Arc::new(Vault::new(key(1)));
    let rows = Arc::new(rows(&vault, 20));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (vault, rows, stop) = (Arc::clone(&vault), Arc::clone(&rows), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut opened = 0usize;
                while !stop.load(Ordering::Relaxed) || opened == 0 {
                    assert_all_readable(&vault, &rows);
                    let sealed = vault.seal("t", "n", b"v").unwrap();
                    assert_eq!(vault.open("t", "n", &sealed).unwrap().expose(), b"v");
                    opened += rows.len();
                }
                opened
            })
        })
        .collect();
    for byte in 2..12 {
        vault.rotate(key(byte)).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert_eq!(vault.key_ids().len(), 11);
}
