//! JSON-RPC 2.0 messages: parsing with errors that say what is wrong and where, and serialisation.
//!
//! Params and results stay `serde_json::Value` so that fields of any protocol revision (including
//! ones newer than this code) pass through the gateway untouched.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, RpcError};

/// A request id. `Null` only appears in error responses to messages whose id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    String(String),
    Null,
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
            Self::Null => f.write_str("null"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub method: String,
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub method: String,
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: RequestId,
    pub outcome: Result<Value, RpcError>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    Notification(Notification),
    Response(Response),
}

/// A message that could not be understood, with the id to answer it under (null when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidMessage {
    pub id: RequestId,
    /// Boxed: parse failures are rare and should not bloat every parse result.
    pub error: Box<RpcError>,
}

impl InvalidMessage {
    pub fn into_response(self) -> Response {
        Response::error(self.id, *self.error)
    }
}

/// One HTTP body or stdio line: a single message or a batch (allowed by 2025-03-26 only, but
/// accepted from every client because refusing them helps nobody).
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Single(Result<Message, InvalidMessage>),
    Batch(Vec<Result<Message, InvalidMessage>>),
}

impl Payload {
    /// Parses raw bytes. A body that is not JSON at all is a single invalid message.
    pub fn parse(bytes: &[u8]) -> Self {
        // The common case, one well-formed object, is read into its members directly, without a
        // map of them; anything else (a batch, invalid JSON, a duplicate member) takes the general
        // path below, which says precisely what is wrong.
        if bytes.trim_ascii_start().starts_with(b"{")
            && let Ok(members) = serde_json::from_slice::<Members>(bytes)
        {
            return Self::Single(members.into_message());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Array(items)) if items.is_empty() => Self::Single(Err(InvalidMessage {
                id: RequestId::Null,
                error: Box::new(RpcError::new(
                    ErrorCode::INVALID_REQUEST,
                    "empty batch: a JSON-RPC batch must contain at least one message",
                )),
            })),
            Ok(Value::Array(items)) => {
                Self::Batch(items.into_iter().map(Message::from_value).collect())
            }
            Ok(value) => Self::Single(Message::from_value(value)),
            Err(err) => Self::Single(Err(InvalidMessage {
                id: RequestId::Null,
                error: Box::new(RpcError::new(
                    ErrorCode::PARSE_ERROR,
                    format!("body is not valid JSON: {err}"),
                )),
            })),
        }
    }
}

impl Request {
    pub fn new(id: RequestId, method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            id,
            method: method.into(),
            params,
        }
    }

    /// The params as an object (an absent params member reads as empty).
    pub fn params_object(&self) -> Result<&Map<String, Value>, RpcError> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match &self.params {
            None => Ok(EMPTY.get_or_init(Map::new)),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(RpcError::invalid_params(format!(
                "params of {} must be an object",
                self.method
            ))),
        }
    }

    /// A required string member of params, with an error that names it.
    pub fn str_param(&self, name: &str) -> Result<&str, RpcError> {
        match self.params_object()?.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(RpcError::invalid_params(format!(
                "params.{name} of {} must be a string",
                self.method
            ))),
            None => Err(RpcError::invalid_params(format!(
                "params.{name} is required for {}",
                self.method
            ))),
        }
    }
}

impl Notification {
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            method: method.into(),
            params,
        }
    }
}

impl Response {
    pub fn ok(id: RequestId, result: Value) -> Self {
        Self {
            id,
            outcome: Ok(result),
        }
    }

    pub fn error(id: RequestId, error: RpcError) -> Self {
        Self {
            id,
            outcome: Err(error),
        }
    }
}

fn invalid(id: RequestId, message: impl Into<String>) -> InvalidMessage {
    InvalidMessage {
        id,
        error: Box::new(RpcError::new(ErrorCode::INVALID_REQUEST, message)),
    }
}

/// The members of a message that decide what it is; any other member is ignored. Each is `None`
/// when absent and `Some(Value::Null)` when written as `null`.
#[derive(Deserialize)]
struct Members {
    #[serde(default, deserialize_with = "present")]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    method: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Value>,
}

/// A member that is present, `null` included (serde reads a `null` `Option` as absent).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl Members {
    /// The message these members make, saying precisely what is wrong when they make none.
    fn into_message(self) -> Result<Message, InvalidMessage> {
        let id = match self.id {
            None => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(n) => Some(RequestId::Number(n)),
                None => {
                    return Err(invalid(
                        RequestId::Null,
                        "id must be a string or an integer",
                    ));
                }
            },
            Some(Value::String(s)) => Some(RequestId::String(s)),
            Some(Value::Null) => Some(RequestId::Null),
            Some(_) => {
                return Err(invalid(
                    RequestId::Null,
                    "id must be a string or an integer",
                ));
            }
        };
        let answer_id = id.clone().unwrap_or(RequestId::Null);
        match &self.jsonrpc {
            Some(Value::String(v)) if v == "2.0" => {}
            Some(_) => return Err(invalid(answer_id, "jsonrpc must be \"2.0\"")),
            None => return Err(invalid(answer_id, "missing member \"jsonrpc\": \"2.0\"")),
        }
        let params = self.params;
        if let Some(p) = &params
            && !(p.is_object() || p.is_array())
        {
            return Err(invalid(answer_id, "params must be an object or an array"));
        }
        match self.method {
            Some(Value::String(method)) => match id {
                Some(RequestId::Null) => {
                    Err(invalid(RequestId::Null, "a request id must not be null"))
                }
                Some(id) => Ok(Message::Request(Request { id, method, params })),
                None => Ok(Message::Notification(Notification { method, params })),
            },
            Some(_) => Err(invalid(answer_id, "method must be a string")),
            None => {
                let Some(id) = id else {
                    return Err(invalid(
                        RequestId::Null,
                        "a message needs \"method\" (request or notification) or \"id\" with \"result\"/\"error\" (response)",
                    ));
                };
                let outcome = match (self.result, self.error) {
                    (Some(result), None) => Ok(result),
                    (None, Some(error)) => {
                        Err(serde_json::from_value::<RpcError>(error).map_err(|e| {
                            invalid(id.clone(), format!("malformed error object: {e}"))
                        })?)
                    }
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            id,
                            "a response has either result or error, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(invalid(id, "a response needs result or error"));
                    }
                };
                Ok(Message::Response(Response { id, outcome }))
            }
        }
    }
}

impl Message {
    /// Reads one message from a JSON value, saying precisely what is wrong when it is not one.
    pub fn from_value(value: Value) -> Result<Self, InvalidMessage> {
        let Value::Object(mut obj) = value else {
            return Err(invalid(
                RequestId::Null,
                "a JSON-RPC message must be a JSON object",
            ));
        };
        Members {
            jsonrpc: obj.remove("jsonrpc"),
            id: obj.remove("id"),
            method: obj.remove("method"),
            params: obj.remove("params"),
            result: obj.remove("result"),
            error: obj.remove("error"),
        }
        .into_message()
    }

    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            Self::Response(_) => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a JSON value always serialises")
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Request(r) => r.serialize(s),
            Self::Notification(n) => n.serialize(s),
            Self::Response(r) => r.serialize(s),
        }
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("method", &self.method)?;
        if let Some(p) = &self.params {
            map.serialize_entry("params", p)?;
        }
        map.end()
    }
}

impl Serialize for Notification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("method", &self.method)?;
        if let Some(p) = &self.params {
            map.serialize_entry("params", p)?;
        }
        map.end()
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        match &self.outcome {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Self::Request(r)
    }
}

impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Self::Notification(n)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Self::Response(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single(bytes: &str) -> Result<Message, InvalidMessage> {
        match Payload::parse(bytes.as_bytes()) {
            Payload::Single(m) => m,
            Payload::Batch(_) => panic!("expected a single message"),
        }
    }

    #[test]
    fn parses_each_kind_and_round_trips() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"a","result":{"tools":[]}}"#,
            r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"nope"}}"#,
        ] {
            let msg = single(text).expect(text);
            let back: Value = serde_json::from_str(&msg.to_json()).unwrap();
            assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            ("not json", ErrorCode::PARSE_ERROR, "not valid JSON"),
            ("[]", ErrorCode::INVALID_REQUEST, "empty batch"),
            ("3", ErrorCode::INVALID_REQUEST, "must be a JSON object"),
            (
                r#"{"id":1,"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
                "jsonrpc",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                ErrorCode::INVALID_REQUEST,
                "method must be a string",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
                "id must be",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
                ErrorCode::INVALID_REQUEST,
                "params must be",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1}"#,
                ErrorCode::INVALID_REQUEST,
                "result or error",
            ),
        ];
        for (text, code, needle) in cases {
            let err = single(text).expect_err(text).error;
            assert_eq!(err.code, code, "{text}");
            assert!(err.message.contains(needle), "{text}: {}", err.message);
        }
    }

    #[test]
    fn an_object_read_into_its_members_reads_as_through_a_map() {
        let texts = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{}}}"#,
            r#" {"method":"notifications/progress","jsonrpc":"2.0","params":{"progress":1}}"#,
            r#"{"jsonrpc":"2.0","id":"s","result":{"content":[]},"extra":true}"#,
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":5,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":6,"result":1,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":null,"id":7,"method":"x"}"#,
            // A duplicate member fails the direct reading; the map keeps the last one.
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#,
        ];
        for text in texts {
            let through_map = Message::from_value(serde_json::from_str(text).expect("JSON"));
            assert_eq!(single(text), through_map, "{text}");
        }
        let Ok(Message::Request(duplicate)) = single(texts[10]) else {
            panic!("a request")
        };
        assert_eq!(duplicate.id, RequestId::Number(2));
        let null_id = single(texts[4]).expect_err("a null request id");
        assert!(null_id.error.message.contains("must not be null"));
    }

    #[test]
    fn invalid_message_keeps_its_id_when_readable() {
        let err = single(r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
        assert_eq!(err.id, RequestId::Number(7));
    }

    #[test]
    fn batch_items_are_parsed_independently() {
        let Payload::Batch(items) =
            Payload::parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 4]"#)
        else {
            panic!("expected a batch")
        };
        assert!(items[0].is_ok());
        assert!(items[1].is_err());
    }

    #[test]
    fn str_param_names_the_missing_member() {
        let req = Request::new(RequestId::Number(1), "tools/call", Some(json!({})));
        let err = req.str_param("name").unwrap_err();
        assert_eq!(err.code, ErrorCode::INVALID_PARAMS);
        assert!(err.message.contains("params.name"));
    }
}
