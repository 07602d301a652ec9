//! `toolport convert`: shows the tools an API description yields (or why it cannot), without
//! running a gateway. Uses the same loader and importer as the gateway.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use toolport_import::{Format, Mode};
use toolport_upstream::api::{ApiConfig, SafeClient, SpecSource, SsrfPolicy, load_conversion};

pub struct ConvertArgs {
    pub source: String,
    pub format: Option<Format>,
    pub mode: Option<Mode>,
    pub json: bool,
    pub name: Option<String>,
    pub allow_hosts: Vec<String>,
}

pub async fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let name = args.name.clone().unwrap_or_else(|| api_name(&args.source));
    let mut config = ApiConfig::new(SpecSource::Location(args.source.clone()));
    config.format = args.format;
    config.mode = args.mode;
    let client = SafeClient::new(Arc::new(SsrfPolicy::new(args.allow_hosts.clone())))
        .context("cannot build the HTTP client")?;
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("converting {}", args.source));
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let conversion = load_conversion(&name, &config, &client).await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let conversion = conversion?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &toolport_import::render_json(&conversion))?;
        writeln!(out)?;
        return Ok(());
    }
    let tools = toolport_import::exposed_tools(&conversion);
    writeln!(
        out,
        "{} ({}): {} operations, {} tools in {} mode, {} diagnostics",
        conversion.title.as_deref().unwrap_or(&name),
        conversion.format.as_str(),
        conversion.operation_count,
        tools.len(),
        format!("{:?}", conversion.mode).to_lowercase(),
        conversion.diagnostics.len()
    )?;
    for tool in &tools {
        let summary = tool
            .title
            .as_deref()
            .or(tool.description.as_deref())
            .unwrap_or("");
        let summary: String = summary
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        writeln!(out, "  {:<64} {summary}", tool.name)?;
    }
    for d in &conversion.diagnostics {
        writeln!(
            out,
            "  ! {:?} {} ({}): {}",
            d.kind, d.operation, d.pointer, d.message
        )?;
    }
    Ok(())
}

/// A default API name from the file or URL: its stem, sanitised.
fn api_name(source: &str) -> String {
    let stem = source
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(source)
        .split('.')
        .next()
        .unwrap_or("api");
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() { "api".into() } else { name }
}
