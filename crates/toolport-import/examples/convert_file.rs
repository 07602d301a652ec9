//! Converts one file and prints the `--json` output (a development aid: `cargo run --example convert_file -- FILE [MODE]`).

#![allow(clippy::print_stdout)]

use toolport_import::{ConvertOptions, RefuseLoader, convert, render_json};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: convert_file FILE [tools|dispatch|search]");
        std::process::exit(2);
    };
    let mode = args.next().and_then(|m| m.parse().ok());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let options = ConvertOptions {
        source: path.clone(),
        mode,
        ..ConvertOptions::default()
    };
    match convert(&bytes, &options, &RefuseLoader) {
        Ok(conv) => println!(
            "{}",
            serde_json::to_string_pretty(&render_json(&conv)).unwrap_or_default()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
