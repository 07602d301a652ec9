//! `toolport-bench`: the gateway benchmark of issue 2 (direct vs through `toolport serve`, in one
//! run); everything lives in `toolport_testkit::bench`.

use std::time::Duration;

use clap::Parser;
use toolport_testkit::bench::{self, Options};

/// Measures Toolport against the fixture backend called directly. Expects release binaries
/// `toolport` and `toolport-fixture` next to this one (or TOOLPORT_BIN / TOOLPORT_FIXTURE_BIN).
#[derive(Debug, Parser)]
#[command(name = "toolport-bench", version)]
struct Cli {
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Concurrent sessions in the throughput runs.
    #[arg(long, default_value_t = 64)]
    sessions: usize,
    /// Sequential calls in each one-session latency run.
    #[arg(long, default_value_t = 10_000)]
    calls: usize,
    /// Unmeasured calls before each latency run.
    #[arg(long, default_value_t = 1_000)]
    warmup: usize,
    /// Idle sessions opened for the memory reading.
    #[arg(long, default_value_t = 1_000)]
    idle_sessions: usize,
    /// Cold starts to time.
    #[arg(long, default_value_t = 10)]
    cold_runs: usize,
    /// Rounds alternating direct and gateway; `--calls` and `--duration` are split among them.
    #[arg(long, default_value_t = 4)]
    rounds: usize,
    /// Skip the stdio-backend variant.
    #[arg(long)]
    no_stdio: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let options = Options {
        duration: Duration::from_secs_f64(cli.duration.clamp(0.1, 3600.0)),
        sessions: cli.sessions.max(1),
        calls: cli.calls.max(1),
        warmup: cli.warmup,
        idle_sessions: cli.idle_sessions.max(1),
        cold_runs: cli.cold_runs.max(1),
        stdio: !cli.no_stdio,
        rounds: cli.rounds.clamp(1, 1000),
    };
    match bench::run(&options).await {
        Ok(report) => {
            #[allow(clippy::print_stdout)]
            if cli.json {
                println!("{:#}", report.json());
            } else {
                print!("{}", report.text());
            }
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("toolport-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
