//! Liveness and readiness, for orchestrators; no token needed.

use crate::problem::{ErrorCode, Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use soxctl_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How long readiness waits for the store's write lock before saying no.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a readiness answer is reused before the store is checked again.
const READY_CACHE_TTL: Duration = Duration::from_secs(1);

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

/// Readiness as last checked: a probe flood must not queue on the ledger's
/// writer lock, so the store is checked at most once per [`READY_CACHE_TTL`]
/// and every probe in between gets that answer.
#[derive(Debug, Default)]
pub(crate) struct Readiness {
    /// Held while a check runs, so concurrent probes wait for that one check
    /// instead of starting their own.
    last: tokio::sync::Mutex<Option<(Instant, Outcome)>>,
    checks: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ready,
    Failed,
    TimedOut,
}

impl Readiness {
    /// The store's readiness, no older than [`READY_CACHE_TTL`].
    async fn outcome(&self, store: &Store) -> Outcome {
        let mut last = self.last.lock().await;
        if let Some((at, outcome)) = *last
            && at.elapsed() < READY_CACHE_TTL
        {
            return outcome;
        }
        self.checks.fetch_add(1, Ordering::Relaxed);
        let outcome = match tokio::time::timeout(READY_TIMEOUT, store.check_writable()).await {
            Ok(Ok(_)) => Outcome::Ready,
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "not ready: the store is not writable");
                Outcome::Failed
            }
            Err(_) => {
                tracing::warn!(
                    "not ready: the store's write lock was not granted within {READY_TIMEOUT:?}"
                );
                Outcome::TimedOut
            }
        };
        *last = Some((Instant::now(), outcome));
        outcome
    }

    /// How often the store was actually checked.
    pub(crate) fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}

/// The store is reachable and writable, so requests can be served.
///
/// Checking takes the ledger's writer lock (and rolls back), so the answer is
/// cached for a second: however many probes arrive, the store is checked at
/// most once per second, and a check waits at most 5 s for the lock.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Store writable (checked within the last second)", body = Status),
        (status = 503, description = "Store unavailable", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, Problem> {
    match state.readiness().outcome(state.store()).await {
        Outcome::Ready => Ok(Json(Status { status: "ready" })),
        Outcome::Failed => Err(Problem::new(
            ErrorCode::StoreUnavailable,
            "The store cannot be written. The operator should check the database (reachable, disk not full, \
             not read-only) and the server log.",
        )),
        Outcome::TimedOut => Err(Problem::new(
            ErrorCode::StoreUnavailable,
            "The store's write lock was not granted in time, probably a long-running write. Retry shortly.",
        )),
    }
}
