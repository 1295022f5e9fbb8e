//! SCIM 2.0 pushes as use cases: create, replace, patch and delete a User
//! (an account of the SCIM token's system) or a Group (an entitlement of it,
//! its members holding grants), each in the caller's write transaction:
//! every check first (the schema, `If-Match`, the unique name), then the
//! ledger events ([`ledger`]) and the stored SCIM document, which keeps the
//! full resource beside the ledger. The HTTP service provider parses,
//! calls one of [`create`], [`replace`], [`patch`], [`delete`], and renders.

mod ledger;
mod links;
mod resources;

pub use ledger::*;
pub use links::{Link, ScimReads, display_name, links};
pub use resources::{Stored, create, delete, patch, replace};
pub use soxctl_connectors::scim::schema::{ENTERPRISE_SCHEMA, Kind};

use soxctl_connectors::scim::patch::PatchError;
use soxctl_connectors::scim::schema::SchemaError;

/// The client's `If-Match`: the write happens only when one of its tags
/// names the resource's current version (or is `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch {
    /// The header as sent, for the error that quotes it.
    pub header: String,
    /// Its entity tags without `W/` and quotes: versions, or `*`.
    pub tags: Vec<String>,
}

impl IfMatch {
    /// Whether the precondition holds for `version`.
    pub fn allows(&self, version: u64) -> bool {
        let current = version.to_string();
        self.tags.iter().any(|t| t == "*" || *t == current)
    }
}

/// Why a SCIM write changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// A value SCIM calls `invalidValue`: the client must change it.
    #[error("{0}")]
    InvalidValue(String),
    /// A body the schema refuses, or a PATCH that does not apply, with
    /// RFC 7644's `scimType` (`invalidSyntax`, `invalidPath`, …).
    #[error("{scim_type}: {detail}")]
    Invalid {
        scim_type: &'static str,
        detail: String,
    },
    /// No resource of this kind and id in the token's system.
    #[error("there is no {} '{id}' in this system", kind.name())]
    NotFound { kind: Kind, id: String },
    /// The unique attribute (`userName`, `displayName`) names another
    /// resource of the system; `value` as the client sent it.
    #[error("a {} with {} '{value}' already exists", kind.name(), kind.unique_attribute())]
    Taken { kind: Kind, value: String },
    /// `If-Match` names no current version: the resource changed since the
    /// client read it.
    #[error("If-Match {} does not match version {version}", if_match.header)]
    Changed { if_match: IfMatch, version: u64 },
    /// An id the service provider made that no longer parses: a bug.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] soxctl_store::StoreError),
}

impl From<SchemaError> for ScimError {
    fn from(e: SchemaError) -> Self {
        Self::Invalid {
            scim_type: e.scim_type,
            detail: e.detail,
        }
    }
}

impl From<PatchError> for ScimError {
    fn from(e: PatchError) -> Self {
        Self::Invalid {
            scim_type: e.scim_type,
            detail: e.detail,
        }
    }
}
