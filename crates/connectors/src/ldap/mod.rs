//! LDAP / Active Directory pull: read users and groups from a directory and
//! turn them into a [`Snapshot`](crate::snapshot::Snapshot) of one system
//! (accounts, entitlements, grants), which `import` reconciles like a CSV
//! snapshot. Accounts link to the people already in the store through the
//! correlation rules, or, with a `[people]` mapping, to the people the user
//! entries describe, which the import adds without overwriting HR's records
//! unless the mapping says the directory owns them.
//!
//! - [`mapping`]: the mapping file and its presets;
//! - [`read`]: connect, bind, paged searches;
//! - [`convert`]: entries to a snapshot;
//! - [`range`]: Active Directory's ranged attribute values;
//! - [`time`]: FILETIME and GeneralizedTime.

pub mod convert;
pub mod mapping;
pub mod range;
pub mod read;
pub mod time;

pub use convert::{Converted, to_snapshot};
pub use mapping::{Mapping, MappingError, Preset};
pub use read::{Connection, Directory, Secret, What, read};

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One search result entry; attribute names are lowercase (LDAP attribute
/// names are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<String>>,
}

impl Entry {
    /// All values of an attribute (none when absent).
    pub fn values(&self, attribute: &str) -> &[String] {
        self.attrs
            .get(&attribute.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The first non-empty value of an attribute.
    pub fn first(&self, attribute: &str) -> Option<&str> {
        self.values(attribute)
            .iter()
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }

    /// The first value of a mapped free-text attribute (a name, a title),
    /// refused when it hides characters or is too long; `key` names the
    /// mapping entry in the error.
    pub fn text(&self, attribute: Option<&String>, key: &str) -> Result<Option<String>, LdapError> {
        let value = attribute.and_then(|a| self.first(a));
        soxctl_model::text::check_inventory_line(key, value).map_err(|e| self.bad_text(e))?;
        Ok(value.map(str::to_owned))
    }

    /// As [`Entry::text`], for a description: longer, line breaks allowed.
    pub fn description(
        &self,
        attribute: Option<&String>,
        key: &str,
    ) -> Result<Option<String>, LdapError> {
        let value = attribute.and_then(|a| self.first(a));
        soxctl_model::text::check_inventory_description(key, value)
            .map_err(|e| self.bad_text(e))?;
        Ok(value.map(str::to_owned))
    }

    fn bad_text(&self, e: soxctl_model::text::TextError) -> LdapError {
        LdapError::BadValue {
            dn: soxctl_model::identity::escape(&self.dn),
            reason: format!("{e}; correct it in the directory"),
        }
    }
}

/// Why a sync could not read the directory or make a snapshot of it. Each
/// message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error(
        "bad LDAP URL '{url}': {reason}; give --url ldap://HOST[:PORT] (StartTLS with --starttls) or ldaps://HOST[:PORT]"
    )]
    BadUrl { url: String, reason: String },
    #[error("cannot use the CA file {}: {reason}; give a PEM file of the CA certificates that sign the server's certificate", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "cannot connect to {url}: {detail}; check the host and port, that the server is reachable, and its TLS setup (ldaps:// usually on port 636, --starttls on 389)"
    )]
    Connect { url: String, detail: String },
    #[error("the directory refused the bind as '{dn}': {detail}; {hint}")]
    Bind {
        dn: String,
        detail: String,
        hint: &'static str,
    },
    #[error(
        "the {} search base '{base}' does not exist on the server (LDAP result 32, noSuchObject); check --base and {}.base in the mapping",
        what.as_str(), what.as_str()
    )]
    BaseNotFound { what: What, base: String },
    #[error("the {} search (base '{base}', filter {filter}) failed: {detail}; {hint}", what.as_str())]
    Search {
        what: What,
        base: String,
        filter: String,
        detail: String,
        hint: &'static str,
    },
    #[error(
        "account id '{id}' is used by two users ({first} and {second}); account ids must be unique in a system: map users.account_id to a unique attribute or narrow users.filter"
    )]
    DuplicateAccount {
        id: String,
        first: String,
        second: String,
    },
    #[error(
        "entitlement id '{id}' is used by two groups ({first} and {second}); map groups.entitlement_id to a unique attribute or narrow groups.base / groups.filter"
    )]
    DuplicateEntitlement {
        id: String,
        first: String,
        second: String,
    },
    #[error(
        "none of the {count} {what} entries has the attribute '{attribute}' mapped as {key}; check its spelling in the mapping, and that the bind DN may read it"
    )]
    AttributeMissing {
        what: &'static str,
        count: usize,
        attribute: String,
        key: &'static str,
    },
    #[error(
        "person id '{id}' (people.person_id) is used by two users ({first} and {second}); a person has one user in a directory: fix the entries, or map people.person_id to an attribute that is unique"
    )]
    DuplicatePerson {
        id: String,
        first: String,
        second: String,
    },
    #[error(
        "{dn}: its manager '{manager}' (people.manager) {reason}; fix the entry's manager in the directory, widen users.base or users.filter so that the manager is read, or drop people.manager from the mapping"
    )]
    BadManager {
        dn: String,
        manager: String,
        reason: String,
    },
    #[error(
        "{dn}: reading '{attribute}' in ranges (Active Directory returns a large attribute a range of values at a time) failed: {detail}; run the sync again (the entry may have changed while it was read), and if it fails again read memberships the other way (groups.members or groups.member_of)"
    )]
    Range {
        dn: String,
        attribute: String,
        detail: String,
    },
    #[error("{dn}: {reason}")]
    BadValue { dn: String, reason: String },
}

fn result_code(e: &ldap3::LdapError) -> Option<u32> {
    match e {
        ldap3::LdapError::LdapResult { result } => Some(result.rc),
        _ => None,
    }
}

fn describe(e: &ldap3::LdapError) -> String {
    match e {
        ldap3::LdapError::LdapResult { result } => {
            let text = result.text.trim();
            let name = result_name(result.rc);
            if text.is_empty() {
                format!("LDAP result {} ({name})", result.rc)
            } else {
                format!("LDAP result {} ({name}): {text}", result.rc)
            }
        }
        ldap3::LdapError::Timeout { .. } => "the server did not answer in time".into(),
        other => other.to_string(),
    }
}

fn result_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        8 => "strongerAuthRequired",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        _ => "error",
    }
}

impl LdapError {
    fn connect(url: &str, starttls: bool, e: ldap3::LdapError) -> LdapError {
        if let ldap3::LdapError::UrlParsing { .. } | ldap3::LdapError::UnknownScheme(_) = e {
            return LdapError::BadUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            };
        }
        let mut detail = describe(&e);
        if starttls && result_code(&e).is_some() {
            detail.push_str(" (during StartTLS)");
        }
        LdapError::Connect {
            url: url.to_owned(),
            detail,
        }
    }

    fn bind(dn: &str, e: ldap3::LdapError) -> LdapError {
        let hint = match result_code(&e) {
            Some(49) => {
                "check --bind-dn and the password (--bind-password-file FILE or SOXCTL_LDAP_PASSWORD)"
            }
            Some(8 | 13) => "the server wants an encrypted connection: use ldaps:// or --starttls",
            Some(34) => {
                "--bind-dn is not a valid DN (e.g. cn=soxctl,ou=services,dc=example,dc=com)"
            }
            Some(53) => {
                "the server refuses this bind; an empty password is an unauthenticated bind"
            }
            _ => "check --bind-dn, the password and the server's log",
        };
        LdapError::Bind {
            dn: dn.to_owned(),
            detail: describe(&e),
            hint,
        }
    }

    fn search(what: What, base: &str, filter: &str, e: ldap3::LdapError) -> LdapError {
        let hint = match result_code(&e) {
            Some(32) => {
                return LdapError::BaseNotFound {
                    what,
                    base: base.to_owned(),
                };
            }
            Some(4) => {
                "the server's size limit cut the result: set directory.page_size (paged results), or raise the limit for the bind DN"
            }
            Some(3) => "the server's time limit cut the search: raise it for the bind DN",
            Some(12) => "the server does not support paged results: set directory.page_size = 0",
            Some(50) => {
                "the bind DN may not read there: grant it read access, or bind as another DN"
            }
            Some(34) => "the base is not a valid DN: check --base and the mapping's base",
            _ => "check the base and the filter in the mapping, and the server's log",
        };
        LdapError::Search {
            what,
            base: base.to_owned(),
            filter: filter.to_owned(),
            detail: describe(&e),
            hint,
        }
    }
}
