//! Snapshot import into a store, on SQLite and on a throw-away PostgreSQL
//! (which must be available: the tests fail, never skip).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[macro_use]
#[path = "import/helpers.rs"]
mod helpers;

#[path = "import/demo.rs"]
mod demo;
#[path = "import/directory.rs"]
mod directory;
#[path = "import/findings.rs"]
mod findings;
#[path = "import/guards.rs"]
mod guards;
#[path = "import/history.rs"]
mod history;
#[path = "import/input.rs"]
mod input;
#[path = "import/jsonl.rs"]
mod jsonl;
#[path = "import/reconcile.rs"]
mod reconcile;
#[path = "import/rejects.rs"]
mod rejects;
