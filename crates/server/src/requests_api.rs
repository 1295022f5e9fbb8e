//! Just-in-time requests over HTTP. People ask and decide with a token
//! bound to them (scope `request`); readers and admins list. Every POST
//! takes an `Idempotency-Key`, and every step is one transaction with its
//! ledger entries (see `soxctl-app`).

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::ledger_api::ValidQuery;
use crate::problem::{ErrorCode, Problem, ProblemBody, path_id};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use soxctl_api::requests::{
    CreateRequestBody, CreatedRequest, DecideBody, DecidedView, DecisionView, DelegateView,
    EmptyBody, Excluded, GrantView, ListQuery, ReasonBody, RequestDetail, RequestList, RequestView,
    StepView,
};
use soxctl_app::inventory;
use soxctl_app::{DecisionInput, NewAccess, NewAction, NewAsk, NewRequest, WorkflowError};
use soxctl_model::access::{PersonAccess, WorkflowRead};
use soxctl_model::ids::{PersonId, RequestId};
use soxctl_model::request::{Activation, Decision, RequestStatus};
use soxctl_model::time::Timestamp;
use soxctl_store::requests::RequestFilter;

pub(crate) fn problem(e: WorkflowError) -> Problem {
    match e {
        WorkflowError::Invalid(m) => Problem::bad_request(m),
        WorkflowError::Refused(m) => Problem::new(ErrorCode::Refused, m),
        WorkflowError::NotFound(m) => Problem::not_found(m),
        WorkflowError::Conflict(m) => Problem::new(ErrorCode::Conflict, m),
        WorkflowError::Store(e) => e.into(),
    }
}

/// The answer to a request created (by a person or a pipeline).
pub(crate) async fn created_view(
    store: &soxctl_store::Store,
    created: &soxctl_app::Created,
    now: Timestamp,
) -> Result<CreatedRequest, Problem> {
    let names = inventory::names_in_requests(store, [&created.request], []).await?;
    Ok(CreatedRequest {
        request: RequestView::of(&created.request, now, &names),
        excluded: created
            .excluded
            .iter()
            .map(|(id, why)| Excluded {
                person_id: id.to_string(),
                reason: why.clone(),
            })
            .collect(),
        ledger_seq: created.seq,
    })
}

const CREATE_EXAMPLE: &str = r#"{"entitlement":"erp:PAYMENT_RUN","duration_secs":14400,"justification":"quarter-end payment run","ticket":"CHG-1234"}"#;

/// Ask for access or an action.
///
/// The request is routed by the policies in force; the built-in rules remove
/// the requester, the beneficiary, the change's authors, leavers and anyone
/// the access would put in SoD conflict (listed in `excluded`). Refused with
/// 403 `refused` when fewer eligible approvers remain than the policy needs.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    tag = "requests",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request (e.g. a UUID); scoped to the calling token.")),
    request_body(content = CreateRequestBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded; approvers are notified", body = CreatedRequest),
        (status = 400, description = "Malformed input or unknown reference; nothing recorded", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token not bound to a person with the request scope, or refused by policy", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key already used for a different request", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: CreateRequestBody = post.json(CREATE_EXAMPLE)?;
    let ask = match (body.action, &body.entitlement, &body.role) {
        (Some(a), None, None) if body.person_id.is_none() && body.duration_secs.is_none() => {
            if a.authors.is_some() {
                return Err(Problem::new(
                    ErrorCode::Refused,
                    "a person's token cannot name who wrote a change: the pipeline registers deployments \
                     (POST /api/v1/gate/requests with its gate credential) and reads the authors from the \
                     repository; leave authors out",
                ));
            }
            NewAsk::Action(NewAction {
                kind: a.kind,
                env: a.env,
                payload: a.payload,
                change: None,
            })
        }
        (None, _, _) => NewAsk::Access(NewAccess {
            person_id: body
                .person_id
                .map(|p| {
                    PersonId::parse(p.as_str())
                        .map_err(|e| Problem::bad_request(format!("person_id: {e}")))
                })
                .transpose()?,
            entitlement: body.entitlement,
            role_id: body.role,
            duration_secs: body.duration_secs,
            activation: body.activation.unwrap_or(Activation::OnApproval),
        }),
        _ => {
            return Err(Problem::bad_request(
                "ask for either access (entitlement or role, with person_id, duration_secs, activation) \
                 or an action (action with kind, env, payload), not both",
            ));
        }
    };
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let created = soxctl_app::create(
        &mut tx,
        person.actor(),
        person.person(),
        NewRequest {
            ask,
            justification: body.justification,
            ticket: body.ticket,
        },
    )
    .await
    .map_err(problem)?;
    let view = created_view(store, &created, store.context().clock.now()).await?;
    let answer = Answer::new(StatusCode::CREATED, to_json(&view)?);
    idempotency.commit(store, tx, answer).await
}

/// List requests.
#[utoipa::path(
    get,
    path = "/api/v1/requests",
    tag = "requests",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "Requests, oldest first", body = RequestList),
        (status = 400, description = "Bad query", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read, request or gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
    ValidQuery(query): ValidQuery<ListQuery>,
) -> Result<Json<RequestList>, Problem> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<RequestStatus>)
        .transpose()
        .map_err(Problem::bad_request)?;
    let store = state.store();
    let now = store.context().clock.now();
    let rows = store.requests(&RequestFilter::default()).await?;
    // Compared as a parsed person id, never as text.
    let person = query
        .person
        .as_deref()
        .map(PersonId::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("person: {e}")))?;
    let listed: Vec<_> = rows
        .iter()
        .filter(|r| status.is_none_or(|s| r.state_at(now) == s))
        .filter(|r| {
            person
                .as_ref()
                .is_none_or(|p| &r.requester_id == p || r.approvers.contains(p))
        })
        .collect();
    let names = inventory::names_in_requests(store, listed.iter().copied(), []).await?;
    let requests = listed
        .into_iter()
        .map(|r| RequestView::of(r, now, &names))
        .collect();
    Ok(Json(RequestList { requests }))
}

/// A request with its decisions, grants and delegates.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{request_id}",
    tag = "requests",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "`req_…`")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read, request or gate scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
    Path(request_id): Path<String>,
) -> Result<Json<RequestDetail>, Problem> {
    let request_id: RequestId = path_id(&request_id)?;
    let store = state.store();
    let now = store.context().clock.now();
    let request = store.request(&request_id).await?.ok_or_else(|| {
        Problem::not_found(format!(
            "no request '{request_id}'; GET /api/v1/requests lists them"
        ))
    })?;
    let decisions = store.decisions(Some(&request_id)).await?;
    let grants = store.access_grants(Some(&request_id), None).await?;
    let delegates = store
        .delegations()
        .await?
        .into_iter()
        .filter(|d| d.active_at(now) && request.approvers.contains(&d.delegator_id))
        .map(|d| DelegateView {
            delegate_id: d.delegate_id.to_string(),
            on_behalf_of: d.delegator_id.to_string(),
            until: d.ends_at.to_canonical(),
        })
        .collect();
    let names = inventory::names_in_requests(store, [&request], &grants).await?;
    Ok(Json(RequestDetail {
        request: RequestView::of(&request, now, &names),
        decisions: decisions.iter().map(DecisionView::from).collect(),
        grants: grants
            .iter()
            .map(|g| GrantView::of(g, now, &names))
            .collect(),
        delegates,
    }))
}

async fn decide(
    state: AppState,
    person: PersonAccess,
    request_id: RequestId,
    post: IdempotentPost,
    decision: Decision,
) -> Result<Response, Problem> {
    let body: DecideBody = post.json(r#"{"comment":"checked against CHG-1234"}"#)?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let decided = soxctl_app::decide(
        &mut tx,
        person.actor(),
        person.person(),
        DecisionInput {
            request_id: request_id.clone(),
            decision,
            comment: body.comment,
            // Bearer tokens cannot prove step-up MFA; console login will.
            mfa: false,
            issued_by: person.issued_by_other().cloned(),
        },
    )
    .await
    .map_err(problem)?;
    let now = store.context().clock.now();
    let rows = tx.access_grants(Some(&request_id), None).await?;
    let names = inventory::names_in_requests(store, [&decided.request], &rows).await?;
    let grants = rows.iter().map(|g| GrantView::of(g, now, &names)).collect();
    let view = DecidedView {
        request: RequestView::of(&decided.request, now, &names),
        on_behalf_of: decided.on_behalf_of.as_ref().map(ToString::to_string),
        ledger_seqs: decided.seqs,
        grants,
    };
    let answer = Answer::new(StatusCode::OK, to_json(&view)?);
    idempotency.commit(store, tx, answer).await
}

/// Approve a request as the token's person.
///
/// Refused (403 `refused`) for the requester, the beneficiary, an author,
/// a leaver, someone the access would put in SoD conflict, someone neither
/// approver nor delegate of one, when step-up MFA is required, or when the
/// access would create a critical SoD violation without a mitigation.
/// 409 `conflict` when the request is no longer pending or this approver's
/// seat has decided.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{request_id}/approve",
    tag = "requests",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "`req_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = DecideBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = DecidedView),
        (status = 400, description = "Malformed body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Refused by a built-in rule or the policy", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Not pending, or already decided by this approver", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(request_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let request_id: RequestId = path_id(&request_id)?;
    decide(state, person, request_id, post, Decision::Approve).await
}

/// Deny a request (a reason is required).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{request_id}/deny",
    tag = "requests",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "`req_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = DecideBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = DecidedView),
        (status = 400, description = "Malformed body or no reason", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Refused by a built-in rule", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Not pending", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn deny(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(request_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let request_id: RequestId = path_id(&request_id)?;
    decide(state, person, request_id, post, Decision::Deny).await
}

async fn step_view(
    store: &soxctl_store::Store,
    tx: &mut soxctl_store::WriteTx,
    request_id: &RequestId,
    seqs: Vec<u64>,
) -> Result<Value, Problem> {
    let now = tx.now();
    let request = tx
        .request(request_id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no request '{request_id}'")))?;
    let rows = tx.access_grants(Some(request_id), None).await?;
    let names = inventory::names_in_requests(store, [&request], &rows).await?;
    let grants = rows.iter().map(|g| GrantView::of(g, now, &names)).collect();
    to_json(&StepView {
        request: RequestView::of(&request, now, &names),
        ledger_seqs: seqs,
        grants,
    })
}

/// Cancel a pending or approved request (the requester; an admin token for
/// a person may cancel any). Its time-bound grants in force end.
#[utoipa::path(
    post,
    path = "/api/v1/requests/{request_id}/cancel",
    tag = "requests",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "`req_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = ReasonBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Cancelled", body = StepView),
        (status = 400, description = "No reason", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not the requester", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Already closed", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(request_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let request_id: RequestId = path_id(&request_id)?;
    let body: ReasonBody = post.json(r#"{"reason":"no longer needed"}"#)?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let who = (!person.is_admin()).then(|| person.person());
    let seqs = soxctl_app::cancel(&mut tx, person.actor(), who, &request_id, &body.reason)
        .await
        .map_err(problem)?;
    let view = step_view(store, &mut tx, &request_id, seqs).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}

/// Start an approved access request that waits for activation (the
/// requester or the person who holds it, within the approval's validity).
#[utoipa::path(
    post,
    path = "/api/v1/requests/{request_id}/activate",
    tag = "requests",
    security(("bearer" = [])),
    params(("request_id" = String, Path, description = "`req_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    responses(
        (status = 200, description = "Activated: the grants start now", body = StepView),
        (status = 403, description = "Not the requester or holder", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Not approved, already activated, or the approval ran out", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn activate(
    State(state): State<AppState>,
    Require(person): Require<PersonAccess>,
    Path(request_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let request_id: RequestId = path_id(&request_id)?;
    let EmptyBody {} = post.json("{}")?;
    let store = state.store();
    let idempotency = post.idempotency(person.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let seqs = soxctl_app::activate(&mut tx, person.actor(), person.person(), &request_id)
        .await
        .map_err(problem)?;
    let view = step_view(store, &mut tx, &request_id, seqs).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}
