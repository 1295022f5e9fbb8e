//! Inventory records: who exists, which systems, what can be held, and who
//! holds it. The same shapes carry a snapshot being imported and the state a
//! store holds, so reconciliation is a comparison of two `Inventory` values.

use crate::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const TEXTS: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!("'{s}' is not one of: {}", Self::TEXTS.join(", "))),
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

text_enum!(/// HR status. People are never deleted by omission; they change status.
    PersonStatus { Active = "active", Leave = "leave", Terminated = "terminated" });
text_enum!(AccountKind { Human = "human", Service = "service", Shared = "shared" });
text_enum!(AccountStatus { Active = "active", Disabled = "disabled" });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub person_id: PersonId,
    /// Personal data: sealed under the person's key in the ledger.
    pub name: Option<String>,
    /// Personal data: sealed under the person's key in the ledger.
    pub email: Option<String>,
    pub manager_id: Option<PersonId>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub status: PersonStatus,
    pub hire_date: Option<Date>,
    pub termination_date: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    pub system_id: SystemId,
    pub name: String,
    pub kind: Option<String>,
    pub owner_id: Option<PersonId>,
    pub sox_in_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlement {
    pub system_id: SystemId,
    pub entitlement_id: EntitlementId,
    pub name: Option<String>,
    pub privileged: bool,
    pub owner_id: Option<PersonId>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub person_id: Option<PersonId>,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub last_login: Option<Timestamp>,
    pub mfa: Option<bool>,
    pub owner_id: Option<PersonId>,
    pub credential_rotated_at: Option<Timestamp>,
}

/// How a grant came to be, as the source system reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum GrantSource {
    Direct,
    Role(RoleId),
}

impl FromStr for GrantSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "direct" => Ok(Self::Direct),
            Some(("role", id)) => RoleId::parse(id).map(Self::Role).map_err(|e| e.to_string()),
            _ => Err(format!(
                "'{s}' is not a grant source: use direct or role:<role_id>"
            )),
        }
    }
}

impl TryFrom<String> for GrantSource {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<GrantSource> for String {
    fn from(s: GrantSource) -> String {
        s.to_string()
    }
}

impl fmt::Display for GrantSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("direct"),
            Self::Role(id) => write!(f, "role:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
    pub granted_at: Option<Timestamp>,
    pub source: GrantSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub role_id: RoleId,
    pub name: Option<String>,
    pub owner_id: Option<PersonId>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoleEntitlement {
    pub role_id: RoleId,
    pub system_id: SystemId,
    pub entitlement_id: EntitlementId,
}

pub type AccountKey = (SystemId, AccountId);
pub type EntitlementKey = (SystemId, EntitlementId);
pub type GrantKey = (SystemId, AccountId, EntitlementId);

/// A whole inventory, keyed so that iteration order (and therefore the order
/// of reconciliation events) is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub people: BTreeMap<PersonId, Person>,
    pub systems: BTreeMap<SystemId, System>,
    pub entitlements: BTreeMap<EntitlementKey, Entitlement>,
    pub accounts: BTreeMap<AccountKey, Account>,
    pub grants: BTreeMap<GrantKey, Grant>,
    pub roles: BTreeMap<RoleId, Role>,
    pub role_entitlements: BTreeMap<(RoleId, SystemId, EntitlementId), RoleEntitlement>,
}

impl Grant {
    pub fn key(&self) -> GrantKey {
        (
            self.system_id.clone(),
            self.account_id.clone(),
            self.entitlement_id.clone(),
        )
    }
}

impl Account {
    pub fn key(&self) -> AccountKey {
        (self.system_id.clone(), self.account_id.clone())
    }
}

impl Entitlement {
    pub fn key(&self) -> EntitlementKey {
        (self.system_id.clone(), self.entitlement_id.clone())
    }
}

impl RoleEntitlement {
    pub fn key(&self) -> (RoleId, SystemId, EntitlementId) {
        (
            self.role_id.clone(),
            self.system_id.clone(),
            self.entitlement_id.clone(),
        )
    }
}
