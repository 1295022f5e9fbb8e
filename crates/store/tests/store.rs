//! Contract tests of `soxctl-store`, each on SQLite and on a throw-away
//! PostgreSQL (which must be available: the tests fail, never skip).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[macro_use]
#[path = "store/helpers.rs"]
mod helpers;

#[path = "store/append.rs"]
mod append;
#[path = "store/checkpoints.rs"]
mod checkpoints;
#[path = "store/concurrency.rs"]
mod concurrency;
#[path = "store/erasure.rs"]
mod erasure;
#[path = "store/housekeeping.rs"]
mod housekeeping;
#[path = "store/open.rs"]
mod open;
#[path = "store/proofs.rs"]
mod proofs;
#[path = "store/tamper.rs"]
mod tamper;
#[path = "store/tamper_state.rs"]
mod tamper_state;
#[path = "store/tamper_tail.rs"]
mod tamper_tail;
