//! Snapshot import into a store, on SQLite and on a throw-away PostgreSQL
//! (which must be available: the tests fail, never skip).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[macro_use]
#[path = "ingest/helpers.rs"]
mod helpers;

#[path = "ingest/demo.rs"]
mod demo;
#[path = "ingest/directory.rs"]
mod directory;
#[path = "ingest/findings.rs"]
mod findings;
#[path = "ingest/guards.rs"]
mod guards;
#[path = "ingest/history.rs"]
mod history;
#[path = "ingest/input.rs"]
mod input;
#[path = "ingest/jsonl.rs"]
mod jsonl;
#[path = "ingest/reconcile.rs"]
mod reconcile;
#[path = "ingest/rejects.rs"]
mod rejects;
#[path = "ingest/scim.rs"]
mod scim;
