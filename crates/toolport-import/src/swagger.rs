//! Swagger 2.0 upgraded in memory to the OpenAPI 3 shape (servers, requestBody from `body`/`formData`,
//! response `content`, securitySchemes), so one converter serves both. `#/definitions` refs stay valid.

use serde_json::{Map, Value, json};

/// Rewrites a Swagger 2.0 document into OpenAPI 3 form. Parameter and response `$ref`s into the same
/// document are inlined on the way (their targets change shape); schema `$ref`s are left as they are.
pub fn upgrade(mut root: Value) -> Value {
    let Some(obj) = root.as_object_mut() else {
        return root;
    };
    let consumes = strings(obj.get("consumes"));
    let produces = strings(obj.get("produces"));
    let servers = servers(obj);
    let schemes = obj.remove("securityDefinitions").map(security_schemes);
    let paths = obj.remove("paths");
    let shared = Shared {
        parameters: obj.get("parameters").cloned(),
        responses: obj.get("responses").cloned(),
    };
    let mut new_paths = Map::new();
    if let Some(Value::Object(paths)) = paths {
        for (path, item) in paths {
            new_paths.insert(path, upgrade_item(item, &shared, &consumes, &produces));
        }
    }
    obj.insert("paths".to_string(), Value::Object(new_paths));
    obj.insert("servers".to_string(), servers);
    let mut components = Map::new();
    if let Some(s) = schemes {
        components.insert("securitySchemes".to_string(), s);
    }
    obj.insert("components".to_string(), Value::Object(components));
    root
}

struct Shared {
    parameters: Option<Value>,
    responses: Option<Value>,
}

impl Shared {
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let (table, name) = if let Some(n) = r.strip_prefix("#/parameters/") {
            (&self.parameters, n)
        } else if let Some(n) = r.strip_prefix("#/responses/") {
            (&self.responses, n)
        } else {
            return v;
        };
        let name = name.replace("~1", "/").replace("~0", "~");
        table.as_ref().and_then(|t| t.get(&name)).unwrap_or(v)
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn servers(obj: &Map<String, Value>) -> Value {
    let base = obj.get("basePath").and_then(Value::as_str).unwrap_or("");
    let base = if base.is_empty() || base == "/" {
        String::new()
    } else {
        format!("/{}", base.trim_matches('/'))
    };
    let Some(host) = obj.get("host").and_then(Value::as_str) else {
        return json!([{"url": if base.is_empty() { "/".to_string() } else { base }}]);
    };
    let mut schemes = strings(obj.get("schemes"));
    if schemes.is_empty() {
        schemes.push("https".to_string());
    }
    Value::Array(
        schemes
            .iter()
            .map(|s| json!({"url": format!("{s}://{}{base}", host.trim_end_matches('/'))}))
            .collect(),
    )
}

fn security_schemes(defs: Value) -> Value {
    let Value::Object(defs) = defs else {
        return json!({});
    };
    let mut out = Map::new();
    for (name, d) in defs {
        let scheme = match d.get("type").and_then(Value::as_str) {
            Some("basic") => json!({"type": "http", "scheme": "basic"}),
            Some("apiKey") => json!({"type": "apiKey", "name": d.get("name"), "in": d.get("in")}),
            Some("oauth2") => {
                let flow = match d.get("flow").and_then(Value::as_str) {
                    Some("application") => "clientCredentials",
                    Some("accessCode") => "authorizationCode",
                    Some("password") => "password",
                    _ => "implicit",
                };
                let mut f = Map::new();
                for (k, v) in [
                    ("tokenUrl", d.get("tokenUrl")),
                    ("authorizationUrl", d.get("authorizationUrl")),
                    ("scopes", d.get("scopes")),
                ] {
                    if let Some(v) = v {
                        f.insert(k.to_string(), v.clone());
                    }
                }
                json!({"type": "oauth2", "flows": {flow: f}})
            }
            _ => d.clone(),
        };
        out.insert(name, scheme);
    }
    Value::Object(out)
}

fn upgrade_item(item: Value, shared: &Shared, consumes: &[String], produces: &[String]) -> Value {
    let Value::Object(mut item) = item else {
        return item;
    };
    let path_params: Vec<Value> = item
        .get("parameters")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|p| shared.resolve(p).clone()).collect())
        .unwrap_or_default();
    item.remove("parameters");
    let keys: Vec<String> = item.keys().cloned().collect();
    for k in keys {
        if !matches!(
            k.as_str(),
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch"
        ) {
            continue;
        }
        if let Some(op) = item.remove(&k) {
            item.insert(k, upgrade_op(op, &path_params, shared, consumes, produces));
        }
    }
    Value::Object(item)
}

fn upgrade_op(
    op: Value,
    path_params: &[Value],
    shared: &Shared,
    consumes: &[String],
    produces: &[String],
) -> Value {
    let Value::Object(mut op) = op else { return op };
    let consumes = match op.get("consumes") {
        Some(c) => strings(Some(c)),
        None => consumes.to_vec(),
    };
    let produces = match op.get("produces") {
        Some(p) => strings(Some(p)),
        None => produces.to_vec(),
    };
    let mut params: Vec<Value> = path_params.to_vec();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = shared.resolve(p).clone();
        let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
        match params.iter_mut().find(|q| key(q) == key(&p)) {
            Some(q) => *q = p,
            None => params.push(p),
        }
    }
    let mut out_params = Vec::new();
    let mut body: Option<Value> = None;
    let mut form_props = Map::new();
    let mut form_required = Vec::new();
    let mut has_file = false;
    for p in params {
        match p.get("in").and_then(Value::as_str) {
            Some("body") => {
                let media = consumes
                    .iter()
                    .find(|c| c.contains("json"))
                    .or(consumes.first())
                    .cloned()
                    .unwrap_or_else(|| "application/json".to_string());
                let mut rb = json!({"content": {media: {"schema": p.get("schema").cloned().unwrap_or(json!({}))}}});
                for k in ["description", "required"] {
                    if let Some(v) = p.get(k) {
                        rb[k] = v.clone();
                    }
                }
                body = Some(rb);
            }
            Some("formData") => {
                let Some(name) = p.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if p.get("type").and_then(Value::as_str) == Some("file") {
                    has_file = true;
                }
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    form_required.push(Value::from(name));
                }
                form_props.insert(name.to_string(), param_schema(&p));
            }
            _ => {
                let mut q = Map::new();
                for k in ["name", "in", "description", "required", "deprecated"] {
                    if let Some(v) = p.get(k) {
                        q.insert(k.to_string(), v.clone());
                    }
                }
                if let Some(r) = p.get("$ref") {
                    q.insert("$ref".to_string(), r.clone());
                }
                q.insert("schema".to_string(), param_schema(&p));
                let in_query = p.get("in").and_then(Value::as_str) == Some("query");
                match p.get("collectionFormat").and_then(Value::as_str) {
                    Some("multi") => {
                        q.insert("style".to_string(), Value::from("form"));
                        q.insert("explode".to_string(), Value::Bool(true));
                    }
                    Some(fmt @ ("ssv" | "pipes" | "tsv")) => {
                        let style = match fmt {
                            "ssv" => "spaceDelimited",
                            "pipes" => "pipeDelimited",
                            _ => "tabDelimited",
                        };
                        q.insert("style".to_string(), Value::from(style));
                        q.insert("explode".to_string(), Value::Bool(false));
                    }
                    _ if in_query => {
                        q.insert("explode".to_string(), Value::Bool(false));
                    }
                    _ => {}
                }
                out_params.push(Value::Object(q));
            }
        }
    }
    if !form_props.is_empty() && body.is_none() {
        let media = if has_file || consumes.iter().any(|c| c.starts_with("multipart/")) {
            "multipart/form-data"
        } else {
            "application/x-www-form-urlencoded"
        };
        let mut schema = json!({"type": "object", "properties": form_props});
        if !form_required.is_empty() {
            schema["required"] = Value::Array(form_required.clone());
        }
        body = Some(
            json!({"required": !form_required.is_empty(), "content": {media: {"schema": schema}}}),
        );
    }
    op.insert("parameters".to_string(), Value::Array(out_params));
    if let Some(b) = body {
        op.insert("requestBody".to_string(), b);
    }
    if let Some(Value::Object(responses)) = op.remove("responses") {
        let mut out = Map::new();
        for (code, r) in responses {
            let r = shared.resolve(&r).clone();
            let mut nr =
                json!({"description": r.get("description").cloned().unwrap_or(Value::from(""))});
            if let Some(schema) = r.get("schema") {
                let media = produces
                    .iter()
                    .find(|c| c.contains("json"))
                    .or(produces.first())
                    .cloned()
                    .unwrap_or_else(|| "application/json".to_string());
                nr["content"] = json!({media: {"schema": schema}});
            }
            out.insert(code, nr);
        }
        op.insert("responses".to_string(), Value::Object(out));
    }
    Value::Object(op)
}

/// The schema part of a non-body Swagger parameter.
fn param_schema(p: &Value) -> Value {
    if let Some(s) = p.get("schema") {
        return s.clone();
    }
    let mut s = Map::new();
    for (k, v) in p.as_object().into_iter().flatten() {
        if matches!(
            k.as_str(),
            "name"
                | "in"
                | "description"
                | "required"
                | "collectionFormat"
                | "allowEmptyValue"
                | "$ref"
        ) {
            continue;
        }
        s.insert(k.clone(), v.clone());
    }
    if let Some(d) = p.get("description") {
        s.insert("description".to_string(), d.clone());
    }
    Value::Object(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_body_formdata_servers_and_security() {
        let doc = json!({
            "swagger": "2.0", "host": "api.example.com", "basePath": "/v1", "schemes": ["https"],
            "securityDefinitions": {"k": {"type": "apiKey", "name": "X-Key", "in": "header"}, "o": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t", "scopes": {"a": "b"}}},
            "paths": {"/p": {"post": {"parameters": [{"name": "f", "in": "formData", "type": "file", "required": true}, {"name": "q", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"}],
                "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}}
        });
        let up = upgrade(doc);
        assert_eq!(up["servers"][0]["url"], "https://api.example.com/v1");
        assert_eq!(
            up["components"]["securitySchemes"]["o"]["flows"]["clientCredentials"]["tokenUrl"],
            "https://t"
        );
        let op = &up["paths"]["/p"]["post"];
        assert_eq!(
            op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["f"]["type"],
            "file"
        );
        assert_eq!(op["parameters"][0]["explode"], true);
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["type"],
            "object"
        );
    }
}
