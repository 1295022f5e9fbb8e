//! Action execution and the CI/CD change gate over HTTP. Executors (CI
//! runners with a `gate` token, or people with a `request` token) obtain an
//! execution token, execute, and report; pipelines ask the gate and record
//! what they deployed.

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody};
use crate::requests_api::problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use soxctl_model::access::{GateAccess, WorkflowRead};
use soxctl_workflow::execution::{TokenInput, issue_execution_token, record_execution};
use soxctl_workflow::gate;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub request_id: String,
    /// The digest of the action about to run (`sha256:…`), computed from
    /// what will actually be done.
    pub digest: String,
    pub env: String,
    /// At most 900 (15 minutes), and never past the approval's validity.
    pub ttl_secs: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Compact JWS (EdDSA); verify offline with the store's verifier key.
    pub token: String,
    pub token_id: String,
    pub expires_at: String,
    pub ledger_seq: u64,
}

/// Obtain an execution token for an approved action.
///
/// Bound to the action digest, the environment and the calling principal
/// (the executor). Refused (403) when the digest or environment differs
/// from what was approved; 409 when the approval is not usable (pending,
/// expired or consumed).
#[utoipa::path(
    post,
    path = "/api/v1/actions/token",
    tag = "gate",
    security(("bearer" = [])),
    request_body(content = TokenBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; shown once", body = IssuedToken),
        (status = 400, description = "Malformed body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Another digest or environment, or no gate/request scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Approval not usable, or a token issued for it is still valid (one at a time)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn token(
    State(state): State<AppState>,
    Require(executor): Require<GateAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: TokenBody =
        post.json(r#"{"request_id":"req_…","digest":"sha256:…","env":"prod"}"#)?;
    let store = state.store();
    // Never replayed: a token is a secret shown once.
    let mut tx = store.begin_write().await?;
    let issued = issue_execution_token(
        &mut tx,
        executor.actor(),
        state.signing_key(),
        TokenInput {
            request_id: body.request_id,
            digest: body.digest,
            env: body.env,
            ttl_secs: body.ttl_secs,
        },
    )
    .await
    .map_err(problem)?;
    tx.commit().await?;
    let view = IssuedToken {
        token: issued.token,
        token_id: issued.token_id,
        expires_at: issued.expires_at.to_canonical(),
        ledger_seq: issued.seq,
    };
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        Json(view),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutedBody {
    /// The execution token used.
    pub token: String,
    /// What was done (a payment reference, a deployment id…).
    pub outcome: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutedView {
    pub request_id: String,
    pub ledger_seq: u64,
}

/// Report an action done: consumes its approval (one use only).
#[utoipa::path(
    post,
    path = "/api/v1/actions/executed",
    tag = "gate",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = ExecutedBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded; the approval is consumed", body = ExecutedView),
        (status = 400, description = "Malformed body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token of another executor, key or digest", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Token expired or used, or the approval consumed", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn executed(
    State(state): State<AppState>,
    Require(executor): Require<GateAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: ExecutedBody = post.json(r#"{"token":"eyJ…","outcome":"deployed build 812"}"#)?;
    let store = state.store();
    let idempotency = post.idempotency(executor.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let verifier = state.signing_key().verifier();
    let seq = record_execution(
        &mut tx,
        executor.actor(),
        &verifier,
        &body.token,
        &body.outcome,
    )
    .await
    .map_err(problem)?;
    let request_id =
        soxctl_workflow::execution::verify_execution_token(&verifier, &body.token, tx.now())
            .map(|c| c.request_id)
            .unwrap_or_default();
    let answer = Answer::new(
        StatusCode::OK,
        to_json(&ExecutedView {
            request_id,
            ledger_seq: seq,
        })?,
    );
    idempotency.commit(store, tx, answer).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The full commit id (40 or 64 hex digits).
    pub commit: String,
    pub env: String,
    /// Who deploys: a person id, an email or a git identity `Name <email>`.
    pub deployer: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictView {
    pub allowed: bool,
    pub reason: String,
    pub request_id: Option<String>,
    /// The approval's ledger entries (prove them with /api/v1/ledger/proof/inclusion).
    pub evidence: Option<String>,
}

/// Ask the gate (read-only): may this deployer deploy this commit here now?
///
/// Always 200 with `allowed`; `soxctl gate check` exits 0 or 1 on it.
#[utoipa::path(
    get,
    path = "/api/v1/gate/check",
    tag = "gate",
    security(("bearer" = [])),
    params(CheckQuery),
    responses(
        (status = 200, description = "The verdict", body = VerdictView),
        (status = 400, description = "Not a full commit id, or no deployer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn check(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
    ValidQuery(query): ValidQuery<CheckQuery>,
) -> Result<Json<VerdictView>, Problem> {
    let verdict = state
        .verdicts()
        .check(
            state.store(),
            state.gate_policy(),
            &query.commit,
            &query.env,
            &query.deployer,
        )
        .await
        .map_err(problem)?;
    Ok(Json(VerdictView {
        allowed: verdict.allowed,
        reason: verdict.reason,
        request_id: verdict.request_id,
        evidence: verdict.evidence,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployedBody {
    pub commit: String,
    pub env: String,
    pub deployer: String,
    pub repo: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeployedView {
    pub deployment_id: String,
    pub env: String,
    pub commit: String,
    /// The approval consumed; none for an unapproved change.
    pub request_id: Option<String>,
    /// The `unapproved_change` finding, when no approval matched.
    pub finding_id: Option<String>,
    pub reason: String,
    pub ledger_seq: u64,
}

/// Record a deployment: consumes the matching approval, or opens an
/// `unapproved_change` finding.
#[utoipa::path(
    post,
    path = "/api/v1/changes/deployed",
    tag = "gate",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = DeployedBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded", body = DeployedView),
        (status = 400, description = "Malformed body or commit", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn deployed(
    State(state): State<AppState>,
    Require(gate_access): Require<GateAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: DeployedBody = post.json(
        r#"{"commit":"4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d","env":"prod","deployer":"ci@example.com"}"#,
    )?;
    let store = state.store();
    let idempotency = post.idempotency(gate_access.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let done = gate::record_deployment(
        &mut tx,
        gate_access.actor(),
        state.gate_policy(),
        &body.commit,
        &body.env,
        &body.deployer,
        body.repo.as_deref(),
    )
    .await
    .map_err(problem)?;
    let view = DeployedView {
        deployment_id: done.deployment.deployment_id,
        env: done.deployment.env,
        commit: done.deployment.commit,
        request_id: done.deployment.request_id,
        finding_id: done.finding_id,
        reason: done.reason,
        ledger_seq: done.deployment.seq,
    };
    idempotency
        .commit(store, tx, Answer::new(StatusCode::CREATED, to_json(&view)?))
        .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LastQuery {
    pub env: String,
    pub repo: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastDeployed {
    /// None: nothing recorded for this environment yet.
    pub commit: Option<String>,
    pub deployed_at: Option<String>,
    pub deployment_id: Option<String>,
}

/// The commit last deployed to an environment (the start of the next
/// change's commit range).
#[utoipa::path(
    get,
    path = "/api/v1/changes/last-deployed",
    tag = "gate",
    security(("bearer" = [])),
    params(LastQuery),
    responses(
        (status = 200, description = "The last deployment, if any", body = LastDeployed),
        (status = 403, description = "Token lacks the gate scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn last_deployed(
    State(state): State<AppState>,
    Require(_read): Require<WorkflowRead>,
    ValidQuery(query): ValidQuery<LastQuery>,
) -> Result<Json<LastDeployed>, Problem> {
    let last = gate::last_deployed(state.store(), &query.env, query.repo.as_deref())
        .await
        .map_err(problem)?;
    Ok(Json(LastDeployed {
        commit: last.as_ref().map(|d| d.commit.clone()),
        deployed_at: last.as_ref().map(|d| d.deployed_at.to_canonical()),
        deployment_id: last.map(|d| d.deployment_id),
    }))
}
