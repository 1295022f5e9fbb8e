//! Time-bound grants and delegations over HTTP: listing the grants that
//! approved requests started and ending one early (admin); a person handing
//! their approvals to a delegate while away, and ending it.

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody, path_id};
use crate::requests_api::problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use soxctl_api::requests::{
    DelegateBody, DelegationList, DelegationView, EmptyBody, GrantList, GrantQuery, GrantView,
    ReasonBody,
};
use soxctl_app::NewDelegation;
use soxctl_app::inventory;
use soxctl_model::access::{AdminAccess, PersonAccess, WorkflowRead};
use soxctl_model::ids::{AccessGrantId, DelegationId, PersonId};
use soxctl_model::time::Timestamp;

/// List time-bound grants (in force by default).
#[utoipa::path(
    get,
    path = "/api/v1/grants",
    tag = "requests",
    security(("bearer" = [])),
    params(GrantQuery),
    responses(
        (status = 200, description = "Grants, by start", body = GrantList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read, request or gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn grants(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
    ValidQuery(query): ValidQuery<GrantQuery>,
) -> Result<Json<GrantList>, Problem> {
    let within = query
        .expiring_within_secs
        .map(|s| crate::problem::at_most("expiring_within_secs", s, MAX_WINDOW_SECS))
        .transpose()?;
    let store = state.store();
    let now = store.context().clock.now();
    let horizon = within.map(|s| now.saturating_add_secs(s));
    let rows: Vec<_> = store
        .access_grants(None, None)
        .await?
        .into_iter()
        .filter(|g| query.all.unwrap_or(false) || g.active_at(now))
        .filter(|g| horizon.is_none_or(|h| g.active_at(now) && g.ends_at <= h))
        .collect();
    let names = inventory::names_in_requests(store, [], &rows).await?;
    let grants = rows.iter().map(|g| GrantView::of(g, now, &names)).collect();
    Ok(Json(GrantList { grants }))
}

/// The longest look-ahead a query takes: ten years.
pub const MAX_WINDOW_SECS: u64 = 10 * 365 * 24 * 3_600;

/// End a time-bound grant early (admin).
#[utoipa::path(
    post,
    path = "/api/v1/grants/{grant_id}/revoke",
    tag = "requests",
    security(("bearer" = [])),
    params(("grant_id" = String, Path, description = "`agr_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = ReasonBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Revoked", body = GrantView),
        (status = 400, description = "No reason", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such grant", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Already ended", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn revoke_grant(
    State(state): State<AppState>,
    Require(admin): Require<AdminAccess>,
    Path(grant_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let grant_id: AccessGrantId = path_id(&grant_id)?;
    let body: ReasonBody = post.json(r#"{"reason":"left the project"}"#)?;
    let store = state.store();
    let idempotency = post.idempotency(admin.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    soxctl_app::revoke_grant(&mut tx, admin.actor(), &grant_id, &body.reason)
        .await
        .map_err(problem)?;
    let now = tx.now();
    let grant = tx
        .access_grants(None, None)
        .await?
        .into_iter()
        .find(|g| g.grant_id == grant_id)
        .ok_or_else(|| Problem::not_found(format!("no grant '{grant_id}'")))?;
    let names = inventory::names_in_requests(store, [], [&grant]).await?;
    let view = to_json(&GrantView::of(&grant, now, &names))?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}

/// Hand your approvals to a delegate while away (as the token's person).
#[utoipa::path(
    post,
    path = "/api/v1/delegations",
    tag = "requests",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = DelegateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = DelegationView),
        (status = 400, description = "Bad input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Delegate not active, or no person-bound request token", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create_delegation(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: DelegateBody = post
        .json(r#"{"delegate_id":"p1002","ends_at":"2026-08-15T00:00:00Z","reason":"holiday"}"#)?;
    let time = |name: &str, v: &str| {
        Timestamp::parse(v).map_err(|e| Problem::bad_request(format!("{name}: {e}")))
    };
    let input = NewDelegation {
        delegate_id: PersonId::parse(body.delegate_id.as_str())
            .map_err(|e| Problem::bad_request(format!("delegate_id: {e}")))?,
        starts_at: body
            .starts_at
            .as_deref()
            .map(|v| time("starts_at", v))
            .transpose()?,
        ends_at: time("ends_at", &body.ends_at)?,
        reason: body.reason,
        issued_by: person.issued_by_other().cloned(),
    };
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let (id, _) = soxctl_app::delegate(&mut tx, person.actor(), person.person(), input)
        .await
        .map_err(problem)?;
    let view = delegation_view(store, &mut tx, &id).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::CREATED, view))
        .await
}

/// List delegations.
#[utoipa::path(
    get,
    path = "/api/v1/delegations",
    tag = "requests",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Delegations", body = DelegationList),
        (status = 403, description = "Token lacks the read, request or gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn delegations(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
) -> Result<Json<DelegationList>, Problem> {
    let store = state.store();
    let now = store.context().clock.now();
    let rows = store.delegations().await?;
    let names = inventory::names(
        store,
        rows.iter()
            .flat_map(|d| [d.delegator_id.clone(), d.delegate_id.clone()]),
    )
    .await?;
    let delegations = rows
        .iter()
        .map(|d| DelegationView::of(d, now, &names))
        .collect();
    Ok(Json(DelegationList { delegations }))
}

/// End a delegation early (its delegator; an admin token for a person may end any).
#[utoipa::path(
    post,
    path = "/api/v1/delegations/{delegation_id}/revoke",
    tag = "requests",
    security(("bearer" = [])),
    params(("delegation_id" = String, Path, description = "`dlg_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    responses(
        (status = 200, description = "Ended", body = DelegationView),
        (status = 403, description = "Not the delegator", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such delegation", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Already ended", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn revoke_delegation(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(delegation_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let delegation_id: DelegationId = path_id(&delegation_id)?;
    let EmptyBody {} = post.json("{}")?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let by = (!person.is_admin()).then(|| person.person());
    soxctl_app::revoke_delegation(&mut tx, person.actor(), by, &delegation_id)
        .await
        .map_err(problem)?;
    let view = delegation_view(store, &mut tx, &delegation_id).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}

/// The answer to a delegation step: the delegation as the transaction
/// holds it now, with its people's names.
async fn delegation_view(
    store: &soxctl_store::Store,
    tx: &mut soxctl_store::WriteTx,
    id: &DelegationId,
) -> Result<serde_json::Value, Problem> {
    let now = tx.now();
    let row = tx
        .delegations()
        .await?
        .into_iter()
        .find(|d| &d.delegation_id == id)
        .ok_or_else(|| Problem::not_found(format!("delegation '{id}' vanished")))?;
    let names =
        inventory::names(store, [row.delegator_id.clone(), row.delegate_id.clone()]).await?;
    to_json(&DelegationView::of(&row, now, &names))
}
