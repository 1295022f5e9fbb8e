//! Detective checks, pure: detectors turn facts into sightings of
//! (kind, subject) conditions, and [`reconcile`] turns sightings and the
//! findings a store holds into the ledger events that open, reopen and
//! resolve findings (DESIGN A7). Every later detector (SoD, unapproved
//! change, break-glass, …) reuses [`reconcile`].

pub mod hygiene;
mod reconcile;
pub mod sod;

pub use reconcile::{Sighting, due_for, reconcile};
