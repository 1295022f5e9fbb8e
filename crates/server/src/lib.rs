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
mod grants_api;
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
pub use ledger_api::{JSONL_CONTENT_TYPE, MAX_PAGE};
pub use metrics::{OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE};
pub use observe::{BODY_LIMIT, MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER};
pub use openapi::openapi_json;
pub use problem::{ErrorCode, PROBLEM_CONTENT_TYPE, Problem, ProblemBody};
pub use state::{AppState, ServerOptions};

use axum::Router;
use std::future::{Future, IntoFuture};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    let (api, _) = api_routes().split_for_parts();
    let routes = api.fallback(not_found);
    observe::layer(routes, state)
}

/// Every endpoint of the OpenAPI document, the SCIM service provider's
/// included ([`scim::routes`]). Each route and its path in the
/// document come from the handler's own `#[utoipa::path]`, registered
/// together: an endpoint cannot be served undocumented, nor documented
/// under another path or method. Handlers of one path are registered in
/// one `routes!`.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::openapi_document))
        .routes(routes!(ledger_api::store_info))
        .routes(routes!(ledger_api::checkpoint))
        .routes(routes!(ledger_api::entries))
        .routes(routes!(ledger_api::inclusion))
        .routes(routes!(ledger_api::consistency))
        .routes(routes!(tokens_api::list, tokens_api::create))
        .routes(routes!(tokens_api::revoke))
        .routes(routes!(inventory_api::who_has))
        .routes(routes!(inventory_api::access_of))
        .routes(routes!(inventory_api::history))
        .routes(routes!(inventory_api::people))
        .routes(routes!(inventory_api::systems))
        .routes(routes!(inventory_api::entitlements))
        .routes(routes!(findings_api::list))
        .routes(routes!(sod_api::simulate))
        .routes(routes!(requests_api::list, requests_api::create))
        .routes(routes!(requests_api::show))
        .routes(routes!(requests_api::approve))
        .routes(routes!(requests_api::deny))
        .routes(routes!(requests_api::cancel))
        .routes(routes!(requests_api::activate))
        .routes(routes!(grants_api::grants))
        .routes(routes!(grants_api::revoke_grant))
        .routes(routes!(
            grants_api::delegations,
            grants_api::create_delegation
        ))
        .routes(routes!(grants_api::revoke_delegation))
        .routes(routes!(breakglass_api::list, breakglass_api::create))
        .routes(routes!(breakglass_api::review))
        .routes(routes!(gate_api::token))
        .routes(routes!(gate_api::executed))
        .routes(routes!(gate_api::register))
        .routes(routes!(gate_api::check))
        .routes(routes!(gate_api::deployed))
        .routes(routes!(gate_api::last_deployed))
        .merge(scim::routes())
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
