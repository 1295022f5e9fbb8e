//! People, systems and entitlements as a person looks them up: by a name,
//! an email or part of an id, and the names shown beside ids.

use serde::{Deserialize, Serialize};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::{Entitlement, System};
use soxctl_model::projection::PersonRow;
use std::collections::BTreeMap;

/// What a viewer is shown beside a person's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Name(String),
    /// Their name and email were erased for good (`person erase`).
    Erased,
}

/// The names to show beside the person ids of one answer; a person
/// without a name (or unknown to the store) is not in it.
pub type Names = BTreeMap<PersonId, Shown>;

/// The name and erasure flag of `id` in `names`.
pub fn shown(names: &Names, id: Option<&PersonId>) -> (Option<String>, bool) {
    match id.and_then(|id| names.get(id)) {
        Some(Shown::Name(name)) => (Some(name.clone()), false),
        Some(Shown::Erased) => (None, true),
        None => (None, false),
    }
}

/// One person as the inventory holds them now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonView {
    pub person_id: String,
    /// Null when erased or never given.
    pub name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub manager_id: Option<String>,
    /// active, leave or terminated.
    pub status: String,
    /// Their name and email were erased for good.
    pub erased: bool,
}

impl From<&PersonRow> for PersonView {
    fn from(row: &PersonRow) -> Self {
        let p = &row.person;
        Self {
            person_id: p.person_id.to_string(),
            name: p.name.clone(),
            email: p.email.clone(),
            department: p.department.clone(),
            title: p.title.clone(),
            manager_id: p.manager_id.as_ref().map(ToString::to_string),
            status: p.status.as_str().to_owned(),
            erased: row.erased,
        }
    }
}

/// `GET /api/v1/people`: people whose id, name or email contain the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PeopleQuery {
    /// Part of a person's id, name or email, without regard to case
    /// (none: everyone).
    pub q: Option<String>,
    /// At most this many (default 50, at most 1,000).
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeopleList {
    pub people: Vec<PersonView>,
    /// More people match than the limit let through.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemView {
    pub system_id: String,
    pub name: String,
    pub kind: Option<String>,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub sox_in_scope: bool,
    /// How many entitlements the inventory holds for it.
    pub entitlements: u64,
}

impl SystemView {
    pub fn of(system: &System, entitlements: u64, names: &Names) -> Self {
        let (owner_name, _) = shown(names, system.owner_id.as_ref());
        Self {
            system_id: system.system_id.to_string(),
            name: system.name.clone(),
            kind: system.kind.clone(),
            owner_id: system.owner_id.as_ref().map(ToString::to_string),
            owner_name,
            sox_in_scope: system.sox_in_scope,
            entitlements,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemList {
    pub systems: Vec<SystemView>,
}

/// `GET /api/v1/entitlements`: every entitlement, or one system's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EntitlementsQuery {
    /// Only this system's.
    pub system: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntitlementView {
    pub system_id: String,
    pub entitlement_id: String,
    pub name: Option<String>,
    pub privileged: bool,
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
    pub description: Option<String>,
}

impl EntitlementView {
    pub fn of(e: &Entitlement, names: &Names) -> Self {
        let (owner_name, _) = shown(names, e.owner_id.as_ref());
        Self {
            system_id: e.system_id.to_string(),
            entitlement_id: e.entitlement_id.to_string(),
            name: e.name.clone(),
            privileged: e.privileged,
            owner_id: e.owner_id.as_ref().map(ToString::to_string),
            owner_name,
            description: e.description.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntitlementList {
    pub entitlements: Vec<EntitlementView>,
}
