//! Read access to the evidence ledger: the signed checkpoint, the entries as
//! stored, and the Merkle proofs that tie them to it.

use crate::auth::Require;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use soxctl_api::ledger::{
    ConsistencyProof, ConsistencyQuery, EntriesQuery, InclusionProof, InclusionQuery, StoreInfo,
};
use soxctl_app::ledger::ProofError;
use soxctl_model::access::ReadAccess;

pub const JSONL_CONTENT_TYPE: &str = "application/jsonl";
pub const DEFAULT_PAGE: u64 = 1_000;
pub const MAX_PAGE: u64 = 10_000;

/// `Query<T>` whose rejection is a problem, not plain text.
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        // No query value carries a control or invisible character: none is
        // meaningful, and a NUL would reach the database.
        if let Some(query) = parts.uri.query() {
            for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                if let Some(c) = value
                    .chars()
                    .find(|c| soxctl_model::identity::is_hidden(*c))
                {
                    return Err(Problem::bad_request(format!(
                        "the query parameter {} holds a control or invisible character (U+{:04X}): send plain text",
                        soxctl_model::identity::escape(&name),
                        c as u32
                    )));
                }
            }
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Self(q))
            .map_err(|e: QueryRejection| {
                Problem::bad_request(format!(
                    "{}. See /api/v1/openapi.json for this endpoint's parameters.",
                    e.body_text()
                ))
            })
    }
}

fn proof_problem(e: ProofError) -> Problem {
    match e {
        ProofError::Store(e) => e.into(),
        refused => Problem::bad_request(refused.to_string()),
    }
}

/// The store's identity and the ledger's size.
#[utoipa::path(
    get,
    path = "/api/v1/store",
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Store identity and ledger size", body = StoreInfo),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn store_info(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
) -> Result<Json<StoreInfo>, Problem> {
    let store = state.store();
    let meta = store.meta().await?.ok_or_else(|| {
        Problem::new(
            crate::problem::ErrorCode::StoreUnavailable,
            "The store has no identity entry yet; initialise it (`soxctl serve` and `soxctl import` do), then retry.",
        )
    })?;
    let head = store.head().await?;
    let checkpoint = store.latest_checkpoint().await?;
    Ok(Json(StoreInfo {
        store_id: meta.store_id,
        origin: meta.origin,
        backend: store.backend().to_owned(),
        demo: meta.demo,
        ledger_size: head.size,
        latest_checkpoint_size: checkpoint.map(|c| c.size),
    }))
}

/// The latest signed checkpoint: a C2SP signed note (tlog-checkpoint).
#[utoipa::path(
    get,
    path = "/api/v1/ledger/checkpoint",
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed note text", body = String, content_type = "text/plain"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No checkpoint signed yet", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
) -> Result<Response, Problem> {
    let Some(checkpoint) = state.store().latest_checkpoint().await? else {
        return Err(Problem::not_found(
            "No checkpoint has been signed yet. The server signs one within seconds of the first entry; retry shortly.",
        ));
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        checkpoint.note,
    )
        .into_response())
}

/// Ledger entries as JSON Lines.
///
/// Entries `[from, from+count)`: each entry's stored bytes, byte for byte,
/// followed by `\n`. An empty body means `from` is at or past the end.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/entries",
    tag = "ledger",
    params(EntriesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON Lines of canonical entries", body = String, content_type = "application/jsonl"),
        (status = 400, description = "Bad parameters", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn entries(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<EntriesQuery>,
) -> Result<Response, Problem> {
    let from = query.from.unwrap_or(0);
    let count = query.count.unwrap_or(DEFAULT_PAGE);
    if count == 0 {
        return Err(Problem::bad_request(format!(
            "count must be at least 1; omit it for {DEFAULT_PAGE}."
        )));
    }
    // Bounded by the head, so no `from` can overflow the store's query.
    let head = state.store().head().await?.size;
    let count = count.min(MAX_PAGE).min(head.saturating_sub(from));
    let mut body = Vec::new();
    if count > 0 {
        let entries = state.store().entries(from, count).await?;
        body.reserve(entries.iter().map(|(_, _, bytes)| bytes.len() + 1).sum());
        for (_, _, bytes) in entries {
            body.extend_from_slice(&bytes);
            body.push(b'\n');
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSONL_CONTENT_TYPE),
        )],
        body,
    )
        .into_response())
}

/// Proof that entry `seq` is in the tree of `size` entries.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/proof/inclusion",
    tag = "ledger",
    params(InclusionQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Inclusion proof", body = InclusionProof),
        (status = 400, description = "seq or size out of range", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn inclusion(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<InclusionQuery>,
) -> Result<Json<InclusionProof>, Problem> {
    let proof = soxctl_app::ledger::inclusion(state.store(), query.seq, query.size).await;
    Ok(Json(proof.map_err(proof_problem)?))
}

/// Proof that the tree of `to` entries extends the tree of `from` entries.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/proof/consistency",
    tag = "ledger",
    params(ConsistencyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Consistency proof", body = ConsistencyProof),
        (status = 400, description = "from or to out of range", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn consistency(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, Problem> {
    let proof = soxctl_app::ledger::consistency(state.store(), query.from, query.to).await;
    Ok(Json(proof.map_err(proof_problem)?))
}
