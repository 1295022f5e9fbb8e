//! Findings over HTTP (scope: read): the same listing as `soxctl findings`.

use crate::auth::Require;
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use soxctl_api::findings::{FindingView, FindingsQuery};
use soxctl_model::access::ReadAccess;
use soxctl_store::findings::Filter;

/// Findings, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    tag = "findings",
    params(FindingsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Findings matching the filter", body = Vec<FindingView>),
        (status = 400, description = "Bad filter", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the read scope", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Require(_read): Require<ReadAccess>,
    ValidQuery(query): ValidQuery<FindingsQuery>,
) -> Result<Json<Vec<FindingView>>, Problem> {
    let status = match query.status.as_deref().unwrap_or("open") {
        "all" => None,
        s => Some(
            s.parse()
                .map_err(|e: String| Problem::bad_request(format!("status: {e}, or all")))?,
        ),
    };
    let min_severity = query
        .severity
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| Problem::bad_request(format!("severity: {e}")))?;
    let filter = Filter {
        kind: query.kind,
        status,
        min_severity,
        subject_prefix: query.subject,
    };
    Ok(Json(
        soxctl_app::findings::listed(state.store(), &filter).await?,
    ))
}
