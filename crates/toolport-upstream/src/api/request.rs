//! Turning a tool call into an HTTP request: server choice, path/query/header/cookie parameters and the
//! body from an [`HttpPlan`], or the POST of a [`GraphqlPlan`]; then the reqwest request itself.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};
use toolport_import::{GraphqlPlan, HttpPlan, ParamLocation, Server};
use url::Url;

use super::body::{self, Body};
use super::params;

/// A request before it is handed to reqwest (so auth can add to it and tests can read it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BuiltRequest {
    pub method: reqwest::Method,
    /// Without the query pairs below.
    pub url: Url,
    /// Percent-encoded name/value pairs appended to the URL's query.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Name and encoded value, sent as one `Cookie` header.
    pub cookies: Vec<(String, String)>,
    pub body: Option<Body>,
}

/// Headers an argument or configuration never sets: they frame the connection, not the request.
const FRAMING: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "cookie",
];

impl BuiltRequest {
    /// Replaces every header named `name` with this one.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    pub fn push_query(&mut self, name: &str, value: &str) {
        self.query.push((params::enc(name), params::enc(value)));
    }

    /// The URL with the query pairs, as it will be requested.
    pub fn full_url(&self) -> Url {
        let mut url = self.url.clone();
        if !self.query.is_empty() {
            let mut q = url.query().map(str::to_string).unwrap_or_default();
            for (k, v) in &self.query {
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str(k);
                q.push('=');
                q.push_str(v);
            }
            url.set_query(Some(&q));
        }
        url
    }

    /// The reqwest request; header names or values that HTTP cannot carry are refused by name.
    pub fn into_reqwest(
        self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Request, String> {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            if FRAMING.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
            let v = HeaderValue::from_str(value).map_err(|_| {
                format!("the value of header `{name}` contains characters HTTP headers cannot carry (line breaks or non-ASCII)")
            })?;
            map.append(n, v);
        }
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let v = HeaderValue::from_str(&c.join("; ")).map_err(|_| {
                "a cookie name contains characters HTTP headers cannot carry".to_string()
            })?;
            map.insert(reqwest::header::COOKIE, v);
        }
        let builder = builder.headers(map);
        let builder = match self.body {
            None => builder,
            Some(Body::Bytes {
                content_type,
                bytes,
            }) => builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
            Some(Body::Multipart(parts)) => {
                let mut form = reqwest::multipart::Form::new();
                for p in parts {
                    let mut part = reqwest::multipart::Part::bytes(p.data);
                    if let Some(f) = p.filename {
                        part = part.file_name(f);
                    }
                    if let Some(ct) = p.content_type {
                        part = part
                            .mime_str(&ct)
                            .map_err(|_| format!("`{ct}` is not a valid media type"))?;
                    }
                    form = form.part(p.name, part);
                }
                builder.multipart(form)
            }
        };
        builder.build().map_err(|e| e.to_string())
    }
}

/// Where requests go: the configured base URL, else the plan's servers (relative ones resolved
/// against the description's URL).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub base_url: Option<&'a Url>,
    pub spec_url: Option<&'a Url>,
}

/// The server URL for one plan.
pub(crate) fn server_url(servers: &[Server], target: Target<'_>) -> Result<Url, String> {
    if let Some(base) = target.base_url {
        return Ok(base.clone());
    }
    let (raw, vars) = match servers.first() {
        Some(s) => (s.url.clone(), Some(&s.variables)),
        None => ("/".to_string(), None),
    };
    let mut url = raw.clone();
    for (name, var) in vars.into_iter().flatten() {
        url = url.replace(&format!("{{{name}}}"), &var.default);
    }
    if url.contains('{') {
        return Err(format!(
            "the server URL `{raw}` has a variable without a value; set `baseUrl` for this API"
        ));
    }
    if url.contains("://") {
        return Url::parse(&url).map_err(|e| {
            format!("the server URL `{url}` is invalid ({e}); set `baseUrl` for this API")
        });
    }
    match target.spec_url {
        Some(spec) => spec.join(&url).map_err(|e| {
            format!("the server URL `{url}` cannot be resolved against `{spec}` ({e})")
        }),
        None => Err(format!(
            "the description gives no absolute server URL (`{url}`) and was not read from a URL; set `baseUrl` for this API"
        )),
    }
}

/// Appends the expanded path template to the server URL.
fn join(server: &Url, path: &str) -> Result<Url, String> {
    let mut s = server.clone();
    s.set_query(None);
    s.set_fragment(None);
    let base = s.as_str().trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let full = if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut url =
        Url::parse(&full).map_err(|e| format!("the request URL `{full}` is invalid ({e})"))?;
    url.set_query(server.query());
    Ok(url)
}

fn arg<'a>(args: &'a Map<String, Value>, property: &str) -> Option<&'a Value> {
    args.get(property).filter(|v| !v.is_null())
}

/// The request for an HTTP plan. Errors name the argument at fault.
pub(crate) fn build_http(
    plan: &HttpPlan,
    args: &Map<String, Value>,
    target: Target<'_>,
) -> Result<BuiltRequest, String> {
    let method = reqwest::Method::from_bytes(plan.method.as_bytes()).map_err(|_| {
        format!(
            "the operation's method `{}` is not a valid HTTP method",
            plan.method
        )
    })?;
    let mut path = plan.path.clone();
    let mut query = Vec::new();
    let mut headers: Vec<(String, String)> = plan
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let mut cookies = Vec::new();
    for p in &plan.parameters {
        let value = match (arg(args, &p.property), &p.fixed) {
            (Some(v), _) => v.clone(),
            (None, Some(f)) => Value::String(f.clone()),
            (None, None) if p.required || p.location == ParamLocation::Path => {
                return Err(format!(
                    "missing required argument `{}` ({} parameter `{}`)",
                    p.property,
                    p.location.as_str(),
                    p.name
                ));
            }
            (None, None) => continue,
        };
        match p.location {
            ParamLocation::Path => {
                let text = params::path_value(p, &value);
                if text.is_empty() || text == "." || text == ".." {
                    return Err(format!(
                        "argument `{}` (path parameter `{}`) must not be empty, `.` or `..`",
                        p.property, p.name
                    ));
                }
                path = path.replace(&format!("{{{}}}", p.name), &text);
            }
            ParamLocation::Query => params::query_pairs(p, &value, &mut query),
            ParamLocation::Header => {
                headers.push((p.name.clone(), params::header_value(p, &value)))
            }
            ParamLocation::Cookie => {
                cookies.push((p.name.clone(), params::cookie_value(p, &value)))
            }
        }
    }
    let body = match &plan.body {
        Some(b) => body::build(b, args)?,
        None => None,
    };
    if !plan.response_content_types.is_empty()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
    {
        headers.push(("Accept".to_string(), plan.response_content_types.join(", ")));
    }
    let server = server_url(&plan.servers, target)?;
    Ok(BuiltRequest {
        method,
        url: join(&server, &path)?,
        query,
        headers,
        cookies,
        body,
    })
}

/// The POST of a GraphQL plan to `endpoint`: `{"query", "variables"}` as JSON.
pub(crate) fn build_graphql(
    plan: &GraphqlPlan,
    args: &Map<String, Value>,
    endpoint: &Url,
) -> Result<BuiltRequest, String> {
    let selection = match plan.selection_property.as_ref().and_then(|p| arg(args, p)) {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(
                "`selection` must be a string: the fields to select, e.g. `id name owner { login }`"
                    .to_string(),
            );
        }
    };
    let mut variables = Map::new();
    for v in &plan.variables {
        match arg(args, &v.property) {
            Some(value) => {
                variables.insert(v.name.clone(), value.clone());
            }
            None if v.graphql_type.ends_with('!') => {
                return Err(format!(
                    "missing required argument `{}` (GraphQL variable `${}: {}`)",
                    v.property, v.name, v.graphql_type
                ));
            }
            None => {}
        }
    }
    let payload = json!({"query": plan.document_for(selection), "variables": variables});
    Ok(BuiltRequest {
        method: reqwest::Method::POST,
        url: endpoint.clone(),
        query: Vec::new(),
        headers: vec![("Accept".to_string(), "application/json".to_string())],
        cookies: Vec::new(),
        body: Some(Body::Bytes {
            content_type: "application/json".to_string(),
            bytes: payload.to_string().into_bytes(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use toolport_import::ServerVariable;

    use super::*;

    fn server(url: &str, vars: &[(&str, &str)]) -> Server {
        Server {
            url: url.to_string(),
            description: None,
            variables: vars
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        ServerVariable {
                            default: v.to_string(),
                            enum_values: Vec::new(),
                            description: None,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn target<'a>(base: Option<&'a Url>, spec: Option<&'a Url>) -> Target<'a> {
        Target {
            base_url: base,
            spec_url: spec,
        }
    }

    #[test]
    fn server_choice() {
        let spec = Url::parse("https://docs.example.com/apis/v1/openapi.json").ok();
        let base = Url::parse("https://override.example/api").ok();
        let vars = [server(
            "https://{region}.example.com/{v}",
            &[("region", "eu"), ("v", "v2")],
        )];
        let got = |servers: &[Server], t: Target<'_>| server_url(servers, t).map(|u| u.to_string());
        assert_eq!(
            got(&vars, target(None, None)).as_deref(),
            Ok("https://eu.example.com/v2")
        );
        assert_eq!(
            got(&vars, target(base.as_ref(), None)).as_deref(),
            Ok("https://override.example/api")
        );
        let relative = [server("/rest", &[])];
        assert_eq!(
            got(&relative, target(None, spec.as_ref())).as_deref(),
            Ok("https://docs.example.com/rest")
        );
        assert_eq!(
            got(&[server("v2/", &[])], target(None, spec.as_ref())).as_deref(),
            Ok("https://docs.example.com/apis/v1/v2/")
        );
        assert_eq!(
            got(&[], target(None, spec.as_ref())).as_deref(),
            Ok("https://docs.example.com/")
        );
        let err = got(&relative, target(None, None)).unwrap_err();
        assert!(err.contains("baseUrl"), "{err}");
        let err = got(
            &[server("https://{tenant}.example.com", &[])],
            target(None, None),
        )
        .unwrap_err();
        assert!(err.contains("variable without a value"), "{err}");
    }

    #[test]
    fn joining_keeps_the_base_path_and_query() {
        let base = Url::parse("https://h.example/api/?v=1").ok();
        let joined = base
            .as_ref()
            .map(|b| join(b, "/pets/%2F1").map(|u| u.to_string()));
        assert_eq!(
            joined,
            Some(Ok("https://h.example/api/pets/%2F1?v=1".to_string()))
        );
    }
}
