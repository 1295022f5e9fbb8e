//! The soxctl domain model.
//!
//! Everything here is pure: identifiers validated at the edge, inventory
//! records, the events that the ledger records and the rows they project onto,
//! principals and the capabilities that authorise them. Storage, HTTP and the
//! command line depend on this crate, never the reverse.

pub mod access;
pub mod clock;
pub mod document;
pub mod event;
pub mod finding;
pub mod history;
pub mod identity;
pub mod ids;
pub mod inventory;
pub mod mitigation;
pub mod pipeline;
pub mod principal;
pub mod projection;
pub mod reconcile;
pub mod request;
pub mod sealed;
pub mod text;
pub mod time;

pub use ids::{
    AccessGrantId, AccountId, DelegationId, EntitlementId, EntitlementRef, ExecutionTokenId,
    FindingId, PersonId, RequestId, RoleId, SystemId, TokenId,
};
pub use time::Timestamp;
