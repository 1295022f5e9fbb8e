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
    #[error(
        "{kind} '{value}' contains an invisible or direction-changing character: write it as plain text"
    )]
    Hidden { kind: &'static str, value: String },
    #[error(
        "{kind} '{value}' must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' (it names a system in paths, URLs and files)"
    )]
    Alphabet { kind: &'static str, value: String },
}

/// The stricter rule for identifiers that enter now (import, SCIM, LDAP,
/// the API and the command line): nothing invisible or direction-changing,
/// and system ids from a safe alphabet. Entries already in a ledger were
/// checked by [`check`] alone and still replay.
fn check_new(kind: &'static str, value: &str, safe_alphabet: bool) -> Result<(), IdError> {
    if value.chars().any(crate::identity::is_hidden) {
        return Err(IdError::Hidden {
            kind,
            value: crate::identity::escape(value),
        });
    }
    if safe_alphabet
        && (value.len() > 64
            || value.starts_with('.')
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
    {
        return Err(IdError::Alphabet {
            kind,
            value: crate::identity::escape(value),
        });
    }
    Ok(())
}

fn check(kind: &'static str, value: &str, allow_colon: bool) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.chars().count() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            shown: crate::identity::escape(&value.chars().take(40).collect::<String>()),
        });
    }
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(IdError::BadCharacter {
            kind,
            value: crate::identity::escape(value),
        });
    }
    if !allow_colon && value.contains(':') {
        return Err(IdError::Colon {
            kind,
            value: crate::identity::escape(value),
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, allow_colon = $colon:literal, safe_alphabet = $safe:literal) => {
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
            /// As `parse`, with the stricter rule for input entering now
            /// (no invisible characters; system ids from a safe alphabet).
            pub fn parse_new(value: impl Into<String>) -> Result<Self, IdError> {
                let id = Self::parse(value)?;
                check_new($kind, &id.0, $safe)?;
                Ok(id)
            }
            /// Whether this id meets the rule for input entering now.
            pub fn check_new(&self) -> Result<(), IdError> {
                check_new($kind, &self.0, $safe)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::parse(value)
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
    PersonId, "person_id", allow_colon = false, safe_alphabet = false);
id_type!(/// A system that holds accounts and entitlements (ERP, bank portal…).
    SystemId, "system_id", allow_colon = false, safe_alphabet = true);
id_type!(/// An entitlement within its system; may contain ':' (split happens at the first one).
    EntitlementId, "entitlement_id", allow_colon = true, safe_alphabet = false);
id_type!(/// An account within its system.
    AccountId, "account_id", allow_colon = true, safe_alphabet = false);
id_type!(/// A business role bundling entitlements.
    RoleId, "role_id", allow_colon = false, safe_alphabet = false);
id_type!(/// An API token's public identifier (never its secret).
    TokenId, "token_id", allow_colon = false, safe_alphabet = false);
id_type!(/// An access or action request (`req_` and 32 hex digits when minted here).
    RequestId, "request_id", allow_colon = false, safe_alphabet = false);
id_type!(/// A time-bound access grant that an approved request started (`agr_…`).
    AccessGrantId, "grant_id", allow_colon = false, safe_alphabet = false);
id_type!(/// A delegation of one approver's decisions to another (`dlg_…`).
    DelegationId, "delegation_id", allow_colon = false, safe_alphabet = false);
id_type!(/// A single-use execution token bound to an approved action (`xtk_…`).
    ExecutionTokenId, "token_id", allow_colon = false, safe_alphabet = false);
id_type!(/// A finding: `fnd_` and 128 bits of the hash of its kind and subject,
    /// so a detector that sees the same condition again names the same finding.
    FindingId, "finding_id", allow_colon = false, safe_alphabet = false);

/// Ids minted here from 128 random bits: the prefix, `_` and 32 lower-case
/// hex digits, which always pass [`check`] and [`check_new`].
macro_rules! minted_id {
    ($name:ident, $($(#[$doc:meta])* $mint:ident = $prefix:literal),+) => {
        impl $name {
            $(
                $(#[$doc])*
                pub fn $mint(bits: u128) -> Self {
                    Self(format!(concat!($prefix, "_{:032x}"), bits))
                }
            )+
        }
    };
}
minted_id!(RequestId,
    /// A new request's id from 128 fresh random bits (a v4 UUID's).
    mint = "req",
    /// A break-glass use's id: it stands in for the request that its
    /// emergency grants name.
    mint_breakglass = "bgl");
minted_id!(AccessGrantId,
    /// A new grant's id from 128 fresh random bits.
    mint = "agr");
minted_id!(DelegationId,
    /// A new delegation's id from 128 fresh random bits.
    mint = "dlg");
minted_id!(ExecutionTokenId,
    /// A new execution token's id from 128 fresh random bits.
    mint = "xtk");
minted_id!(FindingId,
    /// The finding's id from the first 128 bits of its digest.
    mint = "fnd");

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
            value: crate::identity::escape(value),
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
    fn new_input_meets_the_stricter_rule_and_old_ids_still_parse() {
        for bad in [
            "../x",
            "..",
            ".",
            "a b",
            "erp/x",
            "erp\u{202e}",
            &"s".repeat(65),
        ] {
            assert!(SystemId::parse_new(bad).is_err(), "{bad}");
        }
        for good in ["erp", "sap-prd", "netsuite_2", "AD.corp"] {
            assert!(SystemId::parse_new(good).is_ok(), "{good}");
        }
        assert!(PersonId::parse_new("E0\u{202e}1").is_err());
        assert!(AccountId::parse_new("kevin\u{200b}").is_err());
        assert!(AccountId::parse_new("Kevin Reyes").is_ok());
        // What a ledger already holds still replays.
        assert!(SystemId::parse("a b").is_ok());
        assert!(PersonId::parse("E0\u{202e}1").is_ok());
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
