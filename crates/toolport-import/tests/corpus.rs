//! Every real API description of the shared corpus converts without panic, keeps the invariants
//! (accounting, names, valid JSON Schema 2020-12, serialisable plans), and bad inputs are refused clearly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{FsLoader, check, files_under, specs_dir};
use toolport_import::{ConvertOptions, ImportError, RefuseLoader, convert};

/// Files in the main folders that are not API descriptions (or a version we refuse), with the error expected.
const EXPECTED_REFUSALS: [(&str, &str); 2] = [
    (
        "postman/crate-postman_collection/swagger-petstore-v1.0.0.json",
        "Postman v1 collections are not supported",
    ),
    (
        "postman/postman-collection-v2.1.0.schema.json",
        "not a recognised API description",
    ),
];

fn options_for(path: &Path) -> ConvertOptions {
    ConvertOptions {
        source: path.to_string_lossy().into_owned(),
        ..ConvertOptions::default()
    }
}

/// Operation counts from MANIFEST.tsv (`N ops`, `N req`, `Qa/Mb`), by relative path.
fn manifest_counts(dir: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(file), Some(counts)) = (cols.first(), cols.get(5)) else {
            continue;
        };
        let first = counts.split(',').next().unwrap_or("").trim();
        let n = if let Some(n) = first
            .strip_suffix(" ops")
            .or(first.strip_suffix(" req / 0 folders"))
        {
            n.parse().ok()
        } else if let Some((n, _)) = first.split_once(" req") {
            n.parse().ok()
        } else if let Some(qm) = first.split("; ").nth(1) {
            let nums: Vec<usize> = qm
                .split('/')
                .filter_map(|p| p.trim_start_matches(['Q', 'M']).parse().ok())
                .collect();
            (nums.len() == 2).then(|| nums.iter().sum())
        } else {
            None
        };
        if let Some(n) = n {
            out.insert(file.to_string(), n);
        }
    }
    out
}

#[test]
fn every_main_corpus_document_converts_and_keeps_invariants() {
    let dir = specs_dir();
    let counts = manifest_counts(&dir);
    let mut converted = 0;
    let mut failures = Vec::new();
    for folder in ["openapi", "swagger2", "postman", "graphql"] {
        for path in files_under(&dir.join(folder)) {
            let rel = path
                .strip_prefix(&dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).unwrap_or_default();
            let result = convert(&bytes, &options_for(&path), &FsLoader);
            if let Some((_, expected)) = EXPECTED_REFUSALS.iter().find(|(f, _)| *f == rel) {
                match result {
                    Err(e) if e.to_string().contains(expected) => {}
                    other => failures.push(format!(
                        "{rel}: expected a refusal containing `{expected}`, got {:?}",
                        other.map(|c| c.tools.len())
                    )),
                }
                continue;
            }
            match result {
                Ok(conv) => {
                    if let Err(e) = check(&conv) {
                        failures.push(format!("{rel}: {e}"));
                    }
                    // MANIFEST counts only inline path items; petstore 3.2 has a third operation behind a `$ref`'d path item.
                    let expected = if rel == "openapi/petstore.3.2.0.yaml" {
                        Some(&3)
                    } else {
                        counts.get(&rel)
                    };
                    if let Some(n) = expected
                        && *n != conv.operation_count
                    {
                        failures.push(format!(
                            "{rel}: MANIFEST says {n} operations, converter found {}",
                            conv.operation_count
                        ));
                    }
                    converted += 1;
                }
                Err(e) => failures.push(format!("{rel}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(converted >= 55, "only {converted} documents converted");
}

#[test]
fn known_bad_files_are_refused_clearly() {
    let dir = specs_dir().join("tricky");
    for name in ["complex_reference", "subclass_enum", "not"] {
        let path = dir.join(format!("datamodel-code-generator-openapi/{name}.json"));
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.is_empty(), "{} missing", path.display());
        match convert(&bytes, &options_for(&path), &RefuseLoader) {
            Err(e @ ImportError::InvalidJson { .. }) => {
                assert!(e.to_string().contains("line "), "{e}")
            }
            other => panic!(
                "{name}.json: expected invalid JSON, got {:?}",
                other.map(|c| c.tools.len())
            ),
        }
    }
    let latin2 = std::fs::read(dir.join("prance-specs/issue_51/openapi-part-iso-8859-2.yaml"))
        .unwrap_or_default();
    match convert(&latin2, &ConvertOptions::default(), &RefuseLoader) {
        Err(e @ ImportError::InvalidUtf8 { .. }) => {
            assert!(e.to_string().contains("byte offset"), "{e}")
        }
        other => panic!(
            "Latin-2 file: expected invalid UTF-8, got {:?}",
            other.map(|c| c.tools.len())
        ),
    }
    let bom = std::fs::read(dir.join("prance-specs/utf8bom.yaml")).unwrap_or_default();
    assert!(
        bom.starts_with(&[0xEF, 0xBB, 0xBF]),
        "utf8bom.yaml should start with a BOM"
    );
    // The file is a YAML fragment (`some: "Söme välüe"`), not an API description: once the BOM is
    // stripped it parses, and the refusal names its key without a BOM in front.
    match convert(&bom, &ConvertOptions::default(), &RefuseLoader) {
        Err(e @ ImportError::UnknownFormat { .. }) => {
            assert!(e.to_string().contains("(top-level keys: some)"), "{e}")
        }
        other => panic!(
            "utf8bom.yaml: expected the BOM to be skipped, got {:?}",
            other.map(|c| c.tools.len())
        ),
    }
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend_from_slice(b"openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n");
    let conv = convert(&with_bom, &ConvertOptions::default(), &RefuseLoader);
    assert_eq!(
        conv.map(|c| c.tools.len()).ok(),
        Some(1),
        "UTF-8 with BOM must be accepted"
    );
}

#[test]
fn tricky_documents_never_panic_and_valid_ones_keep_invariants() {
    let dir = specs_dir().join("tricky");
    let mut converted = 0;
    let mut refused = 0;
    let mut failures = Vec::new();
    for path in files_under(&dir) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "json" | "yaml" | "yml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        match convert(&bytes, &options_for(&path), &FsLoader) {
            Ok(conv) => {
                converted += 1;
                if let Err(e) = check(&conv) {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                if msg.len() < 30 {
                    failures.push(format!("{}: unclear error `{msg}`", path.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        converted > 300,
        "only {converted} tricky documents converted ({refused} refused)"
    );
}
