//! `toolport-fixture`: the MCP fixture server binary; everything lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = toolport_testkit::Args::parse();
    match toolport_testkit::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toolport-fixture: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
