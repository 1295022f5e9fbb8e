//! Just-in-time requests: ask, decide, activate, cancel, expire; the
//! time-bound grants they give; delegations; break-glass; the execution
//! tokens of approved actions.

pub mod breakglass;
mod context;
pub(crate) mod create;
mod decide;
mod delegation;
pub mod execution;
pub(crate) mod facts;
mod lifecycle;
pub(crate) mod notify;
pub(crate) mod sod_check;
pub mod verdicts;

pub use context::Context;
pub use create::{
    ChangeCommit, Created, MAX_COMMITS, NewAccess, NewAction, NewAsk, NewChange, NewRequest, create,
};
pub use decide::{Decided, DecisionInput, decide};
pub use delegation::{NewDelegation, delegate, revoke_delegation};
pub use lifecycle::{Sweep, activate, cancel, revoke_grant, sweep};
