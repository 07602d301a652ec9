//! JSON Schema handling: the document set that `$ref`s point into, and the builder that turns
//! OpenAPI/Swagger schemas into self-contained JSON Schema 2020-12.

pub mod build;
pub mod docs;
pub mod keywords;

pub use build::{Direction, SchemaBuilder};
pub use docs::{DocId, Documents};
