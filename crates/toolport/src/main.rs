//! The `toolport` binary: parses the command line, sets up logging, and runs the chosen command.

mod admin_cli;
mod call;
mod cli;
mod config;
mod convert;
mod endpoints;
mod metering;
mod registrations;
mod rotation;
mod run;
mod secrets;
mod tenancy;
mod user_credentials;

use clap::Parser;

/// Every call allocates on one thread and frees on another (request tasks, the batched usage and
/// audit writers): glibc's allocator spends a tenth of the gateway's CPU on that, mimalloc far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    // `toolport call` prints JSON for people and scripts: only errors unless RUST_LOG asks.
    init_logging(if matches!(cli.command, cli::Command::Call(_)) {
        "error"
    } else {
        "info"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("toolport: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A reader that went away (`toolport convert … | head`) is not an error.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("toolport: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout belongs to the stdio transport), filtered by `RUST_LOG` or else
/// `default`.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
