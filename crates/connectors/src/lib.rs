//! Connectors bring identities and access in from the systems that hold
//! them. Today: snapshot directories (DESIGN A5).

pub mod correlate;
pub mod detectors;
pub mod import;
pub mod scim;
pub mod snapshot;
