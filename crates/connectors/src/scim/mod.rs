//! The SCIM 2.0 protocol logic that needs no HTTP or store: filters and
//! PATCH over JSON documents. The service provider itself (routes, the
//! mapping to accounts, entitlements and grants) is in `soxctl-server`.

pub mod filter;
pub mod patch;
