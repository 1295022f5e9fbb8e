//! Reading the just-in-time tables. The rules for changing them live in
//! the application layer (soxctl-app); every change is an event through
//! `WriteTx::append`.

use soxctl_model::ids::{ExecutionTokenId, RequestId};
use soxctl_model::request::RequestStatus;
use soxctl_model::time::Timestamp;

/// Which execution tokens to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokensOf<'a> {
    All,
    /// The token with this id.
    Token(&'a ExecutionTokenId),
    /// The tokens issued for this request.
    Request(&'a RequestId),
}

/// What an identity candidate's key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKeyKind {
    PersonId,
    Email,
    AccountId,
}

/// A person who may be the identity sought, and the key that may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCandidate {
    pub person_id: soxctl_model::ids::PersonId,
    pub key: String,
    pub kind: IdentityKeyKind,
}

/// Which requests to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub request_id: Option<RequestId>,
    pub status: Option<RequestStatus>,
    /// Pending requests whose deadline is at or before this time.
    pub pending_due_before: Option<Timestamp>,
    /// Approved requests never activated or used whose validity ended at
    /// or before this time.
    pub unused_approved_before: Option<Timestamp>,
    pub digest: Option<String>,
}
