//! Postman collections v2.0/v2.1: every request becomes a tool; folders become tags and a name prefix;
//! `{{variables}}` come from the collection and the caller; auth (apikey, bearer, basic) and bodies
//! (raw JSON, urlencoded, form-data) are translated.

mod body;
mod url;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::collect::{Collector, Draft, MAX_DESCRIPTION, bound};
use crate::error::ImportError;
use crate::model::{
    ExecutionPlan, FixedHeader, HttpPlan, OperationInfo, ParamBinding, ParamLocation, ParamStyle,
    ToolAnnotations,
};
use crate::naming::{Namer, method_path_name, sanitize};
use body::{body, security};
use url::{Url, parse_url};

/// Converts a collection; returns its name.
pub(crate) fn convert(
    root: &Value,
    overrides: &BTreeMap<String, String>,
    out: &mut Collector<'_>,
) -> Result<Option<String>, ImportError> {
    let items = root.get("item").and_then(Value::as_array).ok_or_else(|| {
        ImportError::invalid(
            "Postman",
            "/item",
            "`item` must be an array of requests and folders",
        )
    })?;
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for v in root
        .get("variable")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(val)) = (v.get("key").and_then(Value::as_str), v.get("value")) {
            vars.insert(k.to_string(), scalar(val));
        }
    }
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let ctx = Ctx { vars };
    let auth = root.get("auth");
    walk(&ctx, items, &mut Vec::new(), auth, "/item", out);
    Ok(root
        .pointer("/info/name")
        .and_then(Value::as_str)
        .map(str::to_string))
}

pub(super) struct Ctx {
    vars: BTreeMap<String, String>,
}

impl Ctx {
    /// Substitutes known `{{variables}}`; unknown ones stay.
    fn subst(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find("}}") {
                Some(end) => {
                    let name = after[..end].trim();
                    match self.vars.get(name) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("{{");
                            out.push_str(&after[..end]);
                            out.push_str("}}");
                        }
                    }
                    rest = &after[end + 2..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

pub(super) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

fn walk(
    ctx: &Ctx,
    items: &[Value],
    folders: &mut Vec<String>,
    auth: Option<&Value>,
    pointer: &str,
    out: &mut Collector<'_>,
) {
    for (i, item) in items.iter().enumerate() {
        let ptr = format!("{pointer}/{i}");
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(children) = item.get("item").and_then(Value::as_array) {
            let inner_auth = item.get("auth").filter(|a| !a.is_null()).or(auth);
            folders.push(name);
            walk(
                ctx,
                children,
                folders,
                inner_auth,
                &format!("{ptr}/item"),
                out,
            );
            folders.pop();
            continue;
        }
        let Some(request) = item.get("request") else {
            continue;
        };
        let method = match request {
            Value::String(_) => "GET".to_string(),
            r => r
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .trim()
                .to_ascii_uppercase(),
        };
        let url = match request {
            Value::String(s) => Some(Value::String(s.clone())),
            r => r.get("url").cloned(),
        };
        let parsed = url.as_ref().map(|u| parse_url(ctx, u));
        let path = parsed
            .as_ref()
            .map_or_else(|| "/".to_string(), |p| p.path.clone());
        let info = OperationInfo {
            id: item
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| Some(name.clone()).filter(|n| !n.is_empty())),
            method: method.clone(),
            path: path.clone(),
            tags: folders.iter().filter(|f| !f.is_empty()).cloned().collect(),
            summary: Some(name.clone()).filter(|n| !n.is_empty()),
            deprecated: false,
            pointer: ptr.clone(),
        };
        let preferred = match folders.last().filter(|f| !f.is_empty()) {
            Some(folder) => format!("{}_{}", sanitize(folder, false), sanitize(&name, false)),
            None => name.clone(),
        };
        let fallback = method_path_name(&method, &path);
        let req_auth = match request {
            Value::Object(m) => m.get("auth").filter(|a| !a.is_null()).or(auth),
            _ => auth,
        };
        out.add(info, &preferred, &fallback, || {
            build(ctx, &name, &method, request, parsed, req_auth)
        });
    }
}

pub(super) fn has_unresolved(s: &str) -> bool {
    s.contains("{{") && s.contains("}}")
}

fn build(
    ctx: &Ctx,
    name: &str,
    method: &str,
    request: &Value,
    url: Option<Url>,
    auth: Option<&Value>,
) -> Result<Draft, String> {
    let url = url.ok_or("the request has no URL")?;
    let mut warnings = Vec::new();
    for v in &url.unresolved_host {
        warnings.push(format!("variable `{{{{{v}}}}}` in the host has no value; set it in the API's variables or give a base URL"));
    }
    let mut names = Namer::properties();
    let mut props = Map::new();
    let mut required = Vec::new();
    let mut params = Vec::new();
    for (pname, value, desc) in &url.path_params {
        let property = names.claim(pname, "path");
        let mut s = json!({"type": "string"});
        if let Some(d) = desc {
            s["description"] = Value::from(d.as_str());
        }
        if let Some(v) = value.as_ref().filter(|v| !has_unresolved(v)) {
            s["default"] = Value::from(ctx.subst(v));
        } else {
            required.push(Value::from(property.as_str()));
        }
        props.insert(property.clone(), s);
        params.push(binding(
            pname,
            ParamLocation::Path,
            property,
            value.is_none(),
            value.clone().filter(|v| !has_unresolved(v)),
        ));
    }
    for (k, v, desc) in &url.query {
        let property = if names.is_taken(&sanitize(k, true)) {
            names.claim(&format!("query_{k}"), "query")
        } else {
            names.claim(k, "query")
        };
        let mut s = json!({"type": "string"});
        if let Some(d) = desc {
            s["description"] = Value::from(d.as_str());
        }
        let fixed = (!v.is_empty() && !has_unresolved(v)).then(|| v.clone());
        if let Some(f) = &fixed {
            s["default"] = Value::from(f.as_str());
        }
        props.insert(property.clone(), s);
        params.push(binding(k, ParamLocation::Query, property, false, fixed));
    }
    let mut headers = Vec::new();
    let mut content_type_header = None;
    for h in request
        .get("header")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if h.get("disabled").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let (Some(k), v) = (
            h.get("key").and_then(Value::as_str),
            ctx.subst(&h.get("value").map(scalar).unwrap_or_default()),
        ) else {
            continue;
        };
        if k.eq_ignore_ascii_case("content-type") {
            content_type_header = Some(v);
            continue;
        }
        if k.eq_ignore_ascii_case("authorization") {
            warnings.push(
                "the request's Authorization header is left out; configure the API's auth instead"
                    .to_string(),
            );
            continue;
        }
        if has_unresolved(&v) {
            let property = names.claim(&format!("header_{k}"), "header");
            props.insert(property.clone(), json!({"type": "string", "description": format!("Header `{k}` (Postman value `{v}`)")}));
            required.push(Value::from(property.as_str()));
            params.push(binding(k, ParamLocation::Header, property, true, None));
        } else {
            headers.push(FixedHeader {
                name: k.to_string(),
                value: v,
            });
        }
    }
    let body = match request.get("body") {
        Some(b) if !b.is_null() => body(
            ctx,
            b,
            content_type_header.as_deref(),
            &mut names,
            &mut props,
            &mut required,
            &mut warnings,
        ),
        _ => None,
    };
    let (security, security_schemes) = security(auth, &mut warnings);
    let mut input = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        input["required"] = Value::Array(required);
    }
    let description = text_of(request.get("description")).map(|d| bound(&d, MAX_DESCRIPTION));
    let title = Some(name.to_string())
        .filter(|n| !n.trim().is_empty())
        .map(|n| bound(&n, crate::collect::MAX_TITLE));
    let plan = HttpPlan {
        method: method.to_string(),
        path: url.path,
        servers: vec![url.server],
        parameters: params,
        body,
        headers,
        security,
        security_schemes,
        response_content_types: Vec::new(),
    };
    Ok(Draft {
        annotations: ToolAnnotations::for_method(method, title.clone()),
        title,
        description,
        input_schema: input,
        output_schema: None,
        plan: ExecutionPlan::Http(plan),
        warnings,
    })
}

fn binding(
    name: &str,
    location: ParamLocation,
    property: String,
    required: bool,
    fixed: Option<String>,
) -> ParamBinding {
    let style = if location == ParamLocation::Query {
        ParamStyle::Form
    } else {
        ParamStyle::Simple
    };
    ParamBinding {
        name: name.to_string(),
        location,
        property,
        required,
        style,
        explode: location == ParamLocation::Query,
        allow_reserved: false,
        content_type: None,
        fixed,
    }
}
