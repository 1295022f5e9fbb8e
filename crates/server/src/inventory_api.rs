//! The auditor's point-in-time questions over HTTP: the same answers as
//! `soxctl who-has`, `access-of` and `history` (scope: read).

use crate::auth::Require;
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use soxctl_model::access::ReadAccess;
use soxctl_model::history::{AccessChange, Coverage, Holding};
use soxctl_model::ids::{EntitlementRef, PersonId};
use soxctl_model::time::Timestamp;
use utoipa::{IntoParams, ToSchema};

/// One account holding one entitlement at the instant asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldingView {
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: String,
    /// The person the account belonged to then; null when uncorrelated.
    pub person_id: Option<String>,
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

impl From<&Holding> for HoldingView {
    fn from(h: &Holding) -> Self {
        Self {
            system_id: h.system_id.to_string(),
            account_id: h.account_id.to_string(),
            entitlement_id: h.entitlement_id.to_string(),
            person_id: h.person_id.as_ref().map(ToString::to_string),
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
#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct WhoHasView {
    pub entitlement: String,
    /// The instant asked about; null for now.
    pub at: Option<String>,
    pub coverage: CoverageView,
    pub holdings: Vec<HoldingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessOfView {
    pub person_id: String,
    pub at: Option<String>,
    pub holdings: Vec<HoldingView>,
    /// Systems with no history at the instant: their part of the answer is unknown.
    pub unknown_systems: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhoHasQuery {
    /// The entitlement, as system_id:entitlement_id.
    pub entitlement: String,
    /// RFC 3339 time, or a date meaning the end of that day; default now.
    pub at: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339 time, or a date meaning the end of that day; default now.
    pub at: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start (RFC 3339 time or date); default the beginning.
    pub from: Option<String>,
    /// End (a date means the end of that day); default now.
    pub to: Option<String>,
}

fn instant(name: &str, value: &str) -> Result<Timestamp, Problem> {
    Timestamp::parse_end_of_day(value).map_err(|e| Problem::bad_request(format!("{name}: {e}")))
}

fn person(id: &str) -> Result<PersonId, Problem> {
    PersonId::parse(id).map_err(|e| Problem::bad_request(e.to_string()))
}

/// Who holds an entitlement, now or at an instant.
#[utoipa::path(
    get,
    path = "/api/v1/who-has",
    tag = "inventory",
    params(WhoHasQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Holders, with the coverage of the system's history", body = WhoHasView),
        (status = 400, description = "Bad reference or time", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn who_has(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<WhoHasQuery>,
) -> Result<Json<WhoHasView>, Problem> {
    let entitlement = EntitlementRef::parse(&query.entitlement).map_err(|e| {
        Problem::bad_request(format!(
            "entitlement: {e}; give it as system_id:entitlement_id"
        ))
    })?;
    let at = query.at.as_deref().map(|v| instant("at", v)).transpose()?;
    let answer = state.store().who_has(&entitlement, at).await?;
    Ok(Json(WhoHasView {
        entitlement: answer.entitlement.to_string(),
        at: answer.at.map(|t| t.to_canonical()),
        coverage: (&answer.coverage).into(),
        holdings: answer.holdings.iter().map(Into::into).collect(),
    }))
}

/// What a person could do, now or at an instant.
#[utoipa::path(
    get,
    path = "/api/v1/people/{person_id}/access",
    tag = "inventory",
    params(("person_id" = String, Path, description = "The person's id"), AtQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The person's grants at the instant", body = AccessOfView),
        (status = 400, description = "Bad id or time", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such person", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn access_of(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    Path(person_id): Path<String>,
    ValidQuery(query): ValidQuery<AtQuery>,
) -> Result<Json<AccessOfView>, Problem> {
    let person = person(&person_id)?;
    let at = query.at.as_deref().map(|v| instant("at", v)).transpose()?;
    let answer = state.store().access_of(&person, at).await?;
    Ok(Json(AccessOfView {
        person_id: answer.person_id.to_string(),
        at: answer.at.map(|t| t.to_canonical()),
        holdings: answer.holdings.iter().map(Into::into).collect(),
        unknown_systems: answer
            .unknown_systems
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}

/// Every change to a person's access in a window, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/people/{person_id}/history",
    tag = "inventory",
    params(("person_id" = String, Path, description = "The person's id"), WindowQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changes, oldest first", body = Vec<AccessChangeView>),
        (status = 400, description = "Bad id or window", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    Path(person_id): Path<String>,
    ValidQuery(query): ValidQuery<WindowQuery>,
) -> Result<Json<Vec<AccessChangeView>>, Problem> {
    let person = person(&person_id)?;
    let from = match query.from.as_deref() {
        Some(v) => Timestamp::parse(v).map_err(|e| Problem::bad_request(format!("from: {e}")))?,
        None => Timestamp::parse("1970-01-01T00:00:00Z").map_err(|e| Problem::internal(&e))?,
    };
    let store = state.store();
    let to = match query.to.as_deref() {
        Some(v) => instant("to", v)?,
        None => store.context().clock.now(),
    };
    if to < from {
        return Err(Problem::bad_request(
            "the window ends before it starts; give `from` earlier than `to`",
        ));
    }
    let changes = store.history_of(&person, from, to).await?;
    Ok(Json(changes.iter().map(Into::into).collect()))
}
