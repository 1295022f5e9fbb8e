//! CI identity federation for the change gate: what a CI system's OIDC ID
//! token says about the pipeline that holds it (GitHub Actions `id-token`,
//! GitLab CI `id_tokens`), and the trust entries that decide which
//! pipelines may act for which repository and environment.
//!
//! soxctl trusts the issuer's signature, never what a pipeline says about
//! itself: [`CiClaims`] is built only from a token's claims once its
//! signature, issuer, audience and times have been verified (the connectors'
//! `ci_oidc` adapter does that). Even then every value came from outside and
//! is bounded here. [`PipelineTrust::admit`] then compares the claims with one
//! configured entry, field by field, and names the first that differs.
//!
//! Pure: no IO, no clock.

use crate::ids::SystemId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

mod claims;
mod trust;
pub use claims::*;
pub use trust::*;

#[cfg(test)]
mod tests;
