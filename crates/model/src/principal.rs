//! Who acts: a person of the inventory, a machine token, or a component of
//! soxctl itself. The text form is the ledger's `actor`.

use crate::ids::{IdError, PersonId, TokenId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Principal {
    Person(PersonId),
    Token(TokenId),
    /// A soxctl component such as `import` or `scheduler`.
    System(String),
}

impl Principal {
    pub fn system(component: &str) -> Self {
        Self::System(component.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("'{0}' is not a principal: use person:<id>, token:<id> or system:<component>")]
    Form(String),
    #[error(transparent)]
    Id(#[from] IdError),
}

impl FromStr for Principal {
    type Err = PrincipalError;
    fn from_str(s: &str) -> Result<Self, PrincipalError> {
        match s.split_once(':') {
            Some(("person", id)) => Ok(Self::Person(PersonId::parse(id)?)),
            Some(("token", id)) => Ok(Self::Token(TokenId::parse(id)?)),
            Some(("system", c))
                if !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_') =>
            {
                Ok(Self::System(c.to_owned()))
            }
            _ => Err(PrincipalError::Form(s.to_owned())),
        }
    }
}

impl TryFrom<String> for Principal {
    type Error = PrincipalError;
    fn try_from(s: String) -> Result<Self, PrincipalError> {
        s.parse()
    }
}

impl From<Principal> for String {
    fn from(p: Principal) -> String {
        p.to_string()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Person(id) => write!(f, "person:{id}"),
            Self::Token(id) => write!(f, "token:{id}"),
            Self::System(c) => write!(f, "system:{c}"),
        }
    }
}

/// What a token may do. Scopes are coarse on purpose; finer decisions belong
/// to policies evaluated per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Everything, including issuing tokens and loading documents.
    Admin,
    /// Read the inventory, the ledger and findings.
    Read,
    /// Push identities of one system over SCIM.
    Scim,
    /// Ask the change-management gate.
    Gate,
    /// Create, approve, deny, cancel and activate requests as the token's person.
    Request,
    /// Scrape `/metrics`.
    Metrics,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Admin,
        Scope::Read,
        Scope::Scim,
        Scope::Gate,
        Scope::Request,
        Scope::Metrics,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Read => "read",
            Self::Scim => "scim",
            Self::Gate => "gate",
            Self::Request => "request",
            Self::Metrics => "metrics",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                format!("unknown scope '{s}': use one of admin, read, scim, gate, request, metrics")
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_text_round_trips() {
        for s in ["person:p-1", "token:abc", "system:import"] {
            assert_eq!(s.parse::<Principal>().unwrap().to_string(), s);
        }
        for bad in ["p-1", "user:x", "person:", "system:Bad Name"] {
            assert!(bad.parse::<Principal>().is_err(), "{bad}");
        }
    }
}
