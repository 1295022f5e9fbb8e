//! The serialised shape of a rule file, shared by TOML and JSON.
//!
//! Everything is read as plain strings and checked afterwards, so that one
//! pass reports every problem (serde stops at the first).

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function: Vec<RawFunction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk: Vec<RawRisk>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFunction {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub entitlements: Vec<RawItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRisk {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub severity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub functions: Vec<String>,
}

/// `"system:entitlement"` or `{ all = ["system:a", "system:b"] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawItem {
    Text(String),
    AllOf(Vec<String>),
}

impl Serialize for RawItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::AllOf(members) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("all", members)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawItemVisitor)
    }
}

struct RawItemVisitor;

impl<'de> Visitor<'de> for RawItemVisitor {
    type Value = RawItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an entitlement "system:entitlement" or an all-of group { all = [...] }"#)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawItem, E> {
        Ok(RawItem::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawItem, E> {
        Ok(RawItem::Text(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
        let mut members: Option<Vec<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "all" {
                return Err(de::Error::custom(format!(
                    "unknown key `{key}` in an all-of group: write {{ all = [\"system:a\", \"system:b\"] }}"
                )));
            }
            if members.is_some() {
                return Err(de::Error::duplicate_field("all"));
            }
            members = Some(map.next_value()?);
        }
        members
            .map(RawItem::AllOf)
            .ok_or_else(|| de::Error::missing_field("all"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<RawItem, A::Error> {
        Err(de::Error::custom(
            "a nested list is not an entitlement item: write an all-of group as { all = [...] }",
        ))
    }
}
