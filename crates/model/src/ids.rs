//! Identifiers, validated once at the edge so that the rest of the code never
//! meets an empty, oversized or control-character id.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest identifier we accept; long enough for emails and distinguished
/// names, short enough that one bad row cannot bloat the ledger.
pub const MAX_ID_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty: give a non-empty identifier")]
    Empty { kind: &'static str },
    #[error("{kind} '{shown}…' is longer than {MAX_ID_LEN} characters")]
    TooLong { kind: &'static str, shown: String },
    #[error("{kind} '{value}' contains a control character or leading/trailing space")]
    BadCharacter { kind: &'static str, value: String },
    #[error(
        "{kind} '{value}' must not contain ':' (it separates system and entitlement in references)"
    )]
    Colon { kind: &'static str, value: String },
}

fn check(kind: &'static str, value: &str, allow_colon: bool) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.chars().count() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            shown: value.chars().take(40).collect(),
        });
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(IdError::BadCharacter {
            kind,
            value: value.to_owned(),
        });
    }
    if !allow_colon && value.contains(':') {
        return Err(IdError::Colon {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, allow_colon = $colon:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value, $colon)?;
                Ok(Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// A person of the HR source of truth.
    PersonId, "person_id", allow_colon = false);
id_type!(/// A system that holds accounts and entitlements (ERP, bank portal…).
    SystemId, "system_id", allow_colon = false);
id_type!(/// An entitlement within its system; may contain ':' (split happens at the first one).
    EntitlementId, "entitlement_id", allow_colon = true);
id_type!(/// An account within its system.
    AccountId, "account_id", allow_colon = true);
id_type!(/// A business role bundling entitlements.
    RoleId, "role_id", allow_colon = false);
id_type!(/// An API token's public identifier (never its secret).
    TokenId, "token_id", allow_colon = false);

/// `system_id:entitlement_id`, split at the first `:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntitlementRef {
    pub system: SystemId,
    pub entitlement: EntitlementId,
}

impl EntitlementRef {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let (system, entitlement) = value.split_once(':').ok_or(IdError::Colon {
            kind: "entitlement reference (expected system_id:entitlement_id)",
            value: value.to_owned(),
        })?;
        Ok(Self {
            system: SystemId::parse(system)?,
            entitlement: EntitlementId::parse(entitlement)?,
        })
    }
}

impl Serialize for EntitlementRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for EntitlementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.entitlement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_ids() {
        assert!(matches!(PersonId::parse(""), Err(IdError::Empty { .. })));
        assert!(matches!(
            PersonId::parse(" p1"),
            Err(IdError::BadCharacter { .. })
        ));
        assert!(matches!(
            PersonId::parse("p\n1"),
            Err(IdError::BadCharacter { .. })
        ));
        assert!(matches!(SystemId::parse("a:b"), Err(IdError::Colon { .. })));
        assert!(matches!(
            PersonId::parse("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
        assert!(EntitlementId::parse("vendor:edit").is_ok());
    }

    #[test]
    fn entitlement_ref_splits_at_first_colon() {
        let r = EntitlementRef::parse("netsuite:vendor:edit").unwrap();
        assert_eq!(r.system.as_str(), "netsuite");
        assert_eq!(r.entitlement.as_str(), "vendor:edit");
        assert_eq!(r.to_string(), "netsuite:vendor:edit");
        assert!(EntitlementRef::parse("nocolon").is_err());
    }
}
