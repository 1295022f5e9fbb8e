//! Who has what, now or at an instant, and what changed.

use crate::people::{Names, shown};
use serde::{Deserialize, Serialize};
use soxctl_model::history::{AccessChange, Coverage, Holding};
use soxctl_model::ids::{EntitlementRef, PersonId, SystemId};
use soxctl_model::time::Timestamp;

/// One account holding one entitlement at the instant asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldingView {
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: String,
    /// The person the account belonged to then; null when uncorrelated.
    pub person_id: Option<String>,
    /// Their name now; null when uncorrelated, unnamed or erased.
    #[serde(default)]
    pub person_name: Option<String>,
    /// Their name and email were erased for good.
    #[serde(default)]
    pub person_erased: bool,
    /// human, service or shared.
    pub account_kind: Option<String>,
    /// active or disabled.
    pub account_status: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    /// direct or role:<role_id>.
    pub source: String,
    pub recorded_by: String,
    pub import_id: Option<String>,
    /// The ledger entry that recorded the grant.
    pub seq: u64,
}

impl HoldingView {
    /// The holding, with the holder's name from `names`.
    pub fn of(h: &Holding, names: &Names) -> Self {
        let (person_name, person_erased) = shown(names, h.person_id.as_ref());
        Self {
            system_id: h.system_id.to_string(),
            account_id: h.account_id.to_string(),
            entitlement_id: h.entitlement_id.to_string(),
            person_id: h.person_id.as_ref().map(ToString::to_string),
            person_name,
            person_erased,
            account_kind: h.account_kind.map(|k| k.as_str().to_owned()),
            account_status: h.account_status.map(|s| s.as_str().to_owned()),
            valid_from: h.valid_from.to_canonical(),
            valid_to: h.valid_to.map(|t| t.to_canonical()),
            source: h.source.clone(),
            recorded_by: h.recorded_by.clone(),
            import_id: h.import_id.clone(),
            seq: h.seq,
        }
    }
}

/// Whether the system's history reaches the instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageView {
    /// `known`, or `unknown` when the system was first imported after the instant (or never).
    pub state: String,
    /// The system's first import.
    pub since: Option<String>,
}

impl From<&Coverage> for CoverageView {
    fn from(c: &Coverage) -> Self {
        let (state, since) = match c {
            Coverage::Known { since } => ("known", Some(*since)),
            Coverage::Unknown { since } => ("unknown", *since),
        };
        Self {
            state: state.to_owned(),
            since: since.map(|t| t.to_canonical()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoHasView {
    pub entitlement: String,
    /// The instant asked about; null for now.
    pub at: Option<String>,
    pub coverage: CoverageView,
    pub holdings: Vec<HoldingView>,
}

impl WhoHasView {
    /// The answer for `entitlement` at `at` (none: now).
    pub fn of(
        entitlement: &EntitlementRef,
        at: Option<Timestamp>,
        coverage: &Coverage,
        holdings: &[Holding],
        names: &Names,
    ) -> Self {
        Self {
            entitlement: entitlement.to_string(),
            at: at.map(|t| t.to_canonical()),
            coverage: coverage.into(),
            holdings: holdings.iter().map(|h| HoldingView::of(h, names)).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessOfView {
    pub person_id: String,
    /// Their name now; null when unnamed or erased.
    #[serde(default)]
    pub person_name: Option<String>,
    #[serde(default)]
    pub person_erased: bool,
    pub at: Option<String>,
    pub holdings: Vec<HoldingView>,
    /// Systems with no history at the instant: their part of the answer is unknown.
    pub unknown_systems: Vec<String>,
}

impl AccessOfView {
    /// The answer for `person_id` at `at` (none: now).
    pub fn of(
        person_id: &PersonId,
        at: Option<Timestamp>,
        holdings: &[Holding],
        unknown_systems: &[SystemId],
        names: &Names,
    ) -> Self {
        let (person_name, person_erased) = shown(names, Some(person_id));
        Self {
            person_id: person_id.to_string(),
            person_name,
            person_erased,
            at: at.map(|t| t.to_canonical()),
            holdings: holdings.iter().map(|h| HoldingView::of(h, names)).collect(),
            unknown_systems: unknown_systems.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessChangeView {
    pub at: String,
    /// account_linked, account_unlinked, granted or revoked.
    pub change: String,
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: Option<String>,
    pub account_status: Option<String>,
    pub recorded_by: String,
    pub import_id: Option<String>,
    pub seq: u64,
}

impl From<&AccessChange> for AccessChangeView {
    fn from(c: &AccessChange) -> Self {
        Self {
            at: c.at.to_canonical(),
            change: c.change.as_str().to_owned(),
            system_id: c.system_id.to_string(),
            account_id: c.account_id.to_string(),
            entitlement_id: c.entitlement_id.as_ref().map(ToString::to_string),
            account_status: c.account_status.map(|s| s.as_str().to_owned()),
            recorded_by: c.recorded_by.clone(),
            import_id: c.import_id.clone(),
            seq: c.seq,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct WhoHasQuery {
    /// The entitlement, as system_id:entitlement_id.
    pub entitlement: String,
    /// RFC 3339 time, or a date meaning the end of that day; default now.
    pub at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AtQuery {
    /// RFC 3339 time, or a date meaning the end of that day; default now.
    pub at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct WindowQuery {
    /// Start (RFC 3339 time or date); default the beginning.
    pub from: Option<String>,
    /// End (a date means the end of that day); default now.
    pub to: Option<String>,
}
