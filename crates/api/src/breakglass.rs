//! Break-glass uses and their review.

use crate::people::{Names, shown};
use serde::{Deserialize, Serialize};
use soxctl_model::request::{BreakGlassRow, ReviewOutcome};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassView {
    pub use_id: String,
    pub person_id: String,
    /// Their name; null when unnamed or erased.
    #[serde(default)]
    pub person_name: Option<String>,
    /// `system:entitlement` on the person's account.
    pub entitlements: Vec<String>,
    pub reason: String,
    pub evidence: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub reviewer_id: String,
    /// The reviewer's name; null when unnamed or erased.
    #[serde(default)]
    pub reviewer_name: Option<String>,
    pub reviewed_at: Option<String>,
    /// appropriate or inappropriate, once reviewed.
    pub outcome: Option<String>,
    pub review_notes: Option<String>,
    /// The emergency grants (`agr_…`); ending them early
    /// (`POST /api/v1/grants/{grant_id}/revoke`) makes the use reviewable.
    pub grant_ids: Vec<String>,
}

impl BreakGlassView {
    /// The use, with the names from `names`, without its grants
    /// (`grant_ids` empty): the row does not hold them.
    pub fn of(b: &BreakGlassRow, names: &Names) -> Self {
        Self {
            use_id: b.use_id.to_string(),
            person_id: b.person_id.to_string(),
            person_name: shown(names, Some(&b.person_id)).0,
            reviewer_name: shown(names, Some(&b.reviewer_id)).0,
            entitlements: b
                .items
                .iter()
                .map(|i| format!("{}:{}", i.system_id, i.entitlement_id))
                .collect(),
            reason: b.reason.clone(),
            evidence: b.evidence.clone(),
            starts_at: b.starts_at.to_canonical(),
            ends_at: b.ends_at.to_canonical(),
            reviewer_id: b.reviewer_id.to_string(),
            reviewed_at: b.reviewed_at.map(|t| t.to_canonical()),
            outcome: b.outcome.map(|o| o.as_str().to_owned()),
            review_notes: b.review_notes.clone(),
            grant_ids: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BreakGlassBody {
    /// `system_id:entitlement_id`, 1 to 20.
    pub entitlements: Vec<String>,
    /// Default and maximum: the policies' `[break_glass] max_duration`.
    pub duration_secs: Option<u64>,
    /// Why (mandatory).
    pub reason: String,
    /// A session recording or activity-log reference (required by the review at the latest).
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreakGlassList {
    pub uses: Vec<BreakGlassView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// appropriate or inappropriate.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub outcome: ReviewOutcome,
    pub notes: String,
    /// Needed here when none was recorded with the use.
    pub evidence: Option<String>,
}
