//! End-to-end tests of the `soxctl` binary (DESIGN A4): every test runs the
//! real executable on a temporary data directory and checks exit codes
//! (0 ok, 1 check failed, 2 usage or input error), stdout (data only) and
//! stderr (messages that say where a problem is).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

#[macro_use]
#[path = "cli/helpers.rs"]
mod helpers;

#[path = "cli/demo.rs"]
mod demo;
#[path = "cli/demo_gate.rs"]
mod demo_gate;
#[path = "cli/durability.rs"]
mod durability;
#[path = "cli/help.rs"]
mod help;
#[path = "cli/import.rs"]
mod import;
#[path = "cli/import_input.rs"]
mod import_input;
#[path = "cli/keys.rs"]
mod keys;
#[path = "cli/ldap.rs"]
mod ldap;
#[path = "cli/ldap_edges.rs"]
mod ldap_edges;
#[path = "cli/ldap_nested.rs"]
mod ldap_nested;
#[path = "cli/ldap_people.rs"]
mod ldap_people;
#[path = "cli/ledger.rs"]
mod ledger;
#[path = "cli/notify.rs"]
mod notify;
#[path = "cli/person.rs"]
mod person;
#[path = "cli/postgres.rs"]
mod postgres;
#[path = "cli/query.rs"]
mod query;
#[path = "cli/readme.rs"]
mod readme;
#[path = "cli/replicas.rs"]
mod replicas;
#[path = "cli/serve.rs"]
mod serve;
#[path = "cli/sod.rs"]
mod sod;
#[path = "cli/token.rs"]
mod token;
#[path = "cli/verify.rs"]
mod verify;
#[path = "cli/verify_witness.rs"]
mod verify_witness;
#[path = "cli/workflow.rs"]
mod workflow;
#[path = "cli/workflow_decisions.rs"]
mod workflow_decisions;
