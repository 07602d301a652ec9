//! One OpenAPI operation to a tool draft: parameters to input properties, body, output, servers, security, hints.

use serde_json::{Map, Value, json};

use super::{Api, body, security};
use crate::collect::{Draft, title_and_description};
use crate::model::{
    ExecutionPlan, HttpPlan, ParamBinding, ParamLocation, ParamStyle, Server, ToolAnnotations,
};
use crate::naming::{Namer, sanitize};
use crate::schema::{Direction, DocId, SchemaBuilder};

/// Headers OpenAPI says are described elsewhere (ignored when listed as parameters).
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

/// Builds the tool draft of one operation.
pub(crate) fn build(
    api: &Api<'_>,
    item_doc: DocId,
    path: &str,
    method: &str,
    item: &Value,
    op: &Value,
) -> Result<Draft, String> {
    let docs = api.docs;
    if !op.is_object() {
        return Err("the operation is not an object".to_string());
    }
    let mut warnings = Vec::new();
    let params = collect_params(api, item_doc, item, op)?;
    let mut builder = SchemaBuilder::new(docs, Direction::Input, api.input_budget);
    let mut names = Namer::properties();
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut bindings = Vec::new();

    let mut ordered = params;
    ordered.sort_by_key(|p| p.location);
    for p in ordered {
        let plain = sanitize(&p.name, true);
        let property = if !plain.is_empty() && plain.len() <= 64 && !names.is_taken(&plain) {
            names.claim(&p.name, "param")
        } else {
            names.claim(&format!("{}_{}", p.location.as_str(), p.name), "param")
        };
        let mut schema = match p.schema.as_ref() {
            Some(s) => builder.schema(p.doc, s),
            None => json!({"type": "string"}),
        };
        if let Value::Object(m) = &mut schema {
            if let Some(d) = &p.description
                && !m.contains_key("description")
            {
                m.insert("description".to_string(), Value::String(d.clone()));
            }
            if p.deprecated {
                m.insert("deprecated".to_string(), Value::Bool(true));
            }
        }
        properties.insert(property.clone(), schema);
        if p.required {
            required.push(Value::String(property.clone()));
        }
        let (style, explode) = p.style_explode();
        bindings.push(ParamBinding {
            name: p.name,
            location: p.location,
            property,
            required: p.required,
            style,
            explode,
            allow_reserved: p.allow_reserved,
            content_type: p.content_type,
            fixed: None,
        });
    }

    for placeholder in path_placeholders(path) {
        if !bindings
            .iter()
            .any(|b| b.location == ParamLocation::Path && b.name == placeholder)
        {
            let property = names.claim(&placeholder, "path_param");
            warnings.push(format!(
                "path parameter `{placeholder}` is not declared; it is taken as a required string"
            ));
            properties.insert(property.clone(), json!({"type": "string"}));
            required.push(Value::String(property.clone()));
            bindings.push(ParamBinding {
                name: placeholder,
                location: ParamLocation::Path,
                property,
                required: true,
                style: ParamStyle::Simple,
                explode: false,
                allow_reserved: false,
                content_type: None,
                fixed: None,
            });
        }
    }

    let body = match op.get("requestBody") {
        Some(rb) => body::request_body(
            &mut builder,
            item_doc,
            rb,
            &mut names,
            &mut properties,
            &mut required,
        )?,
        None => None,
    };

    let mut input = Map::new();
    input.insert("type".to_string(), Value::from("object"));
    input.insert("properties".to_string(), Value::Object(properties));
    if !required.is_empty() {
        input.insert("required".to_string(), Value::Array(required));
    }
    let (input_schema, schema_warnings) = builder.finish(Value::Object(input));
    warnings.extend(schema_warnings);

    let (output_schema, response_content_types, out_warnings) =
        body::output(docs, item_doc, op.get("responses"), api.input_budget / 2);
    warnings.extend(out_warnings);

    let (security, security_schemes) = security::security(docs, op, &mut warnings);
    let servers = effective_servers(api, item, op);
    let summary = op.get("summary").and_then(Value::as_str);
    let description = op.get("description").and_then(Value::as_str);
    let (title, description) = title_and_description(summary, description);
    let mut annotations = ToolAnnotations::for_method(method, title.clone());
    if method == "QUERY" {
        annotations.read_only_hint = Some(true);
    }
    let plan = HttpPlan {
        method: method.to_string(),
        path: path.to_string(),
        servers,
        parameters: bindings,
        body,
        headers: Vec::new(),
        security,
        security_schemes,
        response_content_types,
    };
    Ok(Draft {
        title,
        description,
        input_schema,
        output_schema,
        annotations,
        plan: ExecutionPlan::Http(plan),
        warnings,
    })
}

fn effective_servers(api: &Api<'_>, item: &Value, op: &Value) -> Vec<Server> {
    for level in [op.get("servers"), item.get("servers")] {
        let s = security::servers(level);
        if !s.is_empty() {
            return s;
        }
    }
    if api.servers.is_empty() {
        vec![Server {
            url: "/".to_string(),
            description: None,
            variables: Default::default(),
        }]
    } else {
        api.servers.clone()
    }
}

/// A parameter after `$ref` resolution and validation.
#[derive(Debug)]
struct Param<'a> {
    name: String,
    location: ParamLocation,
    required: bool,
    description: Option<String>,
    deprecated: bool,
    style: Option<String>,
    explode: Option<bool>,
    allow_reserved: bool,
    schema: Option<&'a Value>,
    content_type: Option<String>,
    doc: DocId,
}

impl Param<'_> {
    fn style_explode(&self) -> (ParamStyle, bool) {
        let default = match self.location {
            ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
            ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
        };
        let style = match self.style.as_deref() {
            Some("simple") => ParamStyle::Simple,
            Some("label") => ParamStyle::Label,
            Some("matrix") => ParamStyle::Matrix,
            Some("form") => ParamStyle::Form,
            Some("spaceDelimited") => ParamStyle::SpaceDelimited,
            Some("pipeDelimited") => ParamStyle::PipeDelimited,
            Some("deepObject") => ParamStyle::DeepObject,
            Some("tabDelimited") => ParamStyle::TabDelimited,
            _ => default,
        };
        (style, self.explode.unwrap_or(style == ParamStyle::Form))
    }
}

fn collect_params<'a>(
    api: &Api<'a>,
    doc: DocId,
    item: &'a Value,
    op: &'a Value,
) -> Result<Vec<Param<'a>>, String> {
    let mut out: Vec<Param<'a>> = Vec::new();
    for list in [item.get("parameters"), op.get("parameters")] {
        let Some(list) = list else { continue };
        let Some(list) = list.as_array() else {
            return Err("`parameters` is not an array".to_string());
        };
        for (i, raw) in list.iter().enumerate() {
            let (pdoc, p) = api
                .docs
                .deref(doc, raw)
                .map_err(|e| format!("parameter {i}: {e}"))?;
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("parameter {i} has no `name`"))?;
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                Some("cookie") => ParamLocation::Cookie,
                Some("querystring") => {
                    return Err(format!(
                        "parameter `{name}` uses `in: querystring`, which is not supported yet"
                    ));
                }
                other => {
                    return Err(format!(
                        "parameter `{name}` has an invalid location `{}`",
                        other.unwrap_or("(missing)")
                    ));
                }
            };
            if location == ParamLocation::Header
                && IGNORED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
            {
                continue;
            }
            let (schema, content_type) =
                match (p.get("schema"), p.get("content").and_then(Value::as_object)) {
                    (Some(s), _) => (Some(s), None),
                    (None, Some(c)) => match c.iter().next() {
                        Some((mt, media)) => (media.get("schema"), Some(mt.clone())),
                        None => (None, None),
                    },
                    (None, None) => (None, None),
                };
            let param = Param {
                name: name.to_string(),
                location,
                required: location == ParamLocation::Path
                    || p.get("required").and_then(Value::as_bool).unwrap_or(false),
                description: p
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                deprecated: p
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                style: p.get("style").and_then(Value::as_str).map(str::to_string),
                explode: p.get("explode").and_then(Value::as_bool),
                allow_reserved: p
                    .get("allowReserved")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                schema,
                content_type,
                doc: pdoc,
            };
            match out
                .iter_mut()
                .find(|q| q.name == param.name && q.location == param.location)
            {
                Some(existing) => *existing = param,
                None => out.push(param),
            }
        }
    }
    Ok(out)
}

/// `{name}` placeholders of a path template.
pub(crate) fn path_placeholders(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty() && !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
