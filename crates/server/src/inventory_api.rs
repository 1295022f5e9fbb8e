//! The auditor's point-in-time questions over HTTP: the same answers as
//! `soxctl who-has`, `access-of` and `history` (scope: read).

use crate::auth::Require;
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use soxctl_api::inventory::{
    AccessChangeView, AccessOfView, AtQuery, WhoHasQuery, WhoHasView, WindowQuery,
};
use soxctl_api::people::{EntitlementList, EntitlementsQuery, PeopleList, PeopleQuery, SystemList};
use soxctl_app::inventory::{self, LookupError};
use soxctl_model::access::ReadAccess;
use soxctl_model::ids::{EntitlementRef, PersonId, SystemId};
use soxctl_model::time::Timestamp;

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
        (status = 404, description = "No such entitlement in the inventory, and nobody held it then", body = ProblemBody, content_type = "application/problem+json"),
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
    Ok(Json(
        inventory::who_has(state.store(), &entitlement, at)
            .await
            .map_err(lookup)?,
    ))
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
    Ok(Json(
        inventory::access_of(state.store(), &person, at).await?,
    ))
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
    let from = query
        .from
        .as_deref()
        .map(|v| Timestamp::parse(v).map_err(|e| Problem::bad_request(format!("from: {e}"))))
        .transpose()?;
    let to = query.to.as_deref().map(|v| instant("to", v)).transpose()?;
    let changes = inventory::history(state.store(), &person, from, to)
        .await
        .map_err(lookup)?;
    Ok(Json(changes))
}

fn lookup(e: LookupError) -> Problem {
    match e {
        LookupError::Limit(_) => Problem::bad_request(e.to_string()),
        LookupError::UnknownSystem(_) | LookupError::UnknownEntitlement(_) => {
            Problem::not_found(e.to_string())
        }
        LookupError::Window { .. } => Problem::bad_request(e.to_string()),
        LookupError::Store(e) => e.into(),
    }
}

/// People whose id, name or email contain the query.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    tag = "inventory",
    params(PeopleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "People by id, with their names unless erased", body = PeopleList),
        (status = 400, description = "Bad query or limit", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn people(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<PeopleQuery>,
) -> Result<Json<PeopleList>, Problem> {
    let found = inventory::people(state.store(), query.q.as_deref(), query.limit)
        .await
        .map_err(lookup)?;
    Ok(Json(found))
}

/// Every system, with its owner and how many entitlements it has.
#[utoipa::path(
    get,
    path = "/api/v1/systems",
    tag = "inventory",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Systems by id", body = SystemList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn systems(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
) -> Result<Json<SystemList>, Problem> {
    Ok(Json(inventory::systems(state.store()).await?))
}

/// Every entitlement, or one system's, with their owners.
#[utoipa::path(
    get,
    path = "/api/v1/entitlements",
    tag = "inventory",
    params(EntitlementsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Entitlements by system and id", body = EntitlementList),
        (status = 400, description = "Bad system id", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such system", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn entitlements(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<EntitlementsQuery>,
) -> Result<Json<EntitlementList>, Problem> {
    let system = query
        .system
        .as_deref()
        .map(SystemId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("system: {e}")))?;
    let found = inventory::entitlements(state.store(), system.as_ref())
        .await
        .map_err(lookup)?;
    Ok(Json(found))
}
