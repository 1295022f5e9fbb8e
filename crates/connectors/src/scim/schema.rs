//! The SCIM schemas of the service provider (RFC 7643 User, Group and the
//! enterprise User extension, `schemas.json`), the resource kinds, and
//! checking a client's document against them: attribute names made
//! canonical, types checked, read-only and unknown attributes dropped,
//! `password` never kept.

use super::patch::PatchSchema;
use serde::Deserialize;
use serde_json::{Map, Value};
use soxctl_model::time::Timestamp;
use std::fmt;
use std::sync::LazyLock;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise extension of a User (employee number, manager).
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Why a document does not fit the schema, with RFC 7644's `scimType`
/// (`invalidSyntax` or `invalidValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub scim_type: &'static str,
    pub detail: String,
}

impl SchemaError {
    pub fn new(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            scim_type,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scim_type, self.detail)
    }
}

impl std::error::Error for SchemaError {}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub mutability: String,
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaDef {
    pub id: String,
    pub attributes: Vec<Attribute>,
}

const SCHEMAS_JSON: &str = include_str!("schemas.json");

struct Loaded {
    /// The JSON served at /Schemas (without `schemas` and `meta`).
    raw: Vec<Value>,
    defs: Vec<SchemaDef>,
}

static SCHEMAS: LazyLock<Loaded> = LazyLock::new(|| {
    // The file is part of the binary and checked by a unit test; an empty
    // set is the fallback rather than a panic.
    let raw: Vec<Value> = serde_json::from_str(SCHEMAS_JSON).unwrap_or_default();
    let defs = raw
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect();
    Loaded { raw, defs }
});

fn def(id: &str) -> Option<&'static SchemaDef> {
    SCHEMAS.defs.iter().find(|d| d.id == id)
}

/// Every schema as `schemas.json` defines it (what `/Schemas` serves,
/// without `schemas` and `meta`).
pub fn raw() -> &'static [Value] {
    &SCHEMAS.raw
}

/// Users or Groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::User, Kind::Group];

    pub fn name(self) -> &'static str {
        match self {
            Self::User => soxctl_store::scim::USER,
            Self::Group => soxctl_store::scim::GROUP,
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    pub fn core(self) -> &'static str {
        match self {
            Self::User => USER_SCHEMA,
            Self::Group => GROUP_SCHEMA,
        }
    }

    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::User => &[ENTERPRISE_SCHEMA],
            Self::Group => &[],
        }
    }

    /// The attribute that names the resource uniquely in its system.
    pub fn unique_attribute(self) -> &'static str {
        match self {
            Self::User => "userName",
            Self::Group => "displayName",
        }
    }

    fn attributes(self, extension: Option<&str>) -> &'static [Attribute] {
        def(extension.unwrap_or(self.core()))
            .map(|d| d.attributes.as_slice())
            .unwrap_or(&[])
    }
}

impl PatchSchema for Kind {
    fn core(&self) -> &str {
        Kind::core(*self)
    }

    fn extension(&self, uri: &str) -> Option<String> {
        self.extensions()
            .iter()
            .find(|e| e.eq_ignore_ascii_case(uri))
            .map(|e| (*e).to_owned())
    }

    fn multi_valued(&self, extension: Option<&str>, name: &str) -> bool {
        self.attributes(extension)
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .is_some_and(|a| a.multi_valued)
    }
}

/// The longest string attribute accepted, in characters (RFC 7643 sets
/// none; no identity attribute needs more).
pub const MAX_STRING_CHARS: usize = 1_024;
/// The most values of one multi-valued attribute (emails, phone numbers…).
pub const MAX_VALUES: usize = 100;

fn invalid(path: &str, what: &str) -> SchemaError {
    SchemaError::new("invalidValue", format!("attribute '{path}' {what}"))
}

/// A value of `attribute`'s type, or why not. Booleans also come as the
/// strings "true"/"false" (Entra ID sends `"active": "False"`).
fn check_value(
    attribute: &Attribute,
    path: &str,
    value: Value,
) -> Result<Option<Value>, SchemaError> {
    if value.is_null() {
        return Ok(None);
    }
    match attribute.kind.as_str() {
        "string" | "reference" | "binary" => match &value {
            Value::String(text) => {
                soxctl_model::text::check_line(path, text, MAX_STRING_CHARS)
                    .map_err(|e| SchemaError::new("invalidValue", e.to_string()))?;
                Ok(Some(value))
            }
            _ => Err(invalid(path, "must be a string")),
        },
        "dateTime" => match &value {
            Value::String(s) if Timestamp::parse(s).is_ok() => Ok(Some(value)),
            _ => Err(invalid(path, "must be an RFC 3339 date and time")),
        },
        "boolean" => match &value {
            Value::Bool(_) => Ok(Some(value)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(invalid(path, "must be true or false")),
        },
        "integer" => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            _ => Err(invalid(path, "must be an integer")),
        },
        "decimal" => match &value {
            Value::Number(_) => Ok(Some(value)),
            _ => Err(invalid(path, "must be a number")),
        },
        "complex" => match value {
            Value::Object(map) => {
                let out = normalize_attributes(&attribute.sub_attributes, path, map)?;
                Ok((!out.is_empty()).then_some(Value::Object(out)))
            }
            _ => Err(invalid(path, "must be an object")),
        },
        _ => Ok(Some(value)),
    }
}

/// The attributes of `input` that `attributes` defines, under their
/// canonical names and checked; read-only and write-only ones are dropped.
fn normalize_attributes(
    attributes: &[Attribute],
    parent: &str,
    input: Map<String, Value>,
) -> Result<Map<String, Value>, SchemaError> {
    let mut out = Map::new();
    for (key, value) in input {
        let Some(attribute) = attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&key))
        else {
            continue;
        };
        if matches!(attribute.mutability.as_str(), "readOnly" | "writeOnly") {
            continue;
        }
        let path = if parent.is_empty() {
            attribute.name.clone()
        } else {
            format!("{parent}.{}", attribute.name)
        };
        let checked = if attribute.multi_valued {
            let items = match value {
                Value::Null => Vec::new(),
                Value::Array(items) => items,
                single => vec![single],
            };
            if items.len() > MAX_VALUES {
                return Err(invalid(
                    &path,
                    &format!("has {} values, more than {MAX_VALUES}", items.len()),
                ));
            }
            let mut kept: Vec<Value> = Vec::new();
            for item in items {
                // A value given twice is kept once, as PATCH `add` does.
                if let Some(item) = check_value(attribute, &path, item)?
                    && !kept.contains(&item)
                {
                    kept.push(item);
                }
            }
            (!kept.is_empty()).then_some(Value::Array(kept))
        } else {
            if value.is_array() {
                return Err(invalid(&path, "is single-valued, not an array"));
            }
            check_value(attribute, &path, value)?
        };
        if let Some(value) = checked {
            out.insert(attribute.name.clone(), value);
        }
    }
    Ok(out)
}

/// The client's resource document checked against the schema: canonical
/// names, only attributes the schemas define, no read-only ones (`id`,
/// `meta`, `groups`) and no `password`. `externalId` is kept.
pub fn normalize(
    kind: Kind,
    input: Value,
    require_schemas: bool,
) -> Result<Map<String, Value>, SchemaError> {
    let Value::Object(input) = input else {
        return Err(SchemaError::new(
            "invalidSyntax",
            "the body is not a JSON object",
        ));
    };
    if let Some(schemas) = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
    {
        let names = schemas.as_array().ok_or_else(|| {
            SchemaError::new("invalidSyntax", "`schemas` must be an array of schema URIs")
        })?;
        if !names.iter().any(|n| {
            n.as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(kind.core()))
        }) {
            return Err(SchemaError::new(
                "invalidValue",
                format!("`schemas` must contain {}", kind.core()),
            ));
        }
    } else if require_schemas {
        return Err(SchemaError::new(
            "invalidSyntax",
            format!("the resource has no `schemas`; send [\"{}\"]", kind.core()),
        ));
    }
    let mut core = Map::new();
    let mut extensions = Map::new();
    let mut external_id = None;
    for (key, value) in input {
        if key.eq_ignore_ascii_case("externalId") {
            match value {
                Value::String(s) if !s.is_empty() => {
                    soxctl_model::text::check_line("externalId", &s, MAX_STRING_CHARS)
                        .map_err(|e| SchemaError::new("invalidValue", e.to_string()))?;
                    external_id = Some(Value::String(s));
                }
                Value::Null => {}
                Value::String(_) => {}
                _ => return Err(invalid("externalId", "must be a string")),
            }
        } else if let Some(extension) = kind
            .extensions()
            .iter()
            .find(|e| e.eq_ignore_ascii_case(&key))
        {
            let Value::Object(map) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(invalid(extension, "must be an object"));
            };
            let attrs = normalize_attributes(kind.attributes(Some(extension)), "", map)?;
            if !attrs.is_empty() {
                extensions.insert((*extension).to_owned(), Value::Object(attrs));
            }
        } else {
            core.insert(key, value);
        }
    }
    let mut out = normalize_attributes(kind.attributes(None), "", core)?;
    if let Some(id) = external_id {
        out.insert("externalId".into(), id);
    }
    out.extend(extensions);
    for attribute in kind.attributes(None).iter().filter(|a| a.required) {
        let present = out
            .get(&attribute.name)
            .is_some_and(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()));
        if !present {
            return Err(SchemaError::new(
                "invalidValue",
                format!("attribute '{}' is required", attribute.name),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schemas_file_loads() {
        assert_eq!(SCHEMAS.raw.len(), 3);
        assert_eq!(SCHEMAS.defs.len(), 3);
        assert!(Kind::User.multi_valued(None, "EMAILS"));
        assert!(!Kind::User.multi_valued(Some(ENTERPRISE_SCHEMA), "manager"));
        assert!(Kind::Group.multi_valued(None, "members"));
    }

    #[test]
    fn documents_are_made_canonical_and_checked() {
        let doc = normalize(
            Kind::User,
            json!({
                "schemas": [USER_SCHEMA],
                "USERNAME": "a",
                "active": "False",
                "password": "secret",
                "id": "forged",
                "groups": [{"value": "g"}],
                "unknown": 1,
                "emails": {"value": "a@x"},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"employeeNumber": "7"}
            }),
            true,
        )
        .unwrap();
        assert_eq!(
            Value::Object(doc),
            json!({
                "userName": "a",
                "active": false,
                "emails": [{"value": "a@x"}],
                ENTERPRISE_SCHEMA: {"employeeNumber": "7"}
            })
        );
        // The same value twice is kept once.
        let twice = normalize(
            Kind::User,
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "a",
                "emails": [{"value": "a@x"}, {"value": "b@x"}, {"value": "a@x"}, {"value": "a@x"}]
            }),
            true,
        )
        .unwrap();
        assert_eq!(twice["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
        for bad in [
            json!({"schemas": [USER_SCHEMA]}),
            json!({"schemas": [USER_SCHEMA], "userName": 3}),
            json!({"schemas": [GROUP_SCHEMA], "userName": "a"}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "maybe"}),
            json!({"userName": "a"}),
        ] {
            assert!(normalize(Kind::User, bad.clone(), true).is_err(), "{bad}");
        }
    }
}
