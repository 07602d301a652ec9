//! The data this crate produces: MCP tool definitions, their execution plans, diagnostics, and the options that steer conversion.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::filter::Filter;

/// The kind of API description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OpenAPI 3.0.x, 3.1.x or 3.2.x.
    OpenApi,
    /// Swagger 2.0.
    Swagger,
    /// Postman collection v2.0 or v2.1.
    Postman,
    /// GraphQL: introspection JSON (with or without `data`) or SDL text.
    Graphql,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OpenApi => "openapi",
            Format::Swagger => "swagger",
            Format::Postman => "postman",
            Format::Graphql => "graphql",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openapi" | "oas" | "openapi3" => Ok(Format::OpenApi),
            "swagger" | "swagger2" | "openapi2" => Ok(Format::Swagger),
            "postman" => Ok(Format::Postman),
            "graphql" | "gql" => Ok(Format::Graphql),
            other => Err(format!(
                "unknown format `{other}`; use openapi, swagger, postman or graphql"
            )),
        }
    }
}

/// How the operations of one API are exposed to MCP clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One tool per operation.
    Tools,
    /// `{api}__list_operations`, `{api}__describe_operation`, `{api}__call_operation`.
    Dispatch,
    /// `{api}__search_operations` (ranked full-text search) and `{api}__call_operation`.
    Search,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tools" => Ok(Mode::Tools),
            "dispatch" => Ok(Mode::Dispatch),
            "search" => Ok(Mode::Search),
            other => Err(format!(
                "unknown mode `{other}`; use tools, dispatch or search"
            )),
        }
    }
}

/// What `convert` needs besides the bytes.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// The API's name in the gateway; prefixes the dispatch/search meta-tools (`{api}__call_operation`).
    pub api_name: String,
    /// Where the document came from (path or URL); external `$ref`s are resolved against it.
    pub source: String,
    /// Which operations to keep.
    pub filter: Filter,
    /// Postman `{{variables}}` that override the collection's own.
    pub variables: BTreeMap<String, String>,
    /// Exposure mode; `None` picks tools below `dispatch_threshold` operations, dispatch at or above.
    pub mode: Option<Mode>,
    /// Operation count from which the automatic mode switches to dispatch.
    pub dispatch_threshold: usize,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            format: None,
            api_name: "api".to_string(),
            source: String::new(),
            filter: Filter::default(),
            variables: BTreeMap::new(),
            mode: None,
            dispatch_threshold: 200,
        }
    }
}

/// The result of converting one document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conversion {
    pub format: Format,
    /// Title of the API from the document, when it has one.
    pub title: Option<String>,
    /// The API's name (from the options).
    pub api_name: String,
    /// The mode chosen (explicit or automatic).
    pub mode: Mode,
    /// Every operation found in the document (tools + skipped + excluded diagnostics add up to this).
    pub operation_count: usize,
    /// One per operation that became a tool, in document order.
    pub tools: Vec<ConvertedTool>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Conversion {
    /// The tool with this (generated) name.
    pub fn tool(&self, name: &str) -> Option<&ConvertedTool> {
        self.tools.iter().find(|t| t.tool.name == name)
    }
}

/// One operation turned into an MCP tool, with what is needed to execute it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConvertedTool {
    /// The MCP `Tool` object as listed to clients.
    pub tool: McpTool,
    /// How to turn the tool's arguments into a request.
    pub plan: ExecutionPlan,
    /// Where the operation came from (for listing, search and diagnostics).
    pub operation: OperationInfo,
}

/// Identity of a source operation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OperationInfo {
    /// `operationId` (OpenAPI/Swagger), request id/name (Postman), `Query.field` (GraphQL).
    pub id: Option<String>,
    /// Upper-case HTTP method (`POST` for GraphQL).
    pub method: String,
    /// Path template, or the folder path for Postman, or `Query.field`.
    pub path: String,
    pub tags: Vec<String>,
    pub summary: Option<String>,
    pub deprecated: bool,
    /// JSON pointer of the operation in the document.
    pub pointer: String,
}

/// The MCP `Tool` object (serialises exactly as `tools/list` lists it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct McpTool {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub input_schema: JsonText,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_schema: Option<JsonText>,
    pub annotations: ToolAnnotations,
}

/// A JSON value kept as compact text: tool schemas of large APIs take a fraction of the memory of a
/// parsed `Value`, and serialise as-is into `tools/list`. [`JsonText::value`] parses it when needed.
/// Clones share the text (one conversion stores each distinct schema text once).
/// Deserialise it from JSON text (`serde_json::from_str`/`from_slice`), not from a `Value`.
#[derive(Debug, Clone)]
pub struct JsonText(Arc<RawValue>);

impl JsonText {
    /// The JSON text of `value`.
    pub fn from_value(value: &Value) -> Self {
        JsonText::from_raw(raw_text(value))
    }

    pub(crate) fn from_raw(raw: Box<RawValue>) -> Self {
        JsonText(Arc::from(raw))
    }

    /// The parsed value.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

/// The compact JSON text of `value` (`{}` in the impossible case that it does not serialise).
pub(crate) fn raw_text(value: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value)
        .or_else(|_| RawValue::from_string("{}".to_string()))
        .unwrap_or_default()
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(JsonText::from_raw)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<Value> for JsonText {
    fn from(v: Value) -> Self {
        JsonText::from_value(&v)
    }
}

/// MCP tool annotations (hints only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ToolAnnotations {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub read_only_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub destructive_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idempotent_hint: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub open_world_hint: Option<bool>,
}

impl ToolAnnotations {
    /// Hints from the HTTP method: GET/HEAD read-only, DELETE destructive (and idempotent), PUT idempotent.
    pub fn for_method(method: &str, title: Option<String>) -> Self {
        let mut a = ToolAnnotations {
            title,
            open_world_hint: Some(true),
            ..Default::default()
        };
        match method {
            "GET" | "HEAD" | "OPTIONS" => a.read_only_hint = Some(true),
            "DELETE" => {
                a.read_only_hint = Some(false);
                a.destructive_hint = Some(true);
                a.idempotent_hint = Some(true);
            }
            "PUT" => {
                a.read_only_hint = Some(false);
                a.idempotent_hint = Some(true);
            }
            _ => a.read_only_hint = Some(false),
        }
        a
    }
}

/// What a skipped or excluded operation, or a partial conversion, looked like.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    /// `METHOD /path`, a Postman request path, or `Query.field`.
    pub operation: String,
    /// JSON pointer into the document.
    pub pointer: String,
    pub message: String,
}

/// Whether the operation became a tool.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticKind {
    /// The operation could not become a tool.
    Skipped,
    /// The operation was left out by the include/exclude filter.
    Excluded,
    /// The tool exists but something of the operation was dropped or approximated.
    Warning,
}

/// How to execute a tool call. Stored with the tool; serialises with a `kind` tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExecutionPlan {
    Http(HttpPlan),
    Graphql(GraphqlPlan),
}

/// An HTTP request built from the tool's arguments.
///
/// Executor recipe: pick `servers[0]` (or the configured base URL), substitute its variables with their
/// defaults, append `path` after substituting each `{name}` with the path parameter of that name
/// (percent-encoded per `style`), add query/header/cookie parameters, add `headers`, encode the body per
/// `body`, and apply one of the `security` alternatives using `security_schemes`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HttpPlan {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template relative to the server URL; `{name}` placeholders are path parameters' `name`s.
    pub path: String,
    /// Candidate servers in preference order (operation-level, else path-level, else document-level).
    /// A URL may be relative (resolve it against the description's URL) or contain `{variables}`.
    pub servers: Vec<Server>,
    pub parameters: Vec<ParamBinding>,
    pub body: Option<BodyPlan>,
    /// Constant headers to send (Postman request headers whose value does not come from an argument).
    pub headers: Vec<FixedHeader>,
    /// Alternatives: satisfy any one requirement (each lists schemes that must all be applied).
    /// Empty means no authentication.
    pub security: Vec<SecurityRequirement>,
    /// The schemes the requirements name.
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    /// Media types of the success responses, preferred first (for `Accept`).
    pub response_content_types: Vec<String>,
}

/// A server URL with its variables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Server {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub variables: BTreeMap<String, ServerVariable>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerVariable {
    pub default: String,
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty", default)]
    pub enum_values: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

/// OpenAPI serialisation styles.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ParamStyle {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
    /// Swagger 2.0 `collectionFormat: tsv`.
    TabDelimited,
}

/// One parameter of the request and the input property that feeds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParamBinding {
    /// The parameter's name on the wire.
    pub name: String,
    pub location: ParamLocation,
    /// The `inputSchema` property whose value becomes this parameter.
    pub property: String,
    pub required: bool,
    pub style: ParamStyle,
    pub explode: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub allow_reserved: bool,
    /// Set when the parameter is serialised as a media type (OpenAPI `content`), e.g. `application/json`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_type: Option<String>,
    /// Value to send when the argument is absent (Postman values that are not inputs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fixed: Option<String>,
}

/// The request body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BodyPlan {
    /// Media type to send (`application/json`, `application/x-www-form-urlencoded`, `multipart/form-data`, ...).
    pub content_type: String,
    pub required: bool,
    pub binding: BodyBinding,
    /// Fields (body field names) holding binary data, sent as files; their input values are base64 strings.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub binary_fields: Vec<String>,
}

/// Which input properties make the body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BodyBinding {
    /// The whole body is the value of one input property (usually `body`).
    Property { property: String },
    /// The body is an object assembled from these input properties (each `property` -> body `field`).
    Spread { fields: Vec<FieldBinding> },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldBinding {
    pub property: String,
    pub field: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixedHeader {
    pub name: String,
    pub value: String,
}

/// All schemes listed must be applied together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecurityRequirement {
    pub schemes: Vec<SecurityRef>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SecurityRef {
    pub scheme: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scopes: Vec<String>,
}

/// A security scheme, normalised across formats.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SecurityScheme {
    /// Send the key as `name` in the header, query or cookie.
    ApiKey {
        name: String,
        location: ParamLocation,
    },
    /// HTTP `Authorization`: `scheme` is `bearer` or `basic` (lower case) or another RFC 7235 scheme.
    Http {
        scheme: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        bearer_format: Option<String>,
    },
    /// OAuth 2.0; only the client-credentials flow can be run by a gateway unattended.
    #[serde(rename = "oauth2")]
    OAuth2 {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        client_credentials: Option<OAuthFlow>,
        /// Names of the other flows the API declares (`authorizationCode`, `implicit`, `password`, `deviceAuthorization`).
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        other_flows: Vec<String>,
    },
    OpenIdConnect {
        url: String,
    },
    MutualTls,
    /// A scheme the gateway cannot apply (e.g. Postman digest/hawk); `description` says which.
    Unsupported {
        description: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OAuthFlow {
    pub token_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scopes: Vec<String>,
}

/// A GraphQL operation for one root field.
///
/// Executor recipe: POST `{"query": plan.document_for(args.selection), "variables": {...}}` to the
/// configured endpoint, each variable's value taken from the input property named in `variables`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphqlPlan {
    /// `query` or `mutation`.
    pub operation_type: String,
    pub field: String,
    pub variables: Vec<GraphqlVariable>,
    /// The document up to the field's selection set, e.g. `query repository($owner: String!) { repository(owner: $owner)`.
    pub document_head: String,
    /// The default selection set (without braces); empty when the field returns a scalar or enum.
    pub default_selection: String,
    /// The input property that, when given, replaces the default selection (`selection`), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub selection_property: Option<String>,
}

impl GraphqlPlan {
    /// The document to send, with `selection` (the contents of a selection set) instead of the default.
    pub fn document_for(&self, selection: Option<&str>) -> String {
        let sel = selection
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.default_selection);
        let sel = sel.trim();
        let sel = match sel.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(inner) => inner.trim(),
            None => sel,
        };
        if self.selection_property.is_none() || sel.is_empty() {
            format!("{} }}", self.document_head)
        } else {
            format!("{} {{ {} }} }}", self.document_head, sel)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphqlVariable {
    pub name: String,
    pub property: String,
    /// GraphQL type as written in the variable definition (`[String!]!`).
    pub graphql_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_text_round_trips_and_embeds_verbatim() {
        let schema = json!({"type": "object", "properties": {"b": {}, "a": {"type": "string"}}});
        let text = JsonText::from_value(&schema);
        assert_eq!(
            text.as_str(),
            r#"{"type":"object","properties":{"b":{},"a":{"type":"string"}}}"#
        );
        assert_eq!(text.value(), schema);
        let tool = McpTool {
            name: "t".into(),
            title: None,
            description: None,
            input_schema: text.clone(),
            output_schema: None,
            annotations: ToolAnnotations::for_method("GET", None),
        };
        let wire = serde_json::to_string(&tool).unwrap_or_default();
        assert!(
            wire.contains(
                r#""inputSchema":{"type":"object","properties":{"b":{},"a":{"type":"string"}}}"#
            ),
            "{wire}"
        );
        let back: Result<McpTool, _> = serde_json::from_str(&wire);
        assert_eq!(back.ok().map(|t| t.input_schema), Some(text));
    }

    #[test]
    fn graphql_document_takes_a_selection_with_or_without_braces() {
        let plan = GraphqlPlan {
            operation_type: "query".into(),
            field: "viewer".into(),
            variables: Vec::new(),
            document_head: "query viewer { viewer".into(),
            default_selection: "login".into(),
            selection_property: Some("selection".into()),
        };
        assert_eq!(plan.document_for(None), "query viewer { viewer { login } }");
        assert_eq!(
            plan.document_for(Some("{ id org { name } }")),
            "query viewer { viewer { id org { name } } }"
        );
        assert_eq!(
            plan.document_for(Some("  ")),
            "query viewer { viewer { login } }"
        );
    }
}
