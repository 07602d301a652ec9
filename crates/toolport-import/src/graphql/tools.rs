//! GraphQL root fields to tools: arguments to JSON Schema (input objects inlined, recursive ones as
//! `$defs`), a default selection set of scalar fields to a bounded depth, and the operation document.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::{Field, InputValue, Kind, Schema, TypeRef};
use crate::collect::{Collector, Draft, MAX_DESCRIPTION, MAX_TITLE, bound};
use crate::model::{ExecutionPlan, GraphqlPlan, GraphqlVariable, OperationInfo, ToolAnnotations};
use crate::naming::Namer;

/// Object levels below the root field that the default selection descends into.
const SELECTION_DEPTH: usize = 1;
/// Scalar fields taken for the returned object, and for each nested object, in the default selection.
const MAX_SCALARS: [usize; 2] = [20, 8];
/// Nested object fields (without arguments) taken per object in the default selection.
const MAX_NESTED: usize = 4;
/// Scalar fields selected first when present.
const PREFERRED: [&str; 12] = [
    "id",
    "name",
    "login",
    "title",
    "number",
    "state",
    "url",
    "nameWithOwner",
    "email",
    "description",
    "createdAt",
    "updatedAt",
];
/// Schema nodes to inline per tool before input objects go to `$defs`.
const INLINE_BUDGET: usize = 400;

pub(crate) fn convert(schema: &Schema, out: &mut Collector<'_>) {
    for (op_type, root) in [("query", &schema.query), ("mutation", &schema.mutation)] {
        let Some(root) = root else { continue };
        let Some(def) = schema.types.get(root) else {
            continue;
        };
        for (i, f) in def.fields.iter().enumerate() {
            let info = OperationInfo {
                id: Some(format!("{root}.{}", f.name)),
                method: op_type.to_ascii_uppercase(),
                path: format!("{root}.{}", f.name),
                tags: vec![root.clone()],
                summary: f
                    .description
                    .as_deref()
                    .map(|d| bound(d.lines().next().unwrap_or(d), MAX_TITLE)),
                deprecated: f.deprecated.is_some(),
                pointer: format!("/types/{root}/fields/{i}"),
            };
            let preferred = if op_type == "query" {
                f.name.clone()
            } else {
                format!("{op_type}_{}", f.name)
            };
            out.add(info, &preferred, &format!("{op_type}_{}", f.name), || {
                build(schema, op_type, f)
            });
        }
    }
}

fn build(schema: &Schema, op_type: &str, f: &Field) -> Result<Draft, String> {
    let ret = f.ty.named();
    let ret_kind = schema
        .kind(ret)
        .ok_or_else(|| format!("return type `{ret}` is not defined in the schema"))?;
    let mut inputs = InputSchemas {
        schema,
        defs: Map::new(),
        stack: Vec::new(),
        produced: 0,
        missing: Vec::new(),
    };
    let mut names = Namer::properties();
    let mut props = Map::new();
    let mut required = Vec::new();
    let mut variables = Vec::new();
    for a in &f.args {
        let property = names.claim(&a.name, "arg");
        let mut s = inputs.type_schema(&a.ty);
        if let (Some(d), Value::Object(m)) = (&a.description, &mut s) {
            m.entry("description")
                .or_insert_with(|| Value::String(bound(d, 300)));
        }
        props.insert(property.clone(), s);
        if a.ty.is_non_null() && !a.has_default {
            required.push(Value::String(property.clone()));
        }
        variables.push(GraphqlVariable {
            name: a.name.clone(),
            property,
            graphql_type: a.ty.render(),
        });
    }
    let composite = matches!(ret_kind, Kind::Object | Kind::Interface | Kind::Union);
    let mut default_selection = String::new();
    let mut selection_property = None;
    if composite {
        default_selection = selection(schema, ret, 0, &mut HashSet::new());
        let property = names.claim("selection", "selection");
        props.insert(
            property.clone(),
            json!({"type": "string", "description": format!("GraphQL selection set for the `{ret}` result (fields inside the braces). Default: {}", bound(&default_selection, 400))}),
        );
        selection_property = Some(property);
    }
    let mut input = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        input["required"] = Value::Array(required);
    }
    if !inputs.defs.is_empty() {
        input["$defs"] = Value::Object(std::mem::take(&mut inputs.defs));
    }
    let var_defs: Vec<String> = f
        .args
        .iter()
        .map(|a| format!("${}: {}", a.name, a.ty.render()))
        .collect();
    let call_args: Vec<String> = f
        .args
        .iter()
        .map(|a| format!("{0}: ${0}", a.name))
        .collect();
    let head = format!(
        "{op_type} {}{} {{ {}{}",
        f.name,
        if var_defs.is_empty() {
            String::new()
        } else {
            format!("({})", var_defs.join(", "))
        },
        f.name,
        if call_args.is_empty() {
            String::new()
        } else {
            format!("({})", call_args.join(", "))
        }
    );
    let mut description = f.description.clone().unwrap_or_else(|| {
        format!(
            "GraphQL {op_type} `{}` returning `{}`.",
            f.name,
            f.ty.render()
        )
    });
    if let Some(reason) = &f.deprecated {
        description.push_str(&format!("\n\nDeprecated. {reason}"));
    }
    let title = Some(bound(&f.name, MAX_TITLE));
    let mut annotations = ToolAnnotations {
        title: title.clone(),
        open_world_hint: Some(true),
        ..Default::default()
    };
    annotations.read_only_hint = Some(op_type == "query");
    let warnings = inputs
        .missing
        .iter()
        .map(|t| format!("input type `{t}` is not defined; that argument accepts any value"))
        .collect();
    let plan = GraphqlPlan {
        operation_type: op_type.to_string(),
        field: f.name.clone(),
        variables,
        document_head: head,
        default_selection,
        selection_property,
    };
    Ok(Draft {
        title,
        description: Some(bound(&description, MAX_DESCRIPTION)),
        input_schema: input,
        output_schema: None,
        annotations,
        plan: ExecutionPlan::Graphql(plan),
        warnings,
    })
}

/// Builds argument schemas of one tool.
struct InputSchemas<'s> {
    schema: &'s Schema,
    defs: Map<String, Value>,
    stack: Vec<String>,
    produced: usize,
    missing: Vec<String>,
}

impl InputSchemas<'_> {
    fn type_schema(&mut self, t: &TypeRef) -> Value {
        match t {
            TypeRef::NonNull(inner) => self.type_schema(inner),
            TypeRef::List(inner) => json!({"type": "array", "items": self.type_schema(inner)}),
            TypeRef::Named(n) => self.named(n),
        }
    }

    fn named(&mut self, name: &str) -> Value {
        self.produced += 1;
        let Some(kind) = self.schema.kind(name) else {
            if !self.missing.iter().any(|m| m == name) {
                self.missing.push(name.to_string());
            }
            return json!({});
        };
        let def = self.schema.types.get(name);
        match kind {
            Kind::Scalar => scalar(name, def.and_then(|d| d.description.as_deref())),
            Kind::Enum => {
                json!({"type": "string", "enum": def.map(|d| d.enum_values.clone()).unwrap_or_default()})
            }
            Kind::InputObject => {
                let reference = json!({"$ref": format!("#/$defs/{name}")});
                if self.defs.contains_key(name) || self.stack.iter().any(|s| s == name) {
                    return reference;
                }
                let force_def = self.produced > INLINE_BUDGET;
                self.stack.push(name.to_string());
                let fields: Vec<InputValue> =
                    def.map(|d| d.input_fields.clone()).unwrap_or_default();
                let mut props = Map::new();
                let mut required = Vec::new();
                for iv in &fields {
                    let mut s = self.type_schema(&iv.ty);
                    if let (Some(d), Value::Object(m)) = (&iv.description, &mut s) {
                        m.entry("description")
                            .or_insert_with(|| Value::String(bound(d, 300)));
                    }
                    props.insert(iv.name.clone(), s);
                    if iv.ty.is_non_null() && !iv.has_default {
                        required.push(Value::String(iv.name.clone()));
                    }
                }
                self.stack.pop();
                let mut s = json!({"type": "object", "properties": props});
                if !required.is_empty() {
                    s["required"] = Value::Array(required);
                }
                if let Some(d) = def.and_then(|d| d.description.as_deref()) {
                    s["description"] = Value::String(bound(d, 300));
                }
                let referenced_inside = contains_ref(&s, name);
                if force_def || referenced_inside {
                    self.defs.insert(name.to_string(), s);
                    reference
                } else {
                    s
                }
            }
            Kind::Object | Kind::Interface | Kind::Union => json!({}),
        }
    }
}

fn contains_ref(v: &Value, name: &str) -> bool {
    let target = format!("#/$defs/{name}");
    match v {
        Value::Object(m) => {
            m.get("$ref").and_then(Value::as_str) == Some(target.as_str())
                || m.values().any(|c| contains_ref(c, name))
        }
        Value::Array(a) => a.iter().any(|c| contains_ref(c, name)),
        _ => false,
    }
}

fn scalar(name: &str, description: Option<&str>) -> Value {
    let mut s = match name {
        "Int" => json!({"type": "integer"}),
        "Float" => json!({"type": "number"}),
        "Boolean" => json!({"type": "boolean"}),
        "String" | "ID" => json!({"type": "string"}),
        other => json!({"type": "string", "description": format!("Custom scalar `{other}`.")}),
    };
    if let Some(d) = description
        && !matches!(name, "Int" | "Float" | "Boolean" | "String" | "ID")
    {
        s["description"] = Value::String(format!("Custom scalar `{name}`: {}", bound(d, 200)));
    }
    s
}

/// The default selection set (contents only) for an object, interface or union type.
fn selection(schema: &Schema, type_name: &str, depth: usize, seen: &mut HashSet<String>) -> String {
    let Some(def) = schema.types.get(type_name) else {
        return "__typename".to_string();
    };
    if def.kind == Kind::Union {
        return "__typename".to_string();
    }
    let selectable = |f: &&Field| {
        !f.args.iter().any(|a| a.ty.is_non_null() && !a.has_default) && f.deprecated.is_none()
    };
    let mut scalars: Vec<&Field> = def
        .fields
        .iter()
        .filter(selectable)
        .filter(|f| matches!(schema.kind(f.ty.named()), Some(Kind::Scalar | Kind::Enum)))
        .collect();
    scalars.sort_by_key(|f| {
        PREFERRED
            .iter()
            .position(|p| *p == f.name)
            .unwrap_or(PREFERRED.len())
    });
    let max = MAX_SCALARS.get(depth).copied().unwrap_or(0);
    let mut parts: Vec<String> = scalars
        .into_iter()
        .take(max)
        .map(|f| f.name.clone())
        .collect();
    if depth < SELECTION_DEPTH {
        seen.insert(type_name.to_string());
        let mut nested = 0;
        for f in def
            .fields
            .iter()
            .filter(selectable)
            .filter(|f| f.args.is_empty())
        {
            if nested >= MAX_NESTED {
                break;
            }
            let t = f.ty.named();
            if !matches!(schema.kind(t), Some(Kind::Object | Kind::Interface)) || seen.contains(t) {
                continue;
            }
            let inner = selection(schema, t, depth + 1, seen);
            if inner.is_empty() || inner == "__typename" {
                continue;
            }
            parts.push(format!("{} {{ {inner} }}", f.name));
            nested += 1;
        }
        seen.remove(type_name);
    }
    if parts.is_empty() {
        "__typename".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::filter::{CompiledFilter, Filter};

    #[test]
    fn fields_become_tools_with_selection_and_document() {
        let sdl = "type Query { user(id: ID!, filter: UserFilter): User }
            type Mutation { rename(id: ID!, name: String!): User }
            input UserFilter { role: Role, and: [UserFilter!] }
            enum Role { ADMIN USER }
            type User { id: ID! name: String friends(first: Int): [User] org: Org }
            type Org { login: String }";
        let schema = parse::sdl(sdl).unwrap_or_default();
        let filter = CompiledFilter::new(&Filter::default()).ok();
        let Some(filter) = filter else { return };
        let mut out = Collector::new(&filter);
        convert(&schema, &mut out);
        assert_eq!(out.tools.len(), 2);
        let user = &out.tools[0];
        assert_eq!(user.tool.name, "user");
        assert_eq!(user.tool.input_schema.value()["required"], json!(["id"]));
        assert_eq!(
            user.tool.input_schema.value()["properties"]["filter"]["$ref"],
            "#/$defs/UserFilter"
        );
        assert_eq!(
            user.tool.input_schema.value()["$defs"]["UserFilter"]["properties"]["role"]["enum"],
            json!(["ADMIN", "USER"])
        );
        let ExecutionPlan::Graphql(plan) = &user.plan else {
            panic!("expected a GraphQL plan")
        };
        assert_eq!(
            plan.document_for(None),
            "query user($id: ID!, $filter: UserFilter) { user(id: $id, filter: $filter) { id name org { login } } }"
        );
        assert_eq!(
            plan.document_for(Some("{ id }")),
            "query user($id: ID!, $filter: UserFilter) { user(id: $id, filter: $filter) { id } }"
        );
        assert_eq!(out.tools[1].tool.name, "mutation_rename");
        assert_eq!(out.tools[1].tool.annotations.read_only_hint, Some(false));
    }
}
