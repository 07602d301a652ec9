//! GraphQL: every Query and Mutation field becomes a tool. The schema comes from an introspection
//! result (with or without `data`) or SDL text; both are read into one small model first.

mod parse;
mod tools;

use std::collections::HashMap;

use serde_json::Value;

use crate::collect::Collector;
use crate::error::ImportError;

/// The kinds of named GraphQL types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

/// A reference to a type as used by a field or argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    /// The innermost named type.
    pub fn named(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(t) | TypeRef::NonNull(t) => t.named(),
        }
    }

    pub fn is_non_null(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }

    /// As written in GraphQL (`[String!]!`).
    pub fn render(&self) -> String {
        match self {
            TypeRef::Named(n) => n.clone(),
            TypeRef::List(t) => format!("[{}]", t.render()),
            TypeRef::NonNull(t) => format!("{}!", t.render()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct InputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: TypeRef,
    pub has_default: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<InputValue>,
    pub ty: TypeRef,
    pub deprecated: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct TypeDef {
    pub kind: Kind,
    pub description: Option<String>,
    pub fields: Vec<Field>,
    pub input_fields: Vec<InputValue>,
    pub enum_values: Vec<String>,
    pub possible_types: Vec<String>,
}

/// The parts of a GraphQL schema the converter uses.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    pub types: HashMap<String, TypeDef>,
    pub query: Option<String>,
    pub mutation: Option<String>,
}

impl Schema {
    /// The kind of a named type; the built-in scalars count even when not declared.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        match self.types.get(name) {
            Some(t) => Some(t.kind),
            None if matches!(name, "Int" | "Float" | "String" | "Boolean" | "ID") => {
                Some(Kind::Scalar)
            }
            None => None,
        }
    }
}

/// Converts an introspection result.
pub(crate) fn convert_introspection(
    root: &Value,
    out: &mut Collector<'_>,
) -> Result<Option<String>, ImportError> {
    let schema = parse::introspection(root)?;
    tools::convert(&schema, out);
    Ok(None)
}

/// Converts SDL text.
pub(crate) fn convert_sdl(
    text: &str,
    out: &mut Collector<'_>,
) -> Result<Option<String>, ImportError> {
    let schema = parse::sdl(text)?;
    tools::convert(&schema, out);
    Ok(None)
}
