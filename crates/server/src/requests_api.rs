//! Just-in-time requests over HTTP. People ask and decide with a token
//! bound to them (scope `request`); readers and admins list. Every POST
//! takes an `Idempotency-Key`, and every step is one transaction with its
//! ledger entries (see `soxctl-app`).

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::ledger_api::ValidQuery;
use crate::problem::{ErrorCode, Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use soxctl_app::{
    DecisionInput, NewAccess, NewAction, NewAsk, NewDelegation, NewRequest, WorkflowError,
};
use soxctl_model::access::{AdminAccess, PersonAccess, WorkflowRead};
use soxctl_model::ids::PersonId;
use soxctl_model::request::{
    AccessGrantRow, Activation, Decision, DecisionRow, DelegationRow, RequestRow, RequestStatus,
};
use soxctl_model::time::Timestamp;
use soxctl_store::requests::RequestFilter;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn problem(e: WorkflowError) -> Problem {
    match e {
        WorkflowError::Invalid(m) => Problem::bad_request(m),
        WorkflowError::Refused(m) => Problem::new(ErrorCode::Refused, m),
        WorkflowError::NotFound(m) => Problem::not_found(m),
        WorkflowError::Conflict(m) => Problem::new(ErrorCode::Conflict, m),
        WorkflowError::Store(e) => e.into(),
    }
}

fn canonical(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

/// One approver's decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub approver_id: String,
    /// approve or deny.
    pub decision: String,
    /// Decided as delegate of this approver.
    pub on_behalf_of: Option<String>,
    pub mfa: bool,
    pub comment: Option<String>,
    pub decided_at: String,
    pub ledger_seq: u64,
    /// The credential used (`token:<id>`).
    pub actor: String,
}

impl From<&DecisionRow> for DecisionView {
    fn from(d: &DecisionRow) -> Self {
        Self {
            approver_id: d.approver_id.to_string(),
            decision: d.decision.as_str().to_owned(),
            on_behalf_of: d.on_behalf_of.as_ref().map(ToString::to_string),
            mfa: d.mfa,
            comment: d.comment.clone(),
            decided_at: d.decided_at.to_canonical(),
            ledger_seq: d.seq,
            actor: d.actor.clone(),
        }
    }
}

/// A time-bound grant.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub grant_id: String,
    pub request_id: String,
    pub person_id: String,
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub ended_at: Option<String>,
    /// expired or revoked, once ended.
    pub end: Option<String>,
    /// In force now.
    pub active: bool,
}

impl GrantView {
    fn of(g: &AccessGrantRow, now: Timestamp) -> Self {
        Self {
            grant_id: g.grant_id.clone(),
            request_id: g.request_id.clone(),
            person_id: g.person_id.to_string(),
            system_id: g.system_id.to_string(),
            account_id: g.account_id.to_string(),
            entitlement_id: g.entitlement_id.to_string(),
            starts_at: g.starts_at.to_canonical(),
            ends_at: g.ends_at.to_canonical(),
            ended_at: canonical(g.ended_at),
            end: g.end.map(|e| e.as_str().to_owned()),
            active: g.active_at(now),
        }
    }
}

/// An SoD violation the access would create, as approvers are shown it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SodFlagView {
    pub risk_id: String,
    pub severity: String,
    pub mitigated: bool,
}

/// A request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub request_id: String,
    /// access or action.
    pub kind: String,
    pub requester_id: String,
    /// What is asked: `{"access": {...}}` or `{"action": {"kind","env","payload","digest","authors"}}`.
    #[schema(value_type = Object)]
    pub ask: Value,
    /// The action digest (DESIGN A3) that binds an action approval.
    pub digest: Option<String>,
    pub justification: String,
    pub ticket: Option<String>,
    pub policy_version: Option<u64>,
    pub policy_rule: String,
    pub required_approvals: u32,
    pub approvals: u32,
    /// Who may approve (after the built-in rules).
    pub approvers: Vec<String>,
    pub mfa_required: bool,
    pub sod: Vec<SodFlagView>,
    /// pending, approved, denied, cancelled, expired or consumed, as of now.
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
    /// Until when an approval may be used (actions: executed; manual access: activated).
    pub valid_until: Option<String>,
    pub activated_at: Option<String>,
    pub closed_reason: Option<String>,
    /// `/api/v1/requests/{id}`.
    pub link: String,
}

impl RequestView {
    fn of(r: &RequestRow, now: Timestamp) -> Self {
        Self {
            request_id: r.request_id.clone(),
            kind: r.kind().as_str().to_owned(),
            requester_id: r.requester_id.to_string(),
            ask: serde_json::to_value(&r.ask).unwrap_or(Value::Null),
            digest: r.digest().map(str::to_owned),
            justification: r.justification.clone(),
            ticket: r.ticket.clone(),
            policy_version: r.policy_version,
            policy_rule: r.policy_rule.clone(),
            required_approvals: r.required_approvals,
            approvals: r.approvals,
            approvers: r.approvers.iter().map(ToString::to_string).collect(),
            mfa_required: r.mfa_required,
            sod: r
                .sod
                .iter()
                .map(|f| SodFlagView {
                    risk_id: f.risk_id.clone(),
                    severity: f.severity.clone(),
                    mitigated: f.mitigated,
                })
                .collect(),
            status: r.state_at(now).as_str().to_owned(),
            created_at: r.created_at.to_canonical(),
            expires_at: r.expires_at.to_canonical(),
            decided_at: canonical(r.decided_at),
            valid_until: canonical(r.valid_until),
            activated_at: canonical(r.activated_at),
            closed_reason: r.closed_reason.clone(),
            link: format!("/api/v1/requests/{}", r.request_id),
        }
    }
}

/// A request with its decisions, grants, and who may decide it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    pub decisions: Vec<DecisionView>,
    pub grants: Vec<GrantView>,
    /// Delegates in force for the approvers: (delegate, for approver).
    pub delegates: Vec<DelegateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegateView {
    pub delegate_id: String,
    pub on_behalf_of: String,
    pub until: String,
}

/// A person the built-in rules removed from the approvers, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Excluded {
    pub person_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRequest {
    #[serde(flatten)]
    pub request: RequestView,
    pub excluded: Vec<Excluded>,
    pub ledger_seq: u64,
}

impl CreatedRequest {
    pub(crate) fn of(created: &soxctl_app::Created, now: Timestamp) -> Self {
        Self {
            request: RequestView::of(&created.request, now),
            excluded: created
                .excluded
                .iter()
                .map(|(id, why)| Excluded {
                    person_id: id.to_string(),
                    reason: why.clone(),
                })
                .collect(),
            ledger_seq: created.seq,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// deploy, prod-config-change, payment, vendor-contract, data-fix, …
    pub kind: String,
    /// prod, staging, …
    pub env: String,
    /// Exactly what is to be done; no floating-point numbers (amounts as strings).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Refused: a person never names who wrote a change. Deployments are
    /// registered by their pipeline (`POST /api/v1/gate/requests`), which
    /// reads the authors from the repository.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, deprecated)]
    pub authors: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequestBody {
    /// Access: `system_id:entitlement_id`.
    pub entitlement: Option<String>,
    /// Access: a role id instead of an entitlement.
    pub role: Option<String>,
    /// Access: who would hold it (default: the caller's person).
    pub person_id: Option<String>,
    /// Access: how long (default: the policy's maximum).
    pub duration_secs: Option<u64>,
    /// Access: `on_approval` (default) or `manual`.
    #[schema(value_type = Option<String>)]
    pub activation: Option<Activation>,
    /// An action instead of access.
    pub action: Option<ActionBody>,
    pub justification: String,
    pub ticket: Option<String>,
}

const CREATE_EXAMPLE: &str = r#"{"entitlement":"erp:AP_PAY","duration_secs":14400,"justification":"quarter-end payment run","ticket":"CHG-1234"}"#;

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
    let view = CreatedRequest::of(&created, store.context().clock.now());
    let answer = Answer::new(StatusCode::CREATED, to_json(&view)?);
    idempotency.commit(store, tx, answer).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// pending, approved, denied, cancelled, expired or consumed (as of now).
    pub status: Option<String>,
    /// Only requests this person asked for or may decide.
    pub person: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestView>,
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
    let requests = rows
        .iter()
        .filter(|r| status.is_none_or(|s| r.state_at(now) == s))
        .filter(|r| {
            query.person.as_deref().is_none_or(|p| {
                r.requester_id.as_str() == p || r.approvers.iter().any(|a| a.as_str() == p)
            })
        })
        .map(|r| RequestView::of(r, now))
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
    Ok(Json(RequestDetail {
        request: RequestView::of(&request, now),
        decisions: decisions.iter().map(DecisionView::from).collect(),
        grants: grants.iter().map(|g| GrantView::of(g, now)).collect(),
        delegates,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// With an approval: optional comment. With a denial: the reason (required).
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecidedView {
    #[serde(flatten)]
    pub request: RequestView,
    pub on_behalf_of: Option<String>,
    pub ledger_seqs: Vec<u64>,
    pub grants: Vec<GrantView>,
}

async fn decide(
    state: AppState,
    person: PersonAccess,
    request_id: String,
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
    let grants = tx
        .access_grants(Some(&request_id), None)
        .await?
        .iter()
        .map(|g| GrantView::of(g, now))
        .collect();
    let view = DecidedView {
        request: RequestView::of(&decided.request, now),
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
    decide(state, person, request_id, post, Decision::Deny).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    #[serde(flatten)]
    pub request: RequestView,
    pub ledger_seqs: Vec<u64>,
    pub grants: Vec<GrantView>,
}

async fn step_view(
    tx: &mut soxctl_store::WriteTx,
    request_id: &str,
    seqs: Vec<u64>,
) -> Result<Value, Problem> {
    let now = tx.now();
    let request = tx
        .request(request_id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no request '{request_id}'")))?;
    let grants = tx
        .access_grants(Some(request_id), None)
        .await?
        .iter()
        .map(|g| GrantView::of(g, now))
        .collect();
    to_json(&StepView {
        request: RequestView::of(&request, now),
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
    let view = step_view(&mut tx, &request_id, seqs).await?;
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
    let view = step_view(&mut tx, &request_id, seqs).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantQuery {
    /// Only grants in force that end within this many seconds.
    pub expiring_within_secs: Option<u64>,
    /// Include ended grants (default: only those in force).
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    pub grants: Vec<GrantView>,
}

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
    let grants = store
        .access_grants(None, None)
        .await?
        .iter()
        .filter(|g| query.all.unwrap_or(false) || g.active_at(now))
        .filter(|g| horizon.is_none_or(|h| g.active_at(now) && g.ends_at <= h))
        .map(|g| GrantView::of(g, now))
        .collect();
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
    let view = to_json(&GrantView::of(&grant, now))?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateBody {
    pub delegate_id: String,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339; at most 90 days after the start.
    pub ends_at: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationView {
    pub delegation_id: String,
    pub delegator_id: String,
    pub delegate_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub reason: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    pub active: bool,
}

impl DelegationView {
    fn of(d: &DelegationRow, now: Timestamp) -> Self {
        Self {
            delegation_id: d.delegation_id.clone(),
            delegator_id: d.delegator_id.to_string(),
            delegate_id: d.delegate_id.to_string(),
            starts_at: d.starts_at.to_canonical(),
            ends_at: d.ends_at.to_canonical(),
            reason: d.reason.clone(),
            created_at: d.created_at.to_canonical(),
            created_by: d.created_by.clone(),
            revoked_at: canonical(d.revoked_at),
            active: d.active_at(now),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationList {
    pub delegations: Vec<DelegationView>,
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
    let now = tx.now();
    let row = tx
        .delegations()
        .await?
        .into_iter()
        .find(|d| d.delegation_id == id)
        .ok_or_else(|| Problem::not_found(format!("delegation '{id}' vanished")))?;
    let view = to_json(&DelegationView::of(&row, now))?;
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
    let delegations = store
        .delegations()
        .await?
        .iter()
        .map(|d| DelegationView::of(d, now))
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
    let now = tx.now();
    let row = tx
        .delegations()
        .await?
        .into_iter()
        .find(|d| d.delegation_id == delegation_id)
        .ok_or_else(|| Problem::not_found(format!("no delegation '{delegation_id}'")))?;
    let view = to_json(&DelegationView::of(&row, now))?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::OK, view))
        .await
}
