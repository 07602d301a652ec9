//! Runs the MCP conformance suite's server scenarios against the fixture's Streamable HTTP
//! transport and requires every scenario to pass.
//!
//! Opt-in, because it needs Node and the npm package:
//! - `TOOLPORT_CONFORMANCE_BIN`: the conformance CLI, either its `node_modules/.bin/conformance`
//!   path (its directory is put first on `PATH`, so a `node` installed there is used) or a
//!   command line such as `/path/node /path/conformance/dist/index.js`.
//! - `TOOLPORT_CONFORMANCE_RUNS` (optional): `;`-separated extra arguments, one run each, e.g.
//!   `--suite active;--suite draft;--spec-version 2026-07-28` (the 2026-07-28 scenarios need
//!   the 0.2 pre-release of the package). Default: one run of the active suite.
//!
//! Without `TOOLPORT_CONFORMANCE_BIN` the test writes `SKIPPED ...` to stderr (uncaptured) and
//! passes.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use toolport_testkit::spawn_http;

/// One line of the suite's summary: `✓ name: 3 passed, 0 failed`.
fn parse_summary(stdout: &str) -> Vec<(String, u32, u32)> {
    stdout
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("✓ ")
                .or_else(|| line.strip_prefix("✗ "))?;
            let (name, counts) = rest.split_once(": ")?;
            let (passed, failed) = counts.split_once(" passed, ")?;
            Some((
                name.to_owned(),
                passed.trim().parse().ok()?,
                failed.trim_end_matches(" failed").trim().parse().ok()?,
            ))
        })
        .collect()
}

/// The result line of a single-scenario run: `Passed: 3/3, 0 failed, 0 warnings`.
fn parse_single(stdout: &str) -> Option<(u32, u32)> {
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Passed: "))?;
    let (passed, rest) = line.split_once('/')?;
    let failed = rest.split(", ").nth(1)?.strip_suffix(" failed")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

#[tokio::test]
async fn conformance_server_scenarios_pass() {
    let Ok(cli) = std::env::var("TOOLPORT_CONFORMANCE_BIN") else {
        // Written to the real stderr (not the captured `eprintln!` stream) so that the skip
        // shows up in every `cargo test` run, not only with `--nocapture`.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED conformance_server_scenarios_pass: TOOLPORT_CONFORMANCE_BIN is unset \
             (set it to the conformance CLI, e.g. node_modules/.bin/conformance)"
        );
        return;
    };
    let runs = std::env::var("TOOLPORT_CONFORMANCE_RUNS").unwrap_or_default();
    let mut words = cli.split_whitespace();
    let program = words.next().expect("TOOLPORT_CONFORMANCE_BIN is empty");
    let prefix: Vec<&str> = words.collect();
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = Path::new(program).parent().filter(|d| d.is_dir()) {
        let mut dirs = vec![dir.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).expect("PATH entries are joinable");
    }
    let fixture = spawn_http(&[]).await.expect("fixture starts");
    let mut failures = Vec::new();
    for run in runs.split(';') {
        let extra: Vec<&str> = run.split_whitespace().collect();
        let output = tokio::time::timeout(
            Duration::from_secs(900),
            tokio::process::Command::new(program)
                .args(&prefix)
                .args(["server", "--url", fixture.url()])
                .args(&extra)
                .env("PATH", &path)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("the conformance run finishes within 15 minutes")
        .expect("the conformance CLI starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut summary = parse_summary(&stdout);
        if summary.is_empty()
            && let Some(name) = extra
                .iter()
                .position(|a| *a == "--scenario")
                .and_then(|i| extra.get(i + 1))
            && let Some((passed, failed)) = parse_single(&stdout)
        {
            summary.push(((*name).to_owned(), passed, failed));
        }
        eprintln!(
            "conformance server --url {} {}",
            fixture.url(),
            extra.join(" ")
        );
        eprintln!("| scenario | passed | failed |\n| --- | --- | --- |");
        for (name, passed, failed) in &summary {
            eprintln!("| {name} | {passed} | {failed} |");
        }
        if summary.is_empty() || !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail = |text: &str| text.lines().rev().take(15).collect::<Vec<_>>().join(" / ");
            failures.push(format!(
                "run `{run}` exited with {} (stdout tail: {}; stderr tail: {})",
                output.status,
                tail(&stdout),
                tail(&stderr)
            ));
        }
        failures.extend(
            summary
                .iter()
                .filter(|(_, _, failed)| *failed > 0)
                .map(|(name, _, failed)| {
                    format!("{name}: {failed} failed check(s) in run `{run}`")
                }),
        );
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn summary_lines_are_parsed() {
    let parsed = parse_summary(
        "x\n✓ ping: 2 passed, 0 failed\n✗ caching: 1 passed, 5 failed\nTotal: 3 passed, 5 failed",
    );
    assert_eq!(
        parsed,
        vec![("ping".into(), 2, 0), ("caching".into(), 1, 5)]
    );
    assert_eq!(
        parse_single("Checks:\nPassed: 5/8, 3 failed, 0 warnings\n"),
        Some((5, 3))
    );
}
