//! Break-glass over HTTP: emergency access for the people the policies
//! name, and the owner's after-review (tokens bound to a person, scope
//! `request`).

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::problem::{Problem, ProblemBody};
use crate::requests_api::problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use soxctl_api::breakglass::{BreakGlassBody, BreakGlassList, BreakGlassView, ReviewBody};
use soxctl_app::breakglass::{self, Emergency, Review};
use soxctl_app::inventory;
use soxctl_model::access::{PersonAccess, WorkflowRead};
use soxctl_model::ids::RequestId;

async fn view(
    store: &soxctl_store::Store,
    tx: &mut soxctl_store::WriteTx,
    use_id: &RequestId,
) -> Result<BreakGlassView, Problem> {
    let row = tx
        .breakglass_uses()
        .await?
        .into_iter()
        .find(|b| &b.use_id == use_id)
        .ok_or_else(|| Problem::not_found(format!("no break-glass use '{use_id}'")))?;
    let names = inventory::names(store, [row.person_id.clone(), row.reviewer_id.clone()]).await?;
    let mut view = BreakGlassView::of(&row, &names);
    view.grant_ids = tx
        .access_grants(Some(use_id), None)
        .await?
        .into_iter()
        .map(|g| g.grant_id.to_string())
        .collect();
    Ok(view)
}

/// Break the glass: emergency access at once, alerted at once, reviewed after.
#[utoipa::path(
    post,
    path = "/api/v1/breakglass",
    tag = "requests",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = BreakGlassBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Granted; the reviewer and security are alerted", body = BreakGlassView),
        (status = 400, description = "Bad input", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not on the break-glass list, too long, not enabled, or three uses await review", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "An earlier use is still in force (not extended or stacked)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: BreakGlassBody = post
        .json(r#"{"entitlements":["erp:AP_PAY"],"reason":"payment run failed","evidence":"siem:session/1"}"#)?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let used = breakglass::break_glass(
        &mut tx,
        person.actor(),
        person.person(),
        Emergency {
            entitlements: body.entitlements,
            duration_secs: body.duration_secs,
            reason: body.reason,
            evidence: body.evidence,
        },
    )
    .await
    .map_err(problem)?;
    let body = to_json(&view(store, &mut tx, &used.use_id).await?)?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::CREATED, body))
        .await
}

/// Break-glass uses, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/breakglass",
    tag = "requests",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Uses", body = BreakGlassList),
        (status = 403, description = "Token lacks the read, request or gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
) -> Result<Json<BreakGlassList>, Problem> {
    let store = state.store();
    let mut grants: std::collections::HashMap<RequestId, Vec<String>> = Default::default();
    for g in store.access_grants(None, None).await? {
        grants
            .entry(g.request_id)
            .or_default()
            .push(g.grant_id.to_string());
    }
    let rows = store.breakglass_uses().await?;
    let names = inventory::names(
        store,
        rows.iter()
            .flat_map(|b| [b.person_id.clone(), b.reviewer_id.clone()]),
    )
    .await?;
    let uses = rows
        .iter()
        .map(|b| BreakGlassView {
            grant_ids: grants.remove(&b.use_id).unwrap_or_default(),
            ..BreakGlassView::of(b, &names)
        })
        .collect();
    Ok(Json(BreakGlassList { uses }))
}

/// The owner's after-review of a use.
#[utoipa::path(
    post,
    path = "/api/v1/breakglass/{use_id}/review",
    tag = "requests",
    security(("bearer" = [])),
    params(("use_id" = String, Path, description = "`bgl_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = ReviewBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Reviewed; the unreviewed finding is resolved", body = BreakGlassView),
        (status = 400, description = "No notes, or no evidence recorded", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not the reviewer (nor, when the reviewer has left, one who would review now)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such use", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Reviewed already, or still in force (review it once it ends or its grants are revoked)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn review(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(use_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: ReviewBody = post.json(
        r#"{"outcome":"appropriate","notes":"incident INC-7","evidence":"siem:session/1"}"#,
    )?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let row = breakglass::review(
        &mut tx,
        person.actor(),
        person.person(),
        Review {
            use_id: crate::problem::path_id(&use_id)?,
            outcome: body.outcome,
            notes: body.notes,
            evidence: body.evidence,
            issued_by: person.issued_by_other().cloned(),
        },
    )
    .await
    .map_err(problem)?;
    let body = to_json(&view(store, &mut tx, &row.use_id).await?)?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, body))
        .await
}
