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
use soxctl_api::gate::{
    CheckQuery, DeployedBody, DeployedView, ExecutedBody, ExecutedView, IssuedToken, LastDeployed,
    LastQuery, RegisterBody, TokenBody, VerdictView,
};
use soxctl_app::execution::{TokenInput, issue_execution_token, record_execution};
use soxctl_app::gate;
use soxctl_model::access::GateAccess;

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
    not_a_pipeline(&executor)?;
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
        token_id: issued.token_id.to_string(),
        expires_at: issued.expires_at.to_canonical(),
        ledger_seq: issued.seq,
    };
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        Json(view),
    )))
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
    not_a_pipeline(&executor)?;
    let store = state.store();
    let idempotency = post.idempotency(executor.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let verifier = state.signing_key().verifier();
    let executed = record_execution(
        &mut tx,
        executor.actor(),
        &verifier,
        &body.token,
        &body.outcome,
    )
    .await
    .map_err(problem)?;
    let answer = Answer::new(
        StatusCode::OK,
        to_json(&ExecutedView {
            request_id: executed.request_id.to_string(),
            ledger_seq: executed.seq,
        })?,
    );
    idempotency.commit(store, tx, answer).await
}

const REGISTER_EXAMPLE: &str = r#"{"env":"prod","commit":"4f1c…","commits":[{"sha":"4f1c…","author":"Kevin Reyes <kevin.reyes@example.com>","committer":"GitHub <noreply@github.com>","co_authors":[]}],"triggered_by":"kevin.reyes@example.com"}"#;

/// Register a deployment for approval, as its pipeline.
///
/// Only a gate credential bound to the repository (a gate token created
/// with `repo` and `environments`, or a CI identity token its trust policy
/// admits) may; the requester is the person who triggered the run, the
/// authors come from the commits the pipeline read. Authors and the
/// requester never approve it.
#[utoipa::path(
    post,
    path = "/api/v1/gate/requests",
    tag = "gate",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request")),
    request_body(content = RegisterBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded; approvers are notified", body = soxctl_api::requests::CreatedRequest),
        (status = 400, description = "Malformed body, commit or identity", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not a pipeline credential, another environment, unknown authors or requester, or refused by policy", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Require(gate_access): Require<GateAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: RegisterBody = post.json(REGISTER_EXAMPLE)?;
    let store = state.store();
    let idempotency = post.idempotency(gate_access.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let created = gate::register(
        &mut tx,
        gate_access.actor(),
        gate_access.pipeline(),
        gate::NewDeployment {
            env: body.env,
            commit: body.commit,
            commits: body
                .commits
                .into_iter()
                .map(|c| soxctl_app::ChangeCommit {
                    sha: c.sha,
                    author: c.author,
                    committer: c.committer,
                    co_authors: c.co_authors,
                })
                .collect(),
            triggered_by: body.triggered_by,
            justification: body.justification,
            ticket: body.ticket,
        },
    )
    .await
    .map_err(problem)?;
    let view =
        crate::requests_api::created_view(store, &created, store.context().clock.now()).await?;
    idempotency
        .commit(store, tx, Answer::new(StatusCode::CREATED, to_json(&view)?))
        .await
}

/// Who deploys: the person a CI identity token's claims name, or the
/// deployer the caller names (a static gate token's pipeline, an admin).
fn who(access: &GateAccess, named: Option<String>) -> Result<gate::Who, Problem> {
    match (
        access.pipeline().and_then(|p| p.triggered_by.clone()),
        named,
    ) {
        (Some(_), Some(_)) => Err(Problem::bad_request(
            "the CI identity token names who deploys: leave deployer out",
        )),
        (Some(by), None) => Ok(gate::Who::Run(by)),
        (None, Some(text)) => Ok(gate::Who::Named(text)),
        (None, None) => Err(Problem::bad_request(
            "name who deploys: deployer (a person id, an email or `Name <email>`)",
        )),
    }
}

/// The pipeline the credential is bound to, acting in `env`: the gate's
/// questions and records are a repository's pipeline's, never an unbound
/// token's (an executor's) or an admin's.
fn pipeline_of<'a>(
    access: &'a GateAccess,
    env: &str,
) -> Result<&'a soxctl_model::access::Pipeline, Problem> {
    let pipeline = access.pipeline().ok_or_else(|| {
        Problem::new(
            crate::problem::ErrorCode::Refused,
            "only a repository's pipeline credential asks the gate and records deployments: a gate token \
             bound to the repository (`soxctl token create --scope gate --repo HOST/PATH --env ENV`) or a CI \
             identity token a [[pipeline]] entry admits",
        )
    })?;
    if !pipeline.allows(env) {
        return Err(Problem::new(
            crate::problem::ErrorCode::Refused,
            format!(
                "this pipeline credential acts in {} only, not in {env}",
                pipeline.environments.join(", ")
            ),
        ));
    }
    Ok(pipeline)
}

/// Execution tokens are an executor's (an unbound gate token, an admin):
/// a repository's pipeline deploys through the gate, and all CI runs act
/// as one ledger actor, so one run's token could be redeemed by another.
fn not_a_pipeline(access: &GateAccess) -> Result<(), Problem> {
    match access.pipeline() {
        Some(p) => Err(Problem::new(
            crate::problem::ErrorCode::Refused,
            format!(
                "this is the pipeline credential of {}: it deploys through the gate (gate check, gate \
                 deployed); execution tokens are for executors, with an unbound gate token",
                p.repo
            ),
        )),
        None => Ok(()),
    }
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
    Require(gate_access): Require<GateAccess>,
    ValidQuery(query): ValidQuery<CheckQuery>,
) -> Result<Json<VerdictView>, Problem> {
    let pipeline = pipeline_of(&gate_access, &query.env)?;
    let who = who(&gate_access, query.deployer)?;
    let verdict = state
        .verdicts()
        .check_as(
            state.store(),
            Some(&pipeline.repo),
            &query.commit,
            &query.env,
            &who,
        )
        .await
        .map_err(problem)?;
    Ok(Json(VerdictView {
        allowed: verdict.allowed,
        reason: verdict.reason,
        request_id: verdict.request_id.map(String::from),
        evidence: verdict.evidence,
    }))
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
    let pipeline = pipeline_of(&gate_access, &body.env)?;
    let who = who(&gate_access, body.deployer)?;
    // A pipeline deploys its own repository, whatever the body says.
    if let Some(r) = body.repo.as_ref().filter(|r| **r != pipeline.repo) {
        return Err(Problem::new(
            crate::problem::ErrorCode::Refused,
            format!(
                "this pipeline credential is bound to {}, not {r}",
                pipeline.repo
            ),
        ));
    }
    let repo = Some(pipeline.repo.clone());
    let store = state.store();
    let idempotency = post.idempotency(gate_access.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let done = gate::record_deployment_as(
        &mut tx,
        gate_access.actor(),
        &body.commit,
        &body.env,
        &who,
        repo.as_deref(),
        pipeline.run.as_deref(),
    )
    .await
    .map_err(problem)?;
    let view = DeployedView {
        deployment_id: done.deployment.deployment_id,
        env: done.deployment.env,
        commit: done.deployment.commit,
        request_id: done.deployment.request_id.map(String::from),
        finding_id: done.finding_id.map(String::from),
        reason: done.reason,
        ledger_seq: done.deployment.seq,
    };
    idempotency
        .commit(store, tx, Answer::new(StatusCode::CREATED, to_json(&view)?))
        .await
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
    Require(gate_access): Require<GateAccess>,
    ValidQuery(query): ValidQuery<LastQuery>,
) -> Result<Json<LastDeployed>, Problem> {
    let pipeline = pipeline_of(&gate_access, &query.env)?;
    // A pipeline asks about its own repository, whatever the query says.
    let _ = query.repo;
    let repo = Some(pipeline.repo.clone());
    let last = gate::last_deployed(state.store(), &query.env, repo.as_deref())
        .await
        .map_err(problem)?;
    Ok(Json(LastDeployed {
        commit: last.as_ref().map(|d| d.commit.clone()),
        deployed_at: last.as_ref().map(|d| d.deployed_at.to_canonical()),
        deployment_id: last.map(|d| d.deployment_id),
    }))
}
