//! The application layer: every use case of soxctl, one module per area,
//! which the command line, the HTTP API and the job runner call. Areas:
//! [`ingest`] (a snapshot — from files, a directory or SCIM — reconciled
//! into the store), [`findings`] (the detectors judged again in a write
//! transaction),
//! [`requests`] (just-in-time approvals, grants, delegations, break-glass,
//! action execution), [`gate`] (the change gate and reading a change from
//! git), [`sod`] (what a change would create), [`documents`] (rule sets
//! and policies, versioned), [`mitigations`] (SoD
//! exceptions), [`tokens`] (API tokens) and [`identities`] (who a claimed
//! identity is).
//!
//! Just-in-time approvals as use cases over a store write transaction.
//!
//! Each function checks everything first, then appends the events that
//! record the outcome (and queues their notifications in the outbox) in the
//! caller's transaction; the caller commits. So the command line, the HTTP
//! API and the job runner share one set of rules, and a refused step
//! changes nothing.
//!
//! Two layers decide who may approve. The policies document (DESIGN A8,
//! `soxctl-policy`) routes a request to candidates and sets counts,
//! durations and MFA. The built-in rules below then remove candidates no
//! policy can keep: the requester, the person who would hold the access,
//! the change's authors, people who have left, and anyone whom the
//! requested access would put in an SoD conflict.

pub mod documents;
mod error;
pub mod findings;
pub mod gate;
pub mod identities;
pub mod ingest;
pub mod inventory;
pub mod ledger;
pub mod mitigations;
pub mod requests;
pub mod sod;
pub mod tokens;

pub use error::WorkflowError;
pub use requests::{
    ChangeCommit, Context, Created, Decided, DecisionInput, MAX_COMMITS, NewAccess, NewAction,
    NewAsk, NewChange, NewDelegation, NewRequest, Sweep, activate, breakglass, cancel, create,
    decide, delegate, execution, revoke_delegation, revoke_grant, sweep, verdicts,
};

/// The longest justification, comment or reason accepted.
pub const MAX_TEXT_LEN: usize = 2_000;
/// The largest action payload accepted, as JSON text.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// The ledger actor of the job runner's steps.
pub const SCHEDULER: &str = "scheduler";
