//! API tokens over HTTP (scope: admin): issue, list, revoke. The rules are
//! the use case (`soxctl_app::tokens`), shared with the command
//! line; the ledger records the calling token as the actor.

use crate::auth::Require;
use crate::idempotency::{Answer, Begun, IdempotentPost, replay_as_stored, to_json};
use crate::problem::{ErrorCode, Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use soxctl_api::tokens::TokenList;
use soxctl_app::tokens::{self, Revocation, TokenError, TokenRequest};
use soxctl_model::access::AdminAccess;
use soxctl_model::ids::{PersonId, SystemId, TokenId};
use soxctl_model::principal::Scope;
use soxctl_model::projection::TokenRow;
use soxctl_model::time::Timestamp;
use utoipa::ToSchema;

/// The scope names, from the model so the description cannot drift.
use soxctl_api::tokens::scopes_schema;

const CREATE_EXAMPLE: &str = r#"{"scopes":["read"],"description":"nightly export"}"#;

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token may do: at least one of admin, read, scim, gate, request, metrics.
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<Scope>,
    /// Required with the `scim` scope: the one system it pushes identities for.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub system_id: Option<SystemId>,
    /// The person the token acts for; must exist in the inventory.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub person_id: Option<PersonId>,
    /// RFC 3339 time in the future; omit for a token that does not expire.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// What the token is for (at most 1000 characters).
    #[serde(default)]
    pub description: Option<String>,
    /// A gate token for one repository's pipeline: the repository as
    /// deployments record it (`github.com/acme/app`); with `environments`.
    #[serde(default)]
    pub repo: Option<String>,
    /// With `repo`: the environments (or patterns) the pipeline acts in.
    #[serde(default)]
    pub environments: Vec<String>,
}

/// A token just issued: the only response that ever contains its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token_id: String,
    /// The secret (`sxt_…`), sent as `Authorization: Bearer <token>`. Shown
    /// in this response only: soxctl stores just its SHA-256.
    pub token: String,
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<String>,
    pub system_id: Option<String>,
    pub person_id: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The principal that issued it, as recorded in the ledger (`token:<id>`).
    pub created_by: String,
    /// The ledger entry recording the issuance.
    pub ledger_seq: u64,
}

/// The outcome of a revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedToken {
    pub token_id: String,
    #[schema(format = DateTime)]
    pub revoked_at: String,
    /// True when the token was revoked before: nothing was recorded this time.
    pub already_revoked: bool,
    /// The ledger entry recording the revocation; null when already revoked.
    pub ledger_seq: Option<u64>,
}

/// A revocation takes no parameters: the body is empty or `{}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {}

fn scope_names(row: &TokenRow) -> Vec<String> {
    row.scope_list()
        .into_iter()
        .map(|s| s.as_str().to_owned())
        .collect()
}

fn canonical(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

fn token_problem(error: TokenError) -> Problem {
    match error {
        TokenError::Store(e) => e.into(),
        e @ TokenError::UnknownToken(_) => Problem::not_found(format!("{e}.")),
        e => Problem::bad_request(format!("{e}.")),
    }
}

/// A replayed token creation: the token exists, but its secret is not stored
/// anywhere, so it cannot be sent again.
fn replay_created(_status: StatusCode, stored: Value) -> Response {
    let token_id = stored
        .get("token_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    Problem::new(
        ErrorCode::TokenSecretShownOnce,
        format!(
            "This Idempotency-Key already created token {token_id}. Its secret was in that first response \
             only and is not stored anywhere, so it cannot be shown again. If that response was lost, revoke \
             {token_id} (POST /api/v1/tokens/{token_id}/revoke) and create a new token with a new key."
        ),
    )
    .into_response()
}

/// Issue a token.
///
/// The response holds the secret, once. With an `Idempotency-Key`, a retry
/// of the same request creates nothing: it is answered 409
/// `token_secret_shown_once` naming the token the first request created
/// (secrets are never stored, not even for replays).
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request (e.g. a UUID); scoped to the calling token."),
    ),
    request_body(content = CreateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Token issued; the secret is shown only here", body = CreatedToken),
        (status = 400, description = "Malformed or invalid request; nothing was done", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Replay of an Idempotency-Key that created a token; its secret is not stored", body = ProblemBody, content_type = "application/problem+json",
            headers(("Idempotent-Replayed" = String, description = "`true`: answered from the Idempotency-Key record"))),
        (status = 422, description = "Idempotency-Key already used for a different request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    Require(admin): Require<AdminAccess>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let body: CreateToken = post.json(CREATE_EXAMPLE)?;
    let request = TokenRequest {
        scopes: body.scopes,
        system_id: body.system_id,
        person_id: body.person_id,
        expires_at: body.expires_at,
        description: body.description,
        gate: match (body.repo, body.environments.is_empty()) {
            (Some(repo), _) => Some(soxctl_app::tokens::GateBinding {
                repo,
                environments: body.environments,
            }),
            (None, true) => None,
            (None, false) => {
                return Err(Problem::bad_request(
                    "environments bind a gate token together with its repo: give repo too",
                ));
            }
        },
    };
    let store = state.store();
    let idempotency = post.idempotency(admin.actor(), replay_created);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let issued = tokens::issue(&mut tx, admin.actor(), request)
        .await
        .map_err(token_problem)?;
    let row = &issued.row;
    let created = CreatedToken {
        token_id: issued.token_id.to_string(),
        token: issued.secret.clone(),
        scopes: scope_names(row),
        system_id: row.system_id.as_ref().map(ToString::to_string),
        person_id: row.person_id.as_ref().map(ToString::to_string),
        expires_at: canonical(row.expires_at),
        description: row.description.clone(),
        created_at: row.created_at.to_canonical(),
        created_by: row.created_by.clone(),
        ledger_seq: issued.seq,
    };
    let body = to_json(&created)?;
    // Never persist the secret: the record keeps everything else.
    let mut remembered = body.clone();
    if let Some(fields) = remembered.as_object_mut() {
        fields.remove("token");
    }
    let answer = Answer::new(StatusCode::CREATED, body).remember(remembered);
    idempotency.commit(store, tx, answer).await
}

/// List tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "All tokens, active or not", body = TokenList),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Require(_admin): Require<AdminAccess>,
) -> Result<Json<TokenList>, Problem> {
    Ok(Json(tokens::listed(state.store()).await?))
}

/// Revoke a token.
///
/// Revoking a revoked token changes nothing and answers 200 with
/// `already_revoked: true`. With an `Idempotency-Key`, a retry is answered
/// with the first response (header `Idempotent-Replayed: true`).
#[utoipa::path(
    post,
    path = "/api/v1/tokens/{token_id}/revoke",
    tag = "tokens",
    security(("bearer" = [])),
    params(
        ("token_id" = String, Path, description = "The token's id (`tok_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters, unique per request (e.g. a UUID); scoped to the calling token."),
    ),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = RevokedToken,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "Malformed token id or a body other than empty or {}", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key already used for a different request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Require(admin): Require<AdminAccess>,
    Path(token_id): Path<String>,
    post: IdempotentPost,
) -> Result<Response, Problem> {
    let token_id: TokenId = crate::problem::path_id(&token_id)?;
    let RevokeBody {} = post.json("{}")?;
    let store = state.store();
    let idempotency = post.idempotency(admin.actor(), replay_as_stored);
    let mut tx = match idempotency.begin(store).await? {
        Begun::Replayed(response) => return Ok(response),
        Begun::Write(tx) => tx,
    };
    let revoked = match tokens::revoke(&mut tx, admin.actor(), &token_id)
        .await
        .map_err(token_problem)?
    {
        Revocation::Revoked { seq, revoked_at } => RevokedToken {
            token_id: token_id.to_string(),
            revoked_at: revoked_at.to_canonical(),
            already_revoked: false,
            ledger_seq: Some(seq),
        },
        Revocation::AlreadyRevoked { revoked_at } => RevokedToken {
            token_id: token_id.to_string(),
            revoked_at: revoked_at.to_canonical(),
            already_revoked: true,
            ledger_seq: None,
        },
    };
    let answer = Answer::new(StatusCode::OK, to_json(&revoked)?);
    idempotency.commit(store, tx, answer).await
}
