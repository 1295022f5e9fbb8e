//! Segregation of duties: which identities hold conflicting business
//! functions, when, and through which grants.
//!
//! Pure: no IO, no clock, no async. Callers hand in bytes or values and the
//! current time; this crate depends on no other soxctl crate.
//!
//! The pieces, in the order a caller uses them:
//!
//! - [`rules`]: the TOML rule file ([`RuleSet::parse`]), validated completely.
//! - [`Catalogue`]: the known entitlements, interned to dense ids.
//! - [`Compiled`]: rules resolved against a catalogue, with warnings for
//!   references and patterns that match nothing; [`Compiled::refresh`]
//!   resolves entitlements added later without recompiling.
//! - [`Dataset`]: accounts and grants, from a [`DatasetBuilder`] or the
//!   snapshot CSV parser [`input`].
//! - [`analyze`] / [`analyze_window`]: every violation now, at an instant, or
//!   during a window, each with its evidence.
//! - [`Engine`]: the same rules and facts kept current under changes; each
//!   change re-checks only the identities it touches, and
//!   [`Engine::simulate`] answers "what would this grant add?".
//! - [`roles`]: roles that violate a risk on their own.
//!
//! # Semantics
//!
//! - **Identity.** An active human account with a person counts for that
//!   person (`person_id`). Service, shared and uncorrelated human accounts
//!   are each their own identity, `account:<system_id>:<account_id>`.
//! - Only **active** accounts count, whatever the person's status.
//! - **References** are `system_id:entitlement_id`, split at the first `:`,
//!   case-sensitive. A `*` or `?` in the entitlement part makes a pattern
//!   (`erp:VENDOR_*`), re-resolved whenever the catalogue grows.
//! - A **function** is held when the identity holds any one of its items; an
//!   all-of group `{ all = [...] }` is held when *one* active account holds
//!   every member.
//! - A **risk** is violated at instant `t` when the identity holds every one
//!   of its functions at `t`; time-bound grants count during `[from, to)`.
//!   A window `[from, to)` reports identities violating at *some* instant of
//!   it, with the spans.
//! - The catalogue holds every entitlement of the entitlements list and of
//!   any grant, so patterns work without an entitlements list. References
//!   and patterns that match nothing are warnings, not errors.
//!
//! # Output line
//!
//! [`Violation::to_json_line`] gives the line format of the scenario corpus
//! (`tests/corpus/sod/*/expected.jsonl`) and the command line:
//!
//! ```json
//! {"risk_id":"P2P-01","risk_name":"Fictitious vendor","process":"P2P","person_id":"p1","severity":"critical",
//!  "functions":[{"function_id":"VENDOR_MAINTAIN","entitlements":["erp:VENDOR_CREATE"],"accounts":["erp:u1"]},
//!               {"function_id":"PAYMENT_APPROVE","entitlements":["erp:PAY"],"accounts":["erp:u1"]}]}
//! ```
//!
//! (one line each; `risk_name` and `process` only when the risk has them;
//! `person_id` is the identity; functions in the risk's order; entitlements
//! and accounts distinct and sorted). Lines are sorted by risk id, then
//! identity.

pub mod analyze;
pub mod catalogue;
pub mod compile;
pub mod dataset;
mod eval;
mod glob;
mod hash;
pub mod incremental;
pub mod input;
pub mod interval;
mod parallel;
pub mod report;
pub mod roles;
pub mod rules;

pub use analyze::{AnalyzeError, When, analyze, analyze_window};
pub use catalogue::{Catalogue, EntitlementId};
pub use compile::{Compiled, Warning, WarningKind};
pub use dataset::{AccountKind, AccountSpec, Dataset, DatasetBuilder, DatasetError};
pub use glob::wildcard_match;
pub use incremental::{Addition, Change, ChangeError, Delta, Engine, Holder, Resolved};
pub use interval::Interval;
pub use report::{Evidence, FunctionEvidence, Span, Violation, ViolationLine, WindowViolation};
pub use roles::{Role, RoleConflict, RoleFunction, role_conflicts};
pub use rules::{Function, Item, Risk, RuleErrors, RuleSet, Severity};

#[cfg(test)]
mod tests;
