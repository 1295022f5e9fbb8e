//! The soxctl HTTP API.
//!
//! [`router`] builds the axum application over an [`AppState`]; [`serve`] runs
//! it on a listener together with the background [`Checkpointer`] until a
//! shutdown signal, then drains requests and signs a final checkpoint.
//!
//! Every route that touches data authenticates with a bearer token and gets
//! its rights only through the [`Require`] extractor; every error is an RFC
//! 9457 problem with a stable [`ErrorCode`], except under `/scim/v2` (the
//! SCIM 2.0 service provider), whose errors are SCIM error bodies.

mod auth;
mod breakglass_api;
mod checkpointer;
pub mod ci_identity;
mod findings_api;
mod gate_api;
mod health;
pub mod housekeeping;
mod idempotency;
mod inventory_api;
mod ledger_api;
mod metrics;
mod observe;
mod openapi;
mod problem;
mod requests_api;
mod scim;
mod sod_api;
mod state;
mod tokens_api;

pub use auth::{MetricsGate, Require};
pub use checkpointer::{CheckpointPolicy, Checkpointer};
pub use idempotency::{IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER};
pub use ledger_api::{JSONL_CONTENT_TYPE, MAX_PAGE, consistency_proof, inclusion_proof};
pub use metrics::{OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
pub use observe::{BODY_LIMIT, MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER};
pub use openapi::openapi_json;
pub use problem::{ErrorCode, PROBLEM_CONTENT_TYPE, Problem, ProblemBody};
pub use state::{AppState, ServerOptions};

use axum::Router;
use axum::routing::{get, post};
use std::future::{Future, IntoFuture};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the HTTP server failed: {0}; check the listen address and the server log")]
    Io(#[from] std::io::Error),
    #[error("the checkpointer task failed: {0}; the next start signs the missing checkpoint")]
    Checkpointer(#[from] tokio::task::JoinError),
    #[error("cannot start the job runner: {0}")]
    Jobs(soxctl_store::StoreError),
}

/// The application: all routes with authentication, request ids, tracing,
/// metrics, the body limit and problem responses.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi_document))
        .route("/api/v1/store", get(ledger_api::store_info))
        .route("/api/v1/ledger/checkpoint", get(ledger_api::checkpoint))
        .route("/api/v1/ledger/entries", get(ledger_api::entries))
        .route("/api/v1/ledger/proof/inclusion", get(ledger_api::inclusion))
        .route(
            "/api/v1/ledger/proof/consistency",
            get(ledger_api::consistency),
        )
        .route(
            "/api/v1/tokens",
            get(tokens_api::list).post(tokens_api::create),
        )
        .route("/api/v1/tokens/{token_id}/revoke", post(tokens_api::revoke))
        .route("/api/v1/who-has", get(inventory_api::who_has))
        .route("/api/v1/findings", get(findings_api::list))
        .route("/api/v1/sod/simulate", post(sod_api::simulate))
        .route(
            "/api/v1/requests",
            get(requests_api::list).post(requests_api::create),
        )
        .route("/api/v1/requests/{request_id}", get(requests_api::show))
        .route(
            "/api/v1/requests/{request_id}/approve",
            post(requests_api::approve),
        )
        .route(
            "/api/v1/requests/{request_id}/deny",
            post(requests_api::deny),
        )
        .route(
            "/api/v1/requests/{request_id}/cancel",
            post(requests_api::cancel),
        )
        .route(
            "/api/v1/requests/{request_id}/activate",
            post(requests_api::activate),
        )
        .route("/api/v1/actions/token", post(gate_api::token))
        .route("/api/v1/actions/executed", post(gate_api::executed))
        .route("/api/v1/gate/requests", post(gate_api::register))
        .route("/api/v1/gate/check", get(gate_api::check))
        .route("/api/v1/changes/deployed", post(gate_api::deployed))
        .route(
            "/api/v1/changes/last-deployed",
            get(gate_api::last_deployed),
        )
        .route(
            "/api/v1/breakglass",
            get(breakglass_api::list).post(breakglass_api::create),
        )
        .route(
            "/api/v1/breakglass/{use_id}/review",
            post(breakglass_api::review),
        )
        .route("/api/v1/grants", get(requests_api::grants))
        .route(
            "/api/v1/grants/{grant_id}/revoke",
            post(requests_api::revoke_grant),
        )
        .route(
            "/api/v1/delegations",
            get(requests_api::delegations).post(requests_api::create_delegation),
        )
        .route(
            "/api/v1/delegations/{delegation_id}/revoke",
            post(requests_api::revoke_delegation),
        )
        .route(
            "/api/v1/people/{person_id}/access",
            get(inventory_api::access_of),
        )
        .route(
            "/api/v1/people/{person_id}/history",
            get(inventory_api::history),
        )
        .merge(scim::routes())
        .fallback(not_found);
    observe::layer(routes, state)
}

async fn not_found() -> Problem {
    Problem::not_found("There is no such endpoint. The API is described at /api/v1/openapi.json.")
}

/// Serves `state` on `listener` until `shutdown` resolves, with the
/// checkpointer running alongside. On shutdown, in-flight requests finish
/// first, then the checkpointer signs a final checkpoint and stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let checkpointer = Checkpointer::spawn(
        state.store().clone(),
        state.signing_key().clone(),
        state.checkpoint_policy(),
    );
    let jobs = housekeeping::spawn(
        state.store().clone(),
        state.hygiene_policy(),
        state.sod().clone(),
    )
    .map_err(ServerError::Jobs)?;
    let outbox = state
        .notifier()
        .cloned()
        .map(|notifier| housekeeping::spawn_outbox(state.store().clone(), notifier));
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, backend = state.store().backend(), "serving the soxctl API");
    }
    // axum needs a 'static + Send shutdown future; the caller's need not be.
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .into_future();
    tokio::pin!(server, shutdown);
    let served = tokio::select! {
        result = &mut server => result,
        () = &mut shutdown => {
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop.send(true);
            server.await
        }
    };
    // After the requests drained: a pass under way settles what it sent;
    // anything left waits in the outbox for the next start.
    if let Some(outbox) = outbox {
        outbox.stop().await;
    }
    if let Err(e) = jobs.stop().await {
        tracing::warn!(error = %e, "the job runner did not stop cleanly");
    }
    let stopped = checkpointer.stop().await;
    served?;
    stopped?;
    Ok(())
}
