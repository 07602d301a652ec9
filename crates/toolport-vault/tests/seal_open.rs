//! Sealing and opening as the store will use them: round trips through the stored text, the
//! binding of a ciphertext to its tenant and name, tampering, and a wrong master key.

use toolport_vault::{FormatError, MasterKey, Sealed, Vault, VaultError};

fn vault(byte: u8) -> Vault {
    Vault::new(MasterKey::from_bytes([byte; 32]))
}

/// The same sealed value with the last byte of its tag flipped.
fn flip_last_byte(sealed: &Sealed) -> Sealed {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = sealed.to_string();
    let (head, payload) = text.rsplit_once(':').unwrap();
    let mut bytes = engine.decode(payload).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    format!("{head}:{}", engine.encode(bytes)).parse().unwrap()
}

/// Seals, stores as text, parses back and opens.
fn store_and_reload(vault: &Vault, tenant: &str, name: &str, plaintext: &[u8]) -> Sealed {
    let stored = vault.seal(tenant, name, plaintext).unwrap().to_string();
    assert!(stored.is_ascii());
    stored.parse().unwrap()
}

#[test]
fn round_trip_of_every_kind_of_value() {
    let vault = vault(1);
    let values: [&[u8]; 5] = [
        b"",
        b"ghp_0123456789abcdef",
        "pässwörd-🔑".as_bytes(),
        &[0u8, 255, 1, 254, 0, 0],
        &[b'x'; 70_000],
    ];
    for plaintext in values {
        let sealed = store_and_reload(&vault, "tenant-1", "token", plaintext);
        assert_eq!(
            vault.open("tenant-1", "token", &sealed).unwrap().expose(),
            plaintext
        );
        assert_eq!(sealed.key_id(), vault.active_key_id());
        assert_eq!(sealed.version(), 1);
    }
}

#[test]
fn stored_text_contains_no_plaintext() {
    let vault = vault(1);
    let sealed = vault.seal("t", "n", b"PLAINTEXT-MARKER-123").unwrap();
    let text = sealed.to_string();
    assert!(!text.contains("PLAINTEXT"), "{text}");
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(!json.contains("PLAINTEXT"), "{json}");
}

#[test]
fn a_moved_ciphertext_does_not_decrypt() {
    let vault = vault(1);
    let sealed = vault.seal("tenant-a", "db_password", b"s3cret").unwrap();
    for (tenant, name) in [
        ("tenant-b", "db_password"),
        ("tenant-a", "api_key"),
        ("tenant-b", "api_key"),
        ("tenant-a ", "db_password"),
        ("", "db_password"),
        ("tenant-adb_password", ""),
    ] {
        let err = vault.open(tenant, name, &sealed).unwrap_err();
        assert!(
            matches!(err, VaultError::Decrypt { .. }),
            "{tenant}/{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("belongs to another tenant or secret name"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
    assert_eq!(
        vault
            .open("tenant-a", "db_password", &sealed)
            .unwrap()
            .expose(),
        b"s3cret"
    );
}

#[test]
fn every_altered_byte_is_detected() {
    let vault = vault(1);
    let text = vault.seal("t", "n", b"value").unwrap().to_string();
    let (head, payload) = text.rsplit_once(':').unwrap();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(payload).unwrap();
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut altered = bytes.clone();
            altered[i] ^= bit;
            let sealed: Sealed = format!("{head}:{}", engine.encode(&altered))
                .parse()
                .unwrap();
            let err = vault.open("t", "n", &sealed).unwrap_err();
            assert!(
                matches!(err, VaultError::Decrypt { .. }),
                "byte {i}: {err:?}"
            );
        }
    }
    // Truncated and extended payloads.
    for altered in [&bytes[..bytes.len() - 1], &[&bytes[..], &[0]].concat()[..]] {
        let sealed: Sealed = format!("{head}:{}", engine.encode(altered))
            .parse()
            .unwrap();
        assert!(vault.open("t", "n", &sealed).is_err());
    }
}

#[test]
fn a_key_id_changed_to_another_held_key_does_not_decrypt() {
    let old = MasterKey::from_bytes([1; 32]);
    let old_id = old.id();
    let vault = Vault::new(old);
    let sealed = vault.seal("t", "n", b"value").unwrap();
    vault.rotate(MasterKey::from_bytes([2; 32])).unwrap();
    let relabelled: Sealed = sealed
        .to_string()
        .replace(&old_id.to_string(), &vault.active_key_id().to_string())
        .parse()
        .unwrap();
    assert!(matches!(
        vault.open("t", "n", &relabelled),
        Err(VaultError::Decrypt { .. })
    ));
    assert_eq!(vault.open("t", "n", &sealed).unwrap().expose(), b"value");
}

#[test]
fn wrong_master_key_fails_loudly() {
    let right = vault(1);
    let wrong = vault(2);
    let sealed = right.seal("tenant-1", "token", b"value").unwrap();
    let err = wrong.open("tenant-1", "token", &sealed).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, VaultError::UnknownKey { .. }), "{err:?}");
    assert!(
        message.contains(&right.active_key_id().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&wrong.active_key_id().to_string()),
        "{message}"
    );
    assert!(message.contains("the master key is wrong"), "{message}");
}

#[test]
fn key_check_refuses_a_wrong_master_key_at_start() {
    let right = vault(1);
    let check: Sealed = right.key_check().unwrap().to_string().parse().unwrap();
    right.verify(&check).unwrap();
    // A restart with the same key verifies.
    vault(1).verify(&check).unwrap();

    let wrong = vault(2);
    let err = wrong.verify(&check).unwrap_err();
    assert!(matches!(err, VaultError::WrongMasterKey { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("wrong master key:"), "{message}");
    assert!(
        message.contains(&right.active_key_id().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&wrong.active_key_id().to_string()),
        "{message}"
    );
    assert!(message.contains("TOOLPORT_MASTER_KEY"), "{message}");

    // A tampered check fails even with the right key.
    let tampered = flip_last_byte(&check);
    assert!(matches!(
        right.verify(&tampered),
        Err(VaultError::KeyCheckFailed { .. })
    ));
    // A secret is not a key check, and a key check is not a secret.
    let secret = right
        .seal("t", "n", b"toolport-vault key check v1")
        .unwrap();
    assert!(right.verify(&secret).is_err());
    assert!(right.open("t", "n", &check).is_err());
}

#[test]
fn parse_errors_reach_the_caller_as_vault_errors() {
    let err: VaultError = "hunter2".parse::<Sealed>().unwrap_err().into();
    assert!(matches!(
        err,
        VaultError::Format(FormatError::MissingPrefix)
    ));
    assert_eq!(
        err.to_string(),
        "not a Toolport sealed value: it does not start with `tpv1:`"
    );
}

#[test]
fn shared_types_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Vault>();
    shared::<toolport_vault::SecretCache>();
    shared::<toolport_vault::SecretBytes>();
    shared::<Sealed>();
    shared::<MasterKey>();
}
