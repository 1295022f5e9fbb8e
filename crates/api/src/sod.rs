//! Segregation of duties: what a change would create.

use serde::{Deserialize, Serialize};

/// The most entitlements one simulation may add.
pub const MAX_ADDITIONS: usize = 1_000;

/// `POST /api/v1/sod/simulate`, and `soxctl sod simulate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The person (or `account:<system>:<account>`) who would receive the access.
    pub person_id: String,
    /// Entitlements to add, as `system_id:entitlement_id`.
    #[serde(default)]
    pub add: Vec<String>,
    /// Roles whose entitlements to add.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Start of a time-bound grant (RFC 3339, or a date: the end of that day); with `to`.
    pub from: Option<String>,
    /// End of a time-bound grant, exclusive; after `from`.
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FunctionView {
    pub function_id: String,
    pub entitlements: Vec<String>,
    pub accounts: Vec<String>,
}

/// A violation with the facts that make it (DESIGN A6 line shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViolationView {
    pub risk_id: String,
    pub risk_name: Option<String>,
    pub process: Option<String>,
    /// The identity.
    pub person_id: String,
    pub severity: String,
    pub functions: Vec<FunctionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulateResponse {
    /// True when the change creates no violation.
    pub clear: bool,
    /// The violations the change would create (those the identity has already are not repeated).
    pub violations: Vec<ViolationView>,
    /// The rule set version judged against; null when a rule file was given instead (`soxctl sod simulate --rules FILE`).
    pub rules_version: Option<u64>,
}
