//! OpenAPI parameter serialisation: a JSON argument becomes a path segment, query pairs, a header
//! value or a cookie value according to the parameter's `style`, `explode` and `allowReserved`.

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use toolport_import::{ParamBinding, ParamStyle};

/// Everything except RFC 3986 unreserved characters.
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `allowReserved`: reserved characters go as they are, except `#`, which would end the URL.
const RESERVED_KEPT: &AsciiSet = &COMPONENT
    .remove(b':')
    .remove(b'/')
    .remove(b'?')
    .remove(b'[')
    .remove(b']')
    .remove(b'@')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=');

/// Characters a cookie value cannot carry as they are (RFC 6265 cookie-octet), `,` kept as the list separator.
const COOKIE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b';').add(b'\\').add(b'%');

pub(crate) fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn enc_reserved(s: &str) -> String {
    utf8_percent_encode(s, RESERVED_KEPT).to_string()
}

/// A primitive's text form; arrays and objects nested deeper than the style allows become JSON.
pub(crate) fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

enum Shape {
    Scalar(String),
    Array(Vec<String>),
    Object(Vec<(String, String)>),
}

fn shape(b: &ParamBinding, v: &Value) -> Shape {
    if b.content_type.is_some() {
        // `content`-serialised parameters carry the value's JSON text.
        return Shape::Scalar(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    match v {
        Value::Array(items) => Shape::Array(items.iter().map(scalar).collect()),
        Value::Object(m) => Shape::Object(m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect()),
        other => Shape::Scalar(scalar(other)),
    }
}

fn flatten(pairs: &[(String, String)], e: impl Fn(&str) -> String) -> Vec<String> {
    pairs.iter().flat_map(|(k, v)| [e(k), e(v)]).collect()
}

/// The path segment text (already percent-encoded) for `{name}`.
pub(crate) fn path_value(b: &ParamBinding, v: &Value) -> String {
    let name = enc(&b.name);
    let x = b.explode;
    match (b.style, shape(b, v)) {
        (ParamStyle::Label, Shape::Scalar(s)) => format!(".{}", enc(&s)),
        (ParamStyle::Label, Shape::Array(a)) => {
            let items: Vec<String> = a.iter().map(|s| enc(s)).collect();
            format!(".{}", items.join(if x { "." } else { "," }))
        }
        (ParamStyle::Label, Shape::Object(o)) if x => {
            let items: Vec<String> = o
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            format!(".{}", items.join("."))
        }
        (ParamStyle::Label, Shape::Object(o)) => format!(".{}", flatten(&o, enc).join(",")),
        (ParamStyle::Matrix, Shape::Scalar(s)) => format!(";{name}={}", enc(&s)),
        (ParamStyle::Matrix, Shape::Array(a)) if x => {
            a.iter().map(|s| format!(";{name}={}", enc(s))).collect()
        }
        (ParamStyle::Matrix, Shape::Array(a)) => {
            let items: Vec<String> = a.iter().map(|s| enc(s)).collect();
            format!(";{name}={}", items.join(","))
        }
        (ParamStyle::Matrix, Shape::Object(o)) if x => o
            .iter()
            .map(|(k, v)| format!(";{}={}", enc(k), enc(v)))
            .collect(),
        (ParamStyle::Matrix, Shape::Object(o)) => {
            format!(";{name}={}", flatten(&o, enc).join(","))
        }
        (_, Shape::Scalar(s)) => enc(&s),
        (_, Shape::Array(a)) => a.iter().map(|s| enc(s)).collect::<Vec<_>>().join(","),
        (_, Shape::Object(o)) if x => o
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join(","),
        (_, Shape::Object(o)) => flatten(&o, enc).join(","),
    }
}

/// Query pairs (name and value already percent-encoded) for one parameter.
pub(crate) fn query_pairs(b: &ParamBinding, v: &Value, out: &mut Vec<(String, String)>) {
    let ev = |s: &str| {
        if b.allow_reserved {
            enc_reserved(s)
        } else {
            enc(s)
        }
    };
    let name = enc(&b.name);
    let delimiter = match b.style {
        ParamStyle::SpaceDelimited => Some("%20"),
        ParamStyle::PipeDelimited => Some("|"),
        ParamStyle::TabDelimited => Some("%09"),
        _ => None,
    };
    if b.style == ParamStyle::DeepObject && v.is_object() && b.content_type.is_none() {
        deep_object(&name, v, &ev, out);
        return;
    }
    match shape(b, v) {
        Shape::Scalar(s) => out.push((name, ev(&s))),
        Shape::Array(a) if b.explode => out.extend(a.iter().map(|s| (name.clone(), ev(s)))),
        Shape::Array(a) => {
            let items: Vec<String> = a.iter().map(|s| ev(s)).collect();
            out.push((name, items.join(delimiter.unwrap_or(","))));
        }
        Shape::Object(o) if b.explode && delimiter.is_none() => {
            out.extend(o.iter().map(|(k, v)| (enc(k), ev(v))));
        }
        Shape::Object(o) => out.push((name, flatten(&o, ev).join(delimiter.unwrap_or(",")))),
    }
}

fn deep_object(
    prefix: &str,
    v: &Value,
    ev: &dyn Fn(&str) -> String,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                deep_object(&format!("{prefix}[{}]", enc(k)), x, ev, out);
            }
        }
        Value::Array(items) => {
            for x in items {
                deep_object(prefix, x, ev, out);
            }
        }
        other => out.push((prefix.to_string(), ev(&scalar(other)))),
    }
}

/// A header value (style `simple`); not percent-encoded.
pub(crate) fn header_value(b: &ParamBinding, v: &Value) -> String {
    match shape(b, v) {
        Shape::Scalar(s) => s,
        Shape::Array(a) => a.join(","),
        Shape::Object(o) if b.explode => o
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        Shape::Object(o) => flatten(&o, str::to_string).join(","),
    }
}

/// A cookie value (style `form`, lists comma-separated), with unsafe octets percent-encoded.
pub(crate) fn cookie_value(b: &ParamBinding, v: &Value) -> String {
    let e = |s: &str| utf8_percent_encode(s, COOKIE).to_string();
    match shape(b, v) {
        Shape::Scalar(s) => e(&s),
        Shape::Array(a) => a.iter().map(|s| e(s)).collect::<Vec<_>>().join(","),
        Shape::Object(o) => flatten(&o, e).join(","),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use toolport_import::ParamLocation;

    fn p(style: ParamStyle, explode: bool) -> ParamBinding {
        ParamBinding {
            name: "id".into(),
            location: ParamLocation::Path,
            property: "id".into(),
            required: true,
            style,
            explode,
            allow_reserved: false,
            content_type: None,
            fixed: None,
        }
    }

    #[test]
    fn path_styles_follow_the_openapi_table() {
        let arr = json!([3, 4, 5]);
        let obj = json!({"role": "admin", "firstName": "Alex"});
        let cases = [
            (ParamStyle::Simple, false, json!(5), "5"),
            (ParamStyle::Simple, false, arr.clone(), "3,4,5"),
            (
                ParamStyle::Simple,
                false,
                obj.clone(),
                "role,admin,firstName,Alex",
            ),
            (
                ParamStyle::Simple,
                true,
                obj.clone(),
                "role=admin,firstName=Alex",
            ),
            (ParamStyle::Label, false, json!(5), ".5"),
            (ParamStyle::Label, false, arr.clone(), ".3,4,5"),
            (ParamStyle::Label, true, arr.clone(), ".3.4.5"),
            (
                ParamStyle::Label,
                true,
                obj.clone(),
                ".role=admin.firstName=Alex",
            ),
            (ParamStyle::Matrix, false, json!(5), ";id=5"),
            (ParamStyle::Matrix, false, arr.clone(), ";id=3,4,5"),
            (ParamStyle::Matrix, true, arr, ";id=3;id=4;id=5"),
            (ParamStyle::Matrix, true, obj, ";role=admin;firstName=Alex"),
            (ParamStyle::Simple, false, json!("a/b c?"), "a%2Fb%20c%3F"),
        ];
        for (style, explode, v, want) in cases {
            assert_eq!(
                path_value(&p(style, explode), &v),
                want,
                "{style:?} {explode} {v}"
            );
        }
    }
}
