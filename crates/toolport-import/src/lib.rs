//! Toolport's importer: API descriptions (OpenAPI 3.0/3.1/3.2, Swagger 2.0, Postman v2.0/v2.1, GraphQL)
//! become MCP tool definitions, execution plans and diagnostics. Bytes in, tools out: no I/O.
//!
//! # Layout
//! - [`convert`] is the entry point; [`render_json`] prints what `toolport convert --json` shows.
//! - `decode` (bytes to JSON value, UTF-8/JSON/YAML errors) and `detect` (which format); `path_items`
//!   keeps a JSON document's path items as raw text until each is converted.
//! - `openapi/` (OpenAPI 3.x: operations, bodies, servers, security) with `swagger` upgrading Swagger 2.0 into it.
//! - `postman` and `graphql/` for the other formats.
//! - `schema/`: the `$ref` document set (external files through a [`DocumentLoader`]) and the builder
//!   producing self-contained JSON Schema 2020-12 (`$defs` for cycles).
//! - `collect` (naming, filtering, tools-or-diagnostics bookkeeping; identical schema texts stored once
//!   through `shared_texts`), `naming`, `filter`.
//! - `model`: the public data (tools, [`ExecutionPlan`], diagnostics, options).
//! - `modes/`: dispatch and search meta-tools and the pure functions answering them.

mod collect;
mod decode;
mod detect;
mod error;
mod filter;
mod graphql;
mod loader;
mod model;
pub mod modes;
mod naming;
mod openapi;
mod path_items;
mod postman;
mod render;
mod schema;
mod shared_texts;
mod swagger;

pub use error::ImportError;
pub use filter::{Filter, Selector};
pub use loader::{DocumentLoader, LoadError, RefuseLoader, resolve_location};
pub use model::*;
pub use naming::is_valid_tool_name;
pub use render::{exposed_tools, render_json};

use collect::Collector;
use detect::Parsed;
use filter::CompiledFilter;

/// Converts one API description.
///
/// Fails only when the document as a whole cannot be read (encoding, syntax, unknown format, bad filter);
/// operations that cannot become tools are listed in [`Conversion::diagnostics`].
pub fn convert(
    input: &[u8],
    options: &ConvertOptions,
    loader: &dyn DocumentLoader,
) -> Result<Conversion, ImportError> {
    let text = decode::text(input)?;
    let filter = CompiledFilter::new(&options.filter)?;
    let mut out = Collector::new(&filter);
    let (format, title) = match detect::parse(text, options.format, &options.source)? {
        Parsed::Sdl(sdl) => (Format::Graphql, graphql::convert_sdl(&sdl, &mut out)?),
        Parsed::Structured(format, value, paths) => {
            let title = match format {
                Format::OpenApi => {
                    check_openapi_version(&value)?;
                    openapi::convert(value, paths, format, &options.source, loader, &mut out)?
                }
                Format::Swagger => openapi::convert(
                    swagger::upgrade(value),
                    paths,
                    format,
                    &options.source,
                    loader,
                    &mut out,
                )?,
                Format::Postman => postman::convert(&value, &options.variables, &mut out)?,
                Format::Graphql => graphql::convert_introspection(&value, &mut out)?,
            };
            (format, title)
        }
    };
    let mode = options
        .mode
        .unwrap_or(if out.operation_count >= options.dispatch_threshold {
            Mode::Dispatch
        } else {
            Mode::Tools
        });
    Ok(Conversion {
        format,
        title,
        api_name: options.api_name.clone(),
        mode,
        operation_count: out.operation_count,
        tools: out.tools,
        diagnostics: out.diagnostics,
    })
}

fn check_openapi_version(v: &serde_json::Value) -> Result<(), ImportError> {
    match v.get("openapi") {
        Some(serde_json::Value::String(s)) if s.trim().starts_with("3.") => Ok(()),
        Some(other) => Err(ImportError::UnsupportedVersion {
            format: "OpenAPI",
            version: other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string),
            hint: "OpenAPI 3.0, 3.1 and 3.2 are supported (the version must be a string such as \"3.0.3\")",
        }),
        None => Err(ImportError::invalid(
            "OpenAPI",
            "/openapi",
            "the `openapi` version field is missing",
        )),
    }
}
