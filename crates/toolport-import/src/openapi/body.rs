//! Request bodies (as `body` or spread properties) and the success response's output schema.

use serde_json::{Map, Value};

use crate::model::{BodyBinding, BodyPlan, FieldBinding};
use crate::naming::{Namer, sanitize};
use crate::schema::{Direction, DocId, Documents, SchemaBuilder};

/// Media types in order of preference for sending.
fn rank(media: &str) -> u8 {
    let m = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if m == "application/json" {
        0
    } else if m.ends_with("+json") || m.ends_with("/json") {
        1
    } else if m == "application/x-www-form-urlencoded" {
        2
    } else if m == "multipart/form-data" {
        3
    } else if m.starts_with("text/") {
        5
    } else if m == "*/*" {
        6
    } else {
        4
    }
}

pub fn is_json(media: &str) -> bool {
    rank(media) <= 1
}

fn is_form(media: &str) -> bool {
    matches!(rank(media), 2 | 3)
}

/// Adds the request body to the input properties and returns its plan.
#[allow(clippy::too_many_arguments)]
pub fn request_body(
    builder: &mut SchemaBuilder<'_>,
    doc: DocId,
    raw: &Value,
    names: &mut Namer,
    properties: &mut Map<String, Value>,
    required: &mut Vec<Value>,
) -> Result<Option<BodyPlan>, String> {
    let (doc, rb) = builder
        .documents()
        .deref(doc, raw)
        .map_err(|e| format!("request body: {e}"))?;
    let body_required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
    let Some(content) = rb.get("content").and_then(Value::as_object) else {
        return Ok(None);
    };
    let Some((media, media_obj)) = content.iter().min_by_key(|(m, _)| rank(m)) else {
        return Ok(None);
    };
    let schema = match media_obj.get("schema") {
        Some(s) => builder.schema(doc, s),
        None if is_json(media) || is_form(media) => Value::Object(Map::new()),
        None => {
            serde_json::json!({"type": "string", "format": "binary", "contentEncoding": "base64"})
        }
    };
    let schema = if !is_json(media)
        && !is_form(media)
        && schema.get("type").is_none()
        && schema.get("$ref").is_none()
    {
        serde_json::json!({"type": "string"})
    } else {
        schema
    };
    let description = rb.get("description").and_then(Value::as_str);
    let binary_fields = binary_fields(builder, &schema, media);

    if (is_json(media) || is_form(media))
        && let Some(fields) = spreadable(builder, &schema, names, body_required)
    {
        let shape = builder.peek(&schema).clone();
        let body_required_props: Vec<&str> = shape
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut bindings = Vec::new();
        for field in fields {
            let mut prop_schema = shape
                .pointer(&format!(
                    "/properties/{}",
                    crate::schema::docs::escape(&field)
                ))
                .cloned()
                .unwrap_or_default();
            if let (Some(d), Value::Object(m)) = (description, &mut prop_schema)
                && !m.contains_key("description")
                && shape
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| p.len() == 1)
            {
                m.insert("description".to_string(), Value::String(d.to_string()));
            }
            let property = names.claim(&field, "field");
            if body_required_props.contains(&field.as_str()) {
                required.push(Value::String(property.clone()));
            }
            properties.insert(property.clone(), prop_schema);
            bindings.push(FieldBinding { property, field });
        }
        return Ok(Some(BodyPlan {
            content_type: media.clone(),
            required: body_required,
            binding: BodyBinding::Spread { fields: bindings },
            binary_fields,
        }));
    }

    let property = names.claim("body", "body");
    let mut schema = schema;
    if let (Some(d), Value::Object(m)) = (description, &mut schema)
        && !m.contains_key("description")
    {
        m.insert("description".to_string(), Value::String(d.to_string()));
    }
    properties.insert(property.clone(), schema);
    if body_required {
        required.push(Value::String(property.clone()));
    }
    let binary_fields = if binary_fields.is_empty()
        && is_binary(builder.peek(properties.get(&property).unwrap_or(&Value::Null)))
    {
        vec![property.clone()]
    } else {
        binary_fields
    };
    Ok(Some(BodyPlan {
        content_type: media.clone(),
        required: body_required,
        binding: BodyBinding::Property { property },
        binary_fields,
    }))
}

/// The body's field names when it can be spread into top-level properties without ambiguity.
fn spreadable(
    builder: &SchemaBuilder<'_>,
    schema: &Value,
    names: &Namer,
    body_required: bool,
) -> Option<Vec<String>> {
    let shape = builder.peek(schema).as_object()?;
    let props = shape.get("properties")?.as_object()?;
    if props.is_empty() {
        return None;
    }
    let simple = shape.keys().all(|k| {
        matches!(
            k.as_str(),
            "type"
                | "properties"
                | "required"
                | "title"
                | "description"
                | "example"
                | "examples"
                | "additionalProperties"
                | "$comment"
                | "deprecated"
        ) || k.starts_with("x-")
    });
    if !simple
        || shape.get("type").is_some_and(|t| t != "object")
        || shape
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
    {
        return None;
    }
    let has_required = shape
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if has_required && !body_required {
        return None;
    }
    let fields: Vec<String> = props.keys().cloned().collect();
    let clean = fields
        .iter()
        .all(|f| f.len() <= 64 && sanitize(f, true) == *f && !names.is_taken(f));
    clean.then_some(fields)
}

fn is_binary(schema: &Value) -> bool {
    schema.get("format").and_then(Value::as_str) == Some("binary")
        || schema.get("contentEncoding").is_some()
}

fn binary_fields(builder: &SchemaBuilder<'_>, schema: &Value, media: &str) -> Vec<String> {
    if !is_form(media) {
        return Vec::new();
    }
    let shape = builder.peek(schema);
    shape
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, s)| {
                    is_binary(builder.peek(s))
                        || s.get("items").is_some_and(|i| is_binary(builder.peek(i)))
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The `outputSchema` (when the success JSON response is an object) and the success media types.
pub fn output(
    docs: &Documents,
    doc: DocId,
    responses: Option<&Value>,
    budget: usize,
) -> (Option<Value>, Vec<String>, Vec<String>) {
    let Some(responses) = responses.and_then(Value::as_object) else {
        return (None, Vec::new(), Vec::new());
    };
    let mut codes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
    codes.sort();
    let Some(code) = codes.first() else {
        return (None, Vec::new(), Vec::new());
    };
    let Some(raw) = responses.get(*code) else {
        return (None, Vec::new(), Vec::new());
    };
    let (rdoc, resp) = match docs.deref(doc, raw) {
        Ok(v) => v,
        Err(e) => return (None, Vec::new(), vec![format!("response {code}: {e}")]),
    };
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        return (None, Vec::new(), Vec::new());
    };
    let mut types: Vec<String> = content.keys().cloned().collect();
    types.sort_by_key(|m| rank(m));
    let Some(json_media) = types.iter().find(|m| is_json(m)) else {
        return (None, types, Vec::new());
    };
    let Some(schema) = content.get(json_media).and_then(|m| m.get("schema")) else {
        return (None, types, Vec::new());
    };
    let mut builder = SchemaBuilder::new(docs, Direction::Output, budget);
    let built = builder.schema(rdoc, schema);
    let shape = builder.peek(&built);
    let is_object = shape.get("type").is_some_and(|t| t == "object")
        || (shape.get("type").is_none() && shape.get("properties").is_some());
    if !is_object {
        return (None, types, Vec::new());
    }
    let mut built = built;
    if let Value::Object(m) = &mut built
        && !m.contains_key("type")
    {
        m.insert("type".to_string(), Value::from("object"));
    }
    let (schema, warnings) = builder.finish(built);
    (Some(schema), types, warnings)
}
