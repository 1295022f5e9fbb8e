//! Break-glass: the use, its after-review, and the row.

#![allow(unused_imports)]
use super::*;

/// `breakglass.used`: emergency access without prior approval, by someone
/// the policies name, with a mandatory reason; its grants start at once and
/// end within the break-glass maximum, and the owner must review it after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassUsed {
    pub use_id: RequestId,
    pub person_id: PersonId,
    pub items: Vec<AccessItem>,
    pub reason: String,
    /// A session recording or activity-log reference for the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Who must review it (the entitlement's, else the system's owner).
    pub reviewer_id: PersonId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// The emergency was real and the use fitted it.
    Appropriate,
    /// It was not: follow up (the finding records it).
    Inappropriate,
}

impl ReviewOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Appropriate => "appropriate",
            Self::Inappropriate => "inappropriate",
        }
    }
}

/// `breakglass.reviewed`: the owner's after-review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassReviewed {
    pub use_id: RequestId,
    pub reviewer_id: PersonId,
    pub outcome: ReviewOutcome,
    pub notes: String,
    /// Evidence added at review (when none was recorded with the use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Made through a credential this actor issued, not the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// A break-glass use, as the `breakglass_uses` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakGlassRow {
    pub use_id: RequestId,
    pub person_id: PersonId,
    pub items: Vec<AccessItem>,
    pub reason: String,
    pub evidence: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reviewer_id: PersonId,
    pub reviewed_at: Option<Timestamp>,
    pub outcome: Option<ReviewOutcome>,
    pub review_notes: Option<String>,
}
