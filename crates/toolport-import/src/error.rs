//! Why a whole document was refused: the typed error of `convert` (per-operation problems are diagnostics instead).

use thiserror::Error;

/// A document that cannot be converted at all. Every message says what went wrong, where, and how to fix it.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The bytes are not UTF-8.
    #[error(
        "the document is not valid UTF-8: invalid byte 0x{byte:02x} at byte offset {offset}; re-save the file as UTF-8 (for example `iconv -f ISO-8859-2 -t UTF-8`)"
    )]
    InvalidUtf8 { offset: usize, byte: u8 },
    /// The document is empty or only whitespace.
    #[error("the document is empty; pass an OpenAPI, Swagger, Postman or GraphQL description")]
    Empty,
    /// JSON syntax error.
    #[error(
        "invalid JSON at line {line}, column {column}: {message}; fix the syntax (a JSON linter shows the exact spot)"
    )]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// YAML syntax error.
    #[error(
        "invalid YAML at line {line}, column {column}: {message}; fix the indentation or quoting there"
    )]
    InvalidYaml {
        line: usize,
        column: usize,
        message: String,
    },
    /// GraphQL SDL syntax error.
    #[error(
        "invalid GraphQL SDL: {message}; fix the schema text or pass an introspection result instead"
    )]
    InvalidGraphQl { message: String },
    /// Nothing recognisable.
    #[error(
        "not a recognised API description ({found}); expected an OpenAPI 3.x document (`openapi: 3.x`), Swagger 2.0 (`swagger: \"2.0\"`), a Postman v2.0/v2.1 collection (`info` + `item`), or GraphQL (introspection JSON or SDL); pass `--format` to force one"
    )]
    UnknownFormat { found: String },
    /// Recognised but in a version this converter does not read.
    #[error("unsupported {format} version `{version}`: {hint}")]
    UnsupportedVersion {
        format: &'static str,
        version: String,
        hint: &'static str,
    },
    /// Structurally wrong where the whole document depends on it.
    #[error("invalid {format} document at `{pointer}`: {message}")]
    Invalid {
        format: &'static str,
        pointer: String,
        message: String,
    },
    /// An include/exclude filter could not be compiled.
    #[error("invalid path glob `{glob}` in the include/exclude filter: {message}")]
    InvalidGlob { glob: String, message: String },
}

impl ImportError {
    pub(crate) fn invalid(
        format: &'static str,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ImportError::Invalid {
            format,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}
