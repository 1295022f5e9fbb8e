//! The SCIM 2.0 protocol logic that needs no HTTP or store: filters, PATCH
//! over JSON documents, and the schemas a document is checked against. The
//! write use cases (the mapping to accounts, entitlements and grants) are in
//! `soxctl-app` (`ingest::scim`); the service provider's routes in `soxctl-server`.

pub mod filter;
pub mod patch;
pub mod schema;
