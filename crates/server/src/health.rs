//! Liveness and readiness, for orchestrators; no token needed.

use crate::problem::{ErrorCode, Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// How long readiness waits for the store's write lock before saying no.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (process up) or `ready` (store writable).
    pub status: &'static str,
}

/// The process is up. Says nothing about the store; see `/readyz`.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Process up", body = Status)))]
pub(crate) async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// The store is reachable and writable, so requests can be served.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Store writable", body = Status),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, Problem> {
    match tokio::time::timeout(READY_TIMEOUT, state.store().check_writable()).await {
        Ok(Ok(_)) => Ok(Json(Status { status: "ready" })),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "not ready: the store is not writable");
            Err(Problem::new(
                ErrorCode::StoreUnavailable,
                "The store cannot be written. The operator should check the database (reachable, disk not full, \
                 not read-only) and the server log.",
            ))
        }
        Err(_) => {
            tracing::warn!(
                "not ready: the store's write lock was not granted within {READY_TIMEOUT:?}"
            );
            Err(Problem::new(
                ErrorCode::StoreUnavailable,
                "The store's write lock was not granted in time, probably a long-running write. Retry shortly.",
            ))
        }
    }
}
