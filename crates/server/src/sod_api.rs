//! `POST /api/v1/sod/simulate`: the violations a change would create, from
//! the continuous engine (or a window analysis for time-bound grants). The
//! access-request workflow calls it before anything is granted.

use crate::auth::Require;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use soxctl_api::sod::{SimulateRequest, SimulateResponse};
use soxctl_app::sod::SodError;
use soxctl_model::access::ReadAccess;

/// What a change would create, before it is made.
#[utoipa::path(
    post,
    path = "/api/v1/sod/simulate",
    tag = "sod",
    request_body = SimulateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The violations the change would create", body = SimulateResponse),
        (status = 400, description = "Bad request", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No rule set in force, or an unknown role", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn simulate(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    body: Result<Json<SimulateRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SimulateResponse>, Problem> {
    let Json(request) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let store = state.store();
    let monitor = state.sod();
    let simulated = soxctl_app::sod::simulate_with(store, &request, async |identity, additions| {
        monitor.simulate(store, identity, additions).await
    })
    .await
    .map_err(problem)?;
    Ok(Json(soxctl_app::sod::view(&simulated)))
}

fn problem(error: SodError) -> Problem {
    match error {
        SodError::Invalid(detail) => Problem::bad_request(detail),
        SodError::UnknownRole(_) | SodError::NoRules => Problem::not_found(error.to_string()),
        SodError::BadRules { .. } => Problem::internal(&error),
        SodError::Store(e) => e.into(),
    }
}
