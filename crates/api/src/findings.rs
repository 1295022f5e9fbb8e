//! Findings of the detectors.

use crate::people::{Names, shown};
use serde::{Deserialize, Serialize};
use soxctl_model::finding::FindingRow;
use std::collections::BTreeMap;

/// A finding (DESIGN A7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingView {
    /// `fnd_` + 128 bits of SHA-256(kind, subject): stable across reopenings.
    pub finding_id: String,
    pub kind: String,
    /// `account:<system>:<account>`, `grant:<system>:<account>:<entitlement>`, …
    pub subject: String,
    /// low, medium, high or critical.
    pub severity: String,
    /// open, accepted or resolved.
    pub status: String,
    pub summary: String,
    pub control_ids: Vec<String>,
    pub first_seen: String,
    pub opened_at: String,
    pub resolved_at: Option<String>,
    pub owner_id: Option<String>,
    /// The owner's name; null when unnamed or erased.
    #[serde(default)]
    pub owner_name: Option<String>,
    pub due: Option<String>,
    pub resolution: Option<String>,
    pub accepted_until: Option<String>,
    pub detail: BTreeMap<String, String>,
}

impl FindingView {
    /// The finding, with its owner's name from `names`.
    pub fn of(f: &FindingRow, names: &Names) -> Self {
        Self {
            finding_id: f.finding_id.to_string(),
            kind: f.kind.clone(),
            subject: f.subject.clone(),
            severity: f.severity.as_str().to_owned(),
            status: f.status.as_str().to_owned(),
            summary: f.summary.clone(),
            control_ids: f.control_ids.clone(),
            first_seen: f.first_seen.to_canonical(),
            opened_at: f.opened_at.to_canonical(),
            resolved_at: f.resolved_at.map(|t| t.to_canonical()),
            owner_id: f.owner_id.as_ref().map(ToString::to_string),
            owner_name: shown(names, f.owner_id.as_ref()).0,
            due: f.due.map(|d| d.to_string()),
            resolution: f.resolution.clone(),
            accepted_until: f.accepted_until.map(|t| t.to_canonical()),
            detail: f.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FindingsQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// open (default), accepted, resolved or all.
    pub status: Option<String>,
    /// This severity or worse.
    pub severity: Option<String>,
    /// Subjects starting with this.
    pub subject: Option<String>,
}
