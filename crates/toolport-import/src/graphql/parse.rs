//! Reads a GraphQL schema into the converter's model, from introspection JSON or from SDL text.

use serde_json::Value;

use super::{Field, InputValue, Kind, Schema, TypeDef, TypeRef};
use crate::error::ImportError;

/// `{"__schema": ...}` or `{"data": {"__schema": ...}}`.
pub(crate) fn introspection(root: &Value) -> Result<Schema, ImportError> {
    let s = root
        .get("__schema")
        .or_else(|| root.pointer("/data/__schema"))
        .ok_or_else(|| {
            ImportError::invalid(
                "GraphQL introspection",
                "/__schema",
                "no `__schema` object (nor `data.__schema`)",
            )
        })?;
    let types = s.get("types").and_then(Value::as_array).ok_or_else(|| {
        ImportError::invalid(
            "GraphQL introspection",
            "/__schema/types",
            "`types` must be an array",
        )
    })?;
    let mut schema = Schema {
        query: s
            .pointer("/queryType/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        mutation: s
            .pointer("/mutationType/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Schema::default()
    };
    for t in types {
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            continue;
        };
        let kind = match t.get("kind").and_then(Value::as_str) {
            Some("SCALAR") => Kind::Scalar,
            Some("OBJECT") => Kind::Object,
            Some("INTERFACE") => Kind::Interface,
            Some("UNION") => Kind::Union,
            Some("ENUM") => Kind::Enum,
            Some("INPUT_OBJECT") => Kind::InputObject,
            _ => continue,
        };
        let fields = t
            .get("fields")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| {
                        Some(Field {
                            name: f.get("name")?.as_str()?.to_string(),
                            description: text(f.get("description")),
                            args: input_values(f.get("args")),
                            ty: type_ref(f.get("type")?, 0)?,
                            deprecated: (f.get("isDeprecated").and_then(Value::as_bool)
                                == Some(true))
                            .then(|| text(f.get("deprecationReason")).unwrap_or_default()),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names = |k: &str| -> Vec<String> {
            t.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.get("name")?.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        schema.types.insert(
            name.to_string(),
            TypeDef {
                kind,
                description: text(t.get("description")),
                fields,
                input_fields: input_values(t.get("inputFields")),
                enum_values: names("enumValues"),
                possible_types: names("possibleTypes"),
            },
        );
    }
    Ok(schema)
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

fn input_values(v: Option<&Value>) -> Vec<InputValue> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|iv| {
                    Some(InputValue {
                        name: iv.get("name")?.as_str()?.to_string(),
                        description: text(iv.get("description")),
                        ty: type_ref(iv.get("type")?, 0)?,
                        has_default: iv.get("defaultValue").is_some_and(|d| !d.is_null()),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn type_ref(v: &Value, depth: usize) -> Option<TypeRef> {
    if depth > 16 {
        return None;
    }
    match v.get("kind")?.as_str()? {
        "NON_NULL" => Some(TypeRef::NonNull(Box::new(type_ref(
            v.get("ofType")?,
            depth + 1,
        )?))),
        "LIST" => Some(TypeRef::List(Box::new(type_ref(
            v.get("ofType")?,
            depth + 1,
        )?))),
        _ => Some(TypeRef::Named(v.get("name")?.as_str()?.to_string())),
    }
}

/// Parses SDL text (type extensions merged into their types).
pub(crate) fn sdl(text: &str) -> Result<Schema, ImportError> {
    use graphql_parser::schema::{Definition, TypeDefinition, TypeExtension};
    let doc =
        graphql_parser::parse_schema::<String>(text).map_err(|e| ImportError::InvalidGraphQl {
            message: e.to_string().trim().to_string(),
        })?;
    let mut schema = Schema::default();
    let mut saw_schema = false;
    for def in doc.definitions {
        match def {
            Definition::SchemaDefinition(s) => {
                saw_schema = true;
                schema.query = s.query;
                schema.mutation = s.mutation;
            }
            Definition::TypeDefinition(td) => {
                let (name, def) = match td {
                    TypeDefinition::Scalar(s) => (s.name, typedef(Kind::Scalar, s.description)),
                    TypeDefinition::Object(o) => (
                        o.name,
                        TypeDef {
                            fields: o.fields.into_iter().map(field).collect(),
                            ..typedef(Kind::Object, o.description)
                        },
                    ),
                    TypeDefinition::Interface(i) => (
                        i.name,
                        TypeDef {
                            fields: i.fields.into_iter().map(field).collect(),
                            ..typedef(Kind::Interface, i.description)
                        },
                    ),
                    TypeDefinition::Union(u) => (
                        u.name,
                        TypeDef {
                            possible_types: u.types,
                            ..typedef(Kind::Union, u.description)
                        },
                    ),
                    TypeDefinition::Enum(e) => (
                        e.name,
                        TypeDef {
                            enum_values: e.values.into_iter().map(|v| v.name).collect(),
                            ..typedef(Kind::Enum, e.description)
                        },
                    ),
                    TypeDefinition::InputObject(i) => (
                        i.name,
                        TypeDef {
                            input_fields: i.fields.into_iter().map(input_value).collect(),
                            ..typedef(Kind::InputObject, i.description)
                        },
                    ),
                };
                schema.types.insert(name, def);
            }
            Definition::TypeExtension(ext) => match ext {
                TypeExtension::Object(o) => extend(&mut schema, o.name, Kind::Object)
                    .fields
                    .extend(o.fields.into_iter().map(field)),
                TypeExtension::Interface(i) => extend(&mut schema, i.name, Kind::Interface)
                    .fields
                    .extend(i.fields.into_iter().map(field)),
                TypeExtension::Union(u) => extend(&mut schema, u.name, Kind::Union)
                    .possible_types
                    .extend(u.types),
                TypeExtension::Enum(e) => extend(&mut schema, e.name, Kind::Enum)
                    .enum_values
                    .extend(e.values.into_iter().map(|v| v.name)),
                TypeExtension::InputObject(i) => extend(&mut schema, i.name, Kind::InputObject)
                    .input_fields
                    .extend(i.fields.into_iter().map(input_value)),
                TypeExtension::Scalar(_) => {}
            },
            Definition::DirectiveDefinition(_) => {}
        }
    }
    if !saw_schema {
        schema.query = schema
            .types
            .contains_key("Query")
            .then(|| "Query".to_string());
        schema.mutation = schema
            .types
            .contains_key("Mutation")
            .then(|| "Mutation".to_string());
    }
    Ok(schema)
}

fn typedef(kind: Kind, description: Option<String>) -> TypeDef {
    TypeDef {
        kind,
        description,
        fields: Vec::new(),
        input_fields: Vec::new(),
        enum_values: Vec::new(),
        possible_types: Vec::new(),
    }
}

fn extend(schema: &mut Schema, name: String, kind: Kind) -> &mut TypeDef {
    schema
        .types
        .entry(name)
        .or_insert_with(|| typedef(kind, None))
}

fn sdl_type(t: graphql_parser::schema::Type<'_, String>) -> TypeRef {
    use graphql_parser::schema::Type;
    match t {
        Type::NamedType(n) => TypeRef::Named(n),
        Type::ListType(t) => TypeRef::List(Box::new(sdl_type(*t))),
        Type::NonNullType(t) => TypeRef::NonNull(Box::new(sdl_type(*t))),
    }
}

fn field(f: graphql_parser::schema::Field<'_, String>) -> Field {
    let deprecated = f
        .directives
        .iter()
        .find(|d| d.name == "deprecated")
        .map(|d| {
            d.arguments
                .iter()
                .find(|(k, _)| k == "reason")
                .and_then(|(_, v)| match v {
                    graphql_parser::schema::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default()
        });
    Field {
        name: f.name,
        description: f.description,
        args: f.arguments.into_iter().map(input_value).collect(),
        ty: sdl_type(f.field_type),
        deprecated,
    }
}

fn input_value(v: graphql_parser::schema::InputValue<'_, String>) -> InputValue {
    InputValue {
        name: v.name,
        description: v.description,
        ty: sdl_type(v.value_type),
        has_default: v.default_value.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdl_and_introspection_agree_on_shape() {
        let s = sdl("type Query { user(id: ID!): User }\ntype User { id: ID! name: String }\nextend type Query { me: User }").ok();
        let s = s.as_ref();
        assert_eq!(s.and_then(|s| s.query.clone()).as_deref(), Some("Query"));
        assert_eq!(s.map(|s| s.types["Query"].fields.len()), Some(2));
        let i = introspection(&json!({"data": {"__schema": {"queryType": {"name": "Q"}, "types": [
            {"kind": "OBJECT", "name": "Q", "fields": [{"name": "x", "args": [], "type": {"kind": "NON_NULL", "name": null, "ofType": {"kind": "SCALAR", "name": "Int"}}}]}
        ]}}}))
        .ok();
        assert_eq!(
            i.map(|s| s.types["Q"].fields[0].ty.render()),
            Some("Int!".to_string())
        );
        assert!(sdl("type Query {").is_err());
    }
}
