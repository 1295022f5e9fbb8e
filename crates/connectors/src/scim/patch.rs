//! SCIM PATCH (RFC 7644 §3.5.2): `add`, `replace` and `remove` with and
//! without a path, value-path filters (`members[value eq "…"]`,
//! `emails[type eq "work"].value`) and the multi-valued merge rules, applied
//! to a resource's JSON document.
//!
//! Attribute names match case-insensitively. The document is checked against
//! the schema afterwards by the caller, which also restores canonical names.
//!
//! Two tolerances for the identity providers that matter: an operation name
//! in any case (`Replace`, as Entra ID sends), and `remove` with a `value`
//! list on a multi-valued attribute (`{"op":"remove","path":"members",
//! "value":[{"value":"id"}]}`), which removes those values. An `add` or
//! `replace` whose value filter is one equality and matches nothing adds the
//! element the filter describes (`emails[type eq "work"].value` on a user
//! without a work email), which is what Entra ID expects.

use super::filter::{AttrPath, CompareOp, Filter, FilterError, get_ci};
use serde_json::{Map, Value};
use std::fmt;

/// The most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Why a PATCH failed, with RFC 7644's `scimType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchError {
    /// `invalidSyntax`, `invalidPath`, `invalidFilter`, `noTarget` or `invalidValue`.
    pub scim_type: &'static str,
    pub detail: String,
}

impl PatchError {
    fn new(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            scim_type,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scim_type, self.detail)
    }
}

impl std::error::Error for PatchError {}

impl From<FilterError> for PatchError {
    fn from(e: FilterError) -> Self {
        Self::new("invalidFilter", e.0)
    }
}

/// What PATCH needs to know about the resource's schema.
pub trait PatchSchema {
    /// The URI of the core schema (paths qualified with it read the top level).
    fn core(&self) -> &str;
    /// The canonical URI when `uri` names an extension schema of the resource.
    fn extension(&self, uri: &str) -> Option<String>;
    /// Whether the attribute is multi-valued (for a value added where none was).
    fn multi_valued(&self, extension: Option<&str>, name: &str) -> bool;
}

/// Reads a PatchOp request body (`schemas`, `Operations`).
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, PatchError> {
    const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    let syntax = |detail: String| PatchError::new("invalidSyntax", detail);
    if !body.is_object() {
        return Err(syntax("the body is not a JSON object".into()));
    }
    if let Some(schemas) = get_ci(body, "schemas") {
        let names = schemas
            .as_array()
            .ok_or_else(|| syntax("`schemas` is not an array".into()))?;
        if !names
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP)))
        {
            return Err(syntax(format!("`schemas` must contain {PATCH_OP}")));
        }
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("`Operations` is missing or not an array".into()))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(syntax(format!(
            "{} operations in one request; send at most {MAX_OPERATIONS}",
            operations.len()
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let name = get_ci(op, "op").and_then(Value::as_str).ok_or_else(|| {
                syntax(format!(
                    "operation {i} has no `op` (add, replace or remove)"
                ))
            })?;
            let op_kind = match name.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                _ => {
                    return Err(syntax(format!(
                        "operation {i}: `op` is '{name}', not add, replace or remove"
                    )));
                }
            };
            let path = match get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.trim().to_owned()),
                Some(_) => return Err(syntax(format!("operation {i}: `path` is not a string"))),
            };
            let value = get_ci(op, "value").cloned().filter(|v| !v.is_null());
            if op_kind != Op::Remove && value.is_none() {
                return Err(syntax(format!("operation {i} ({name}) has no `value`")));
            }
            Ok(Operation {
                op: op_kind,
                path,
                value,
            })
        })
        .collect()
}

/// A PATCH target: `attrPath`, or `attrPath[filter]` with an optional `.sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
}

impl Target {
    pub fn parse(path: &str) -> Result<Self, PatchError> {
        let invalid = |why: &str| PatchError::new("invalidPath", format!("path '{path}' {why}"));
        match path.find('[') {
            None => Ok(Self {
                attr: AttrPath::parse(path).map_err(|_| invalid("is not an attribute path"))?,
                filter: None,
            }),
            Some(open) => {
                let close = path
                    .rfind(']')
                    .ok_or_else(|| invalid("has '[' without ']'"))?;
                if close < open {
                    return Err(invalid("has ']' before '['"));
                }
                let mut attr = AttrPath::parse(&path[..open])
                    .map_err(|_| invalid("is not an attribute path"))?;
                if attr.sub.is_some() {
                    return Err(invalid("filters a sub-attribute"));
                }
                let filter = Filter::parse(&path[open + 1..close])?;
                let rest = &path[close + 1..];
                if !rest.is_empty() {
                    let sub = rest
                        .strip_prefix('.')
                        .filter(|s| !s.is_empty() && !s.contains(['.', '[', ']']))
                        .ok_or_else(|| {
                            invalid("has something other than '.subAttribute' after ']'")
                        })?;
                    attr.sub = Some(sub.to_owned());
                }
                Ok(Self {
                    attr,
                    filter: Some(filter),
                })
            }
        }
    }
}

/// Applies the operations to `doc` in order; on error `doc` may be partly
/// changed (the caller discards it).
pub fn apply(
    doc: &mut Value,
    operations: &[Operation],
    schema: &dyn PatchSchema,
) -> Result<(), PatchError> {
    for operation in operations {
        apply_one(doc, operation, schema)?;
    }
    Ok(())
}

fn apply_one(
    doc: &mut Value,
    operation: &Operation,
    schema: &dyn PatchSchema,
) -> Result<(), PatchError> {
    let value = operation.value.clone().unwrap_or(Value::Null);
    match &operation.path {
        None => {
            if operation.op == Op::Remove {
                return Err(PatchError::new(
                    "noTarget",
                    "a remove operation needs a `path`",
                ));
            }
            let Value::Object(attributes) = value else {
                return Err(PatchError::new(
                    "invalidValue",
                    "without a `path`, the `value` must be an object of attributes",
                ));
            };
            for (key, value) in attributes {
                apply_key(doc, operation.op, &key, value, schema)?;
            }
            Ok(())
        }
        Some(path) => apply_key(doc, operation.op, path, value, schema),
    }
}

/// Applies at `path`, which may also be an extension's URI (its value then
/// being an object of that extension's attributes).
fn apply_key(
    doc: &mut Value,
    op: Op,
    path: &str,
    value: Value,
    schema: &dyn PatchSchema,
) -> Result<(), PatchError> {
    if let Some(extension) = schema.extension(path) {
        if op == Op::Remove {
            if let Some(map) = doc.as_object_mut() {
                remove_ci(map, &extension);
            }
            return Ok(());
        }
        let Value::Object(attributes) = value else {
            return Err(PatchError::new(
                "invalidValue",
                format!("the value for extension {extension} must be an object of its attributes"),
            ));
        };
        for (key, value) in attributes {
            let target = Target::parse(&key)?;
            let target = Target {
                attr: AttrPath {
                    uri: Some(extension.clone()),
                    ..target.attr
                },
                ..target
            };
            apply_target(doc, op, &target, value, schema)?;
        }
        return Ok(());
    }
    let target = Target::parse(path)?;
    apply_target(doc, op, &target, value, schema)
}

fn object(value: &mut Value) -> Result<&mut Map<String, Value>, PatchError> {
    value
        .as_object_mut()
        .ok_or_else(|| PatchError::new("invalidValue", "the target is not an object"))
}

/// The key of `name` in `map` (case-insensitive), or `name` itself.
fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    let key = key_of(map, name);
    map.remove(&key);
}

fn apply_target(
    doc: &mut Value,
    op: Op,
    target: &Target,
    value: Value,
    schema: &dyn PatchSchema,
) -> Result<(), PatchError> {
    let attr = &target.attr;
    let extension = match &attr.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(schema.core()) => Some(
            schema
                .extension(uri)
                .ok_or_else(|| PatchError::new("invalidPath", format!("unknown schema {uri}")))?,
        ),
        _ => None,
    };
    let root = object(doc)?;
    let container = match &extension {
        Some(uri) => {
            let key = key_of(root, uri);
            if op == Op::Remove && !root.contains_key(&key) {
                return Ok(());
            }
            let slot = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            object(slot)?
        }
        None => root,
    };
    let multi = schema.multi_valued(extension.as_deref(), &attr.name);
    let key = key_of(container, &attr.name);
    match &target.filter {
        None => apply_plain(container, key, attr.sub.as_deref(), op, value, multi),
        Some(filter) => apply_filtered(container, key, filter, attr.sub.as_deref(), op, value),
    }?;
    // An extension left empty is no extension.
    if let Some(uri) = &extension {
        let root = object(doc)?;
        let key = key_of(root, uri);
        if root
            .get(&key)
            .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
        {
            root.remove(&key);
        }
    }
    Ok(())
}

fn as_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// The same element for multi-valued merging: equal, or with the same
/// `value` (and the same `type` where both have one).
fn same_element(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (get_ci(a, "value"), get_ci(b, "value")) {
        (Some(x), Some(y)) if x == y => match (get_ci(a, "type"), get_ci(b, "type")) {
            (Some(s), Some(t)) => s == t,
            _ => true,
        },
        _ => false,
    }
}

/// A new element marked `primary` takes the mark from the others.
fn settle_primary(items: &mut [Value], added: &[Value]) {
    let new_primary = added
        .iter()
        .find(|v| get_ci(v, "primary") == Some(&Value::Bool(true)));
    if let Some(primary) = new_primary {
        for item in items.iter_mut() {
            if !same_element(item, primary)
                && let Some(map) = item.as_object_mut()
            {
                let key = key_of(map, "primary");
                if map.contains_key(&key) {
                    map.insert(key, Value::Bool(false));
                }
            }
        }
    }
}

fn merge_into(target: &mut Value, value: Value) {
    match (target.as_object_mut(), value) {
        (Some(map), Value::Object(new)) => {
            for (k, v) in new {
                let key = key_of(map, &k);
                map.insert(key, v);
            }
        }
        (_, value) => *target = value,
    }
}

fn apply_plain(
    container: &mut Map<String, Value>,
    key: String,
    sub: Option<&str>,
    op: Op,
    value: Value,
    multi: bool,
) -> Result<(), PatchError> {
    if let Some(sub) = sub {
        let Some(existing) = container.get_mut(&key) else {
            if op == Op::Remove {
                return Ok(());
            }
            let mut map = Map::new();
            map.insert(sub.to_owned(), value);
            container.insert(key, Value::Object(map));
            return Ok(());
        };
        let elements: Vec<&mut Value> = match existing {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for element in elements {
            let map = object(element)?;
            let sub_key = key_of(map, sub);
            if op == Op::Remove {
                map.remove(&sub_key);
            } else {
                map.insert(sub_key, value.clone());
            }
        }
        return Ok(());
    }
    match op {
        Op::Remove => {
            if !value.is_null()
                && let Some(Value::Array(items)) = container.get_mut(&key)
            {
                // Remove these values only (Entra ID's member removal).
                let gone = as_list(value);
                items.retain(|item| !gone.iter().any(|g| same_element(item, g)));
                if items.is_empty() {
                    container.remove(&key);
                }
            } else {
                container.remove(&key);
            }
        }
        Op::Replace => {
            if multi {
                let items = as_list(value);
                container.insert(key, Value::Array(items));
            } else {
                match container.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_into(existing, value);
                    }
                    _ => {
                        container.insert(key, value);
                    }
                }
            }
        }
        Op::Add => {
            if multi {
                let added = as_list(value);
                let slot = container
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    let single = std::mem::take(slot);
                    *slot = Value::Array(vec![single]);
                }
                if let Value::Array(items) = slot {
                    for new in &added {
                        match items.iter_mut().find(|item| same_element(item, new)) {
                            Some(existing) => merge_into(existing, new.clone()),
                            None => items.push(new.clone()),
                        }
                    }
                    settle_primary(items, &added);
                }
            } else {
                match container.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_into(existing, value);
                    }
                    _ => {
                        container.insert(key, value);
                    }
                }
            }
        }
    }
    Ok(())
}

/// The element a one-equality filter (`type eq "work"`) describes.
fn described_element(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.uri.is_none() && path.sub.is_none() && !value.is_null() => {
            let mut map = Map::new();
            map.insert(path.name.clone(), value.clone());
            Some(map)
        }
        _ => None,
    }
}

fn apply_filtered(
    container: &mut Map<String, Value>,
    key: String,
    filter: &Filter,
    sub: Option<&str>,
    op: Op,
    value: Value,
) -> Result<(), PatchError> {
    let items = match container.get_mut(&key) {
        Some(Value::Array(items)) => Some(items),
        Some(_) => {
            return Err(PatchError::new(
                "invalidPath",
                format!("a value filter needs a multi-valued attribute, and '{key}' is not one"),
            ));
        }
        None => None,
    };
    let matched = items
        .as_ref()
        .map(|items| items.iter().filter(|i| filter.eval_element(i)).count())
        .unwrap_or(0);
    if matched == 0 {
        if op == Op::Remove {
            return Ok(());
        }
        let Some(mut element) = described_element(filter) else {
            return Err(PatchError::new(
                "noTarget",
                format!("the value filter on '{key}' matches no value"),
            ));
        };
        match sub {
            Some(sub) => {
                element.insert(sub.to_owned(), value);
            }
            None => match value {
                Value::Object(fields) => element.extend(fields),
                _ => {
                    return Err(PatchError::new(
                        "invalidValue",
                        format!("the value for '{key}[…]' must be an object"),
                    ));
                }
            },
        }
        let slot = container
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(Value::Object(element));
        }
        return Ok(());
    }
    let Some(items) = container.get_mut(&key).and_then(Value::as_array_mut) else {
        return Ok(());
    };
    match (op, sub) {
        (Op::Remove, None) => items.retain(|i| !filter.eval_element(i)),
        (Op::Remove, Some(sub)) => {
            for item in items.iter_mut().filter(|i| filter.eval_element(i)) {
                let map = object(item)?;
                remove_ci(map, sub);
            }
        }
        (_, Some(sub)) => {
            for item in items.iter_mut().filter(|i| filter.eval_element(i)) {
                let map = object(item)?;
                let sub_key = key_of(map, sub);
                map.insert(sub_key, value.clone());
            }
        }
        (_, None) => {
            for item in items.iter_mut().filter(|i| filter.eval_element(i)) {
                if op == Op::Replace && !value.is_object() {
                    *item = value.clone();
                } else {
                    merge_into(item, value.clone());
                }
            }
        }
    }
    if items.is_empty() {
        container.remove(&key);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
