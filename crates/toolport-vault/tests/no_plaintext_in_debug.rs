//! No type of this crate prints a secret or a key: every value a caller can hold is formatted with
//! `{:?}` (and `{}` where it exists) after touching a known plaintext and a known key, and the
//! output is searched for both in every encoding they could appear in.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use toolport_vault::{
    CacheConfig, KeyOrigin, ManualClock, MasterKey, Sealed, SecretBytes, SecretCache, Vault,
};

const PLAINTEXT: &str = "PLAINTEXT-CANARY-ghp_0123456789";
const KEY: [u8; 32] = [0x5a; 32];

fn forbidden() -> Vec<String> {
    let mut needles = vec![
        PLAINTEXT.to_owned(),
        "CANARY".to_owned(),
        STANDARD.encode(KEY),
        STANDARD_NO_PAD.encode(KEY),
        URL_SAFE_NO_PAD.encode(KEY),
        "5a5a5a5a".to_owned(),
        STANDARD.encode(PLAINTEXT),
    ];
    needles.push(format!("{:?}", PLAINTEXT.as_bytes()));
    needles.push(format!("{:?}", &KEY[..]));
    needles.push("90, 90, 90".to_owned()); // KEY as decimal bytes
    needles
}

fn check(what: &str, text: String) {
    for needle in forbidden() {
        assert!(!text.contains(&needle), "{what} printed {needle:?}: {text}");
    }
}

#[test]
fn nothing_prints_a_secret_or_a_key() {
    let key = MasterKey::from_bytes(KEY);
    check("MasterKey", format!("{key:?} {key:#?}"));
    check("KeyId", format!("{0:?} {0}", key.id()));
    check("KeyOrigin", format!("{:?}", KeyOrigin::Created));

    let vault = Vault::with_previous_keys(key, [MasterKey::from_bytes([1; 32])]);
    check("Vault", format!("{vault:?} {vault:#?}"));

    let sealed = vault.seal("tenant", "name", PLAINTEXT.as_bytes()).unwrap();
    check("Sealed", format!("{sealed:?} {sealed} {sealed:#?}"));
    check("Sealed json", serde_json::to_string(&sealed).unwrap());

    let opened = vault.open("tenant", "name", &sealed).unwrap();
    assert_eq!(opened.expose_str().unwrap(), PLAINTEXT);
    check("SecretBytes", format!("{opened:?} {opened} {opened:#?}"));
    check(
        "SecretBytes from String",
        format!("{:?}", SecretBytes::from(PLAINTEXT.to_owned())),
    );

    let cache = SecretCache::with_clock(
        CacheConfig {
            ttl: Duration::from_secs(60),
            capacity: 4,
        },
        Arc::new(ManualClock::new()),
    );
    cache.open(&vault, "tenant", "name", &sealed).unwrap();
    check("SecretCache", format!("{cache:?} {cache:#?}"));

    // Errors, both forms.
    let wrong = Vault::new(MasterKey::from_bytes([2; 32]));
    let errors = [
        wrong.open("tenant", "name", &sealed).unwrap_err(),
        vault.open("other", "name", &sealed).unwrap_err(),
        wrong.verify(&vault.key_check().unwrap()).unwrap_err(),
        vault.verify(&sealed).unwrap_err(),
        Sealed::parse(PLAINTEXT).unwrap_err().into(),
        Sealed::parse(&format!("tpv1:0000000000000000:{PLAINTEXT}"))
            .unwrap_err()
            .into(),
    ];
    for err in errors {
        check("VaultError", format!("{err:?} {err}"));
    }
    let env_error = MasterKey::from_env_value(PLAINTEXT).unwrap_err();
    check("KeyError", format!("{env_error:?} {env_error}"));
    let short_key = MasterKey::from_env_value(&STANDARD.encode(&KEY[..31])).unwrap_err();
    check("KeyError", format!("{short_key:?} {short_key}"));
}
