//! `POST /api/v1/sod/simulate`: the violations a change would create, from
//! the continuous engine (or a window analysis for time-bound grants). The
//! access-request workflow calls it before anything is granted.

use crate::auth::Require;
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use soxctl_model::access::ReadAccess;
use soxctl_model::document::DocumentKind;
use soxctl_model::time::Timestamp;
use soxctl_sod::{Addition, Holder, Interval, Violation, ViolationLine};
use utoipa::ToSchema;

/// The most entitlements one simulation may add.
pub const MAX_ADDITIONS: usize = 1_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The person (or `account:<system>:<account>`) who would receive the access.
    pub person_id: String,
    /// Entitlements to add, as `system_id:entitlement_id`.
    #[serde(default)]
    pub add: Vec<String>,
    /// Roles whose entitlements to add.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Start of a time-bound grant (RFC 3339); with `to`.
    pub from: Option<String>,
    /// End of a time-bound grant.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionView {
    pub function_id: String,
    pub entitlements: Vec<String>,
    pub accounts: Vec<String>,
}

/// A violation with the facts that make it (DESIGN A6 line shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationView {
    pub risk_id: String,
    pub risk_name: Option<String>,
    pub process: Option<String>,
    /// The identity.
    pub person_id: String,
    pub severity: String,
    pub functions: Vec<FunctionView>,
}

impl From<&Violation> for ViolationView {
    fn from(v: &Violation) -> Self {
        let line = ViolationLine::from(v);
        Self {
            risk_id: line.risk_id,
            risk_name: line.risk_name,
            process: line.process,
            person_id: line.person_id,
            severity: serde_json::to_value(line.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            functions: line
                .functions
                .into_iter()
                .map(|f| FunctionView {
                    function_id: f.function_id,
                    entitlements: f.entitlements,
                    accounts: f.accounts,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimulateResponse {
    /// True when the change creates no violation.
    pub clear: bool,
    /// The violations the change would create (those the identity has already are not repeated).
    pub violations: Vec<ViolationView>,
    /// The rule set version judged against.
    pub rules_version: u64,
}

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
    let mut additions = request.add.clone();
    if !request.roles.is_empty() {
        let inventory = store.inventory().await?;
        for role in &request.roles {
            let found: Vec<String> = inventory
                .role_entitlements
                .values()
                .filter(|r| r.role_id.as_str() == role)
                .map(|r| format!("{}:{}", r.system_id, r.entitlement_id))
                .collect();
            if found.is_empty() {
                return Err(Problem::not_found(format!(
                    "role '{role}' has no entitlements in the store (or does not exist)"
                )));
            }
            additions.extend(found);
        }
    }
    if additions.is_empty() {
        return Err(Problem::bad_request(
            "nothing to simulate: give `add` (system_id:entitlement_id) or `roles`",
        ));
    }
    if additions.len() > MAX_ADDITIONS {
        return Err(Problem::bad_request(format!(
            "at most {MAX_ADDITIONS} entitlements per simulation"
        )));
    }
    if let Some(bad) = additions.iter().find(|a| !a.contains(':')) {
        return Err(Problem::bad_request(format!(
            "'{bad}' is not system_id:entitlement_id"
        )));
    }
    let rules = store
        .latest_document(DocumentKind::Rules)
        .await?
        .ok_or_else(|| {
            Problem::not_found(
                "no SoD rule set is in force; record one with `soxctl rules load FILE`",
            )
        })?;
    let time = |name: &str, v: &str| {
        Timestamp::parse_end_of_day(v).map_err(|e| Problem::bad_request(format!("{name}: {e}")))
    };
    let violations = match (&request.from, &request.to) {
        (None, None) => {
            let additions: Vec<Addition> = additions
                .iter()
                .map(|e| Addition {
                    entitlement: e.clone(),
                    holder: Holder::System,
                    interval: Interval::ALWAYS,
                })
                .collect();
            state
                .sod()
                .simulate(store, &request.person_id, &additions)
                .await?
                .map_err(|e| Problem::bad_request(format!("cannot simulate: {e}")))?
        }
        (Some(from), Some(to)) => {
            let (from, to) = (time("from", from)?, time("to", to)?);
            if to <= from {
                return Err(Problem::bad_request("`to` must be after `from`"));
            }
            let parsed =
                soxctl_sod::RuleSet::parse(&rules.content).map_err(|e| Problem::internal(&e))?;
            let inventory = store.inventory().await?;
            soxctl_detect::sod::simulate_window(
                &parsed,
                &inventory,
                &request.person_id,
                &additions,
                from.micros(),
                to.micros(),
            )
            .map_err(|e| Problem::bad_request(format!("cannot simulate: {e}")))?
        }
        _ => {
            return Err(Problem::bad_request(
                "give both `from` and `to`, or neither",
            ));
        }
    };
    Ok(Json(SimulateResponse {
        clear: violations.is_empty(),
        violations: violations.iter().map(Into::into).collect(),
        rules_version: rules.version,
    }))
}
