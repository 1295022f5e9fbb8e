//! Findings over HTTP (scope: read): the same listing as `soxctl findings`.

use crate::auth::Require;
use crate::ledger_api::ValidQuery;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use soxctl_model::access::ReadAccess;
use soxctl_model::finding::FindingRow;
use soxctl_store::findings::Filter;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A finding (DESIGN A7).
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    /// `fnd_` + 128 bits of SHA-256(kind, subject): stable across reopenings.
    pub finding_id: String,
    pub kind: String,
    /// `account:<system>:<account>`, `grant:<system>:<account>:<entitlement>`, …
    pub subject: String,
    /// low, medium, high or critical.
    pub severity: String,
    /// open, accepted or resolved.
    pub status: String,
    pub summary: String,
    pub control_ids: Vec<String>,
    pub first_seen: String,
    pub opened_at: String,
    pub resolved_at: Option<String>,
    pub owner_id: Option<String>,
    pub due: Option<String>,
    pub resolution: Option<String>,
    pub accepted_until: Option<String>,
    pub detail: BTreeMap<String, String>,
}

impl From<&FindingRow> for FindingView {
    fn from(f: &FindingRow) -> Self {
        Self {
            finding_id: f.finding_id.clone(),
            kind: f.kind.clone(),
            subject: f.subject.clone(),
            severity: f.severity.as_str().to_owned(),
            status: f.status.as_str().to_owned(),
            summary: f.summary.clone(),
            control_ids: f.control_ids.clone(),
            first_seen: f.first_seen.to_canonical(),
            opened_at: f.opened_at.to_canonical(),
            resolved_at: f.resolved_at.map(|t| t.to_canonical()),
            owner_id: f.owner_id.as_ref().map(ToString::to_string),
            due: f.due.map(|d| d.to_string()),
            resolution: f.resolution.clone(),
            accepted_until: f.accepted_until.map(|t| t.to_canonical()),
            detail: f.detail.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// open (default), accepted, resolved or all.
    pub status: Option<String>,
    /// This severity or worse.
    pub severity: Option<String>,
    /// Subjects starting with this.
    pub subject: Option<String>,
}

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
    let findings = state.store().findings(&filter).await?;
    Ok(Json(findings.iter().map(Into::into).collect()))
}
