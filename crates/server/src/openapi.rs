//! The OpenAPI 3.1 description, generated from the handlers' annotations as
//! their routes are registered (`api_routes`), so it cannot drift from the
//! code; `docs/openapi.json` is its committed copy.

use crate::problem;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "soxctl API",
        description = "SOX IT controls with a tamper-evident evidence ledger. Errors are RFC 9457 problem details \
                       (application/problem+json) with a stable `code`, except under /scim/v2 (tag scim): SCIM \
                       error bodies (application/scim+json); every response carries `x-request-id`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(problem::ProblemBody, problem::ErrorCode)),
    modifiers(&BearerAuth),
    tags(
        (name = "inventory", description = "Who can do what, now and at any past instant (scope: read)"),
        (name = "sod", description = "Segregation of duties: what-if checks before access is granted (scope: read)"),
        (name = "requests", description = "Just-in-time requests, approvals, time-bound grants and delegations. People ask and decide with a token bound to them (scope: request); readers list (scope: read). POSTs take an Idempotency-Key"),
        (name = "gate", description = "Action execution tokens and the CI/CD change gate (scope: gate for pipelines, request for people)"),
        (name = "findings", description = "Findings of the detective checks (scope: read)"),
        (name = "ledger", description = "The evidence ledger, its checkpoints and Merkle proofs (scope: read)"),
        (name = "tokens", description = "API tokens: issue, list, revoke (scope: admin). POSTs take an Idempotency-Key"),
        (name = "scim", description = "SCIM 2.0 service provider (RFC 7643, RFC 7644) for identity providers: Users are accounts, Groups entitlements, members grants of the token's one system (scope: scim, on a token bound to a system: --system). Bodies and errors are application/scim+json; SCIM's own discovery endpoints describe the schemas. See docs/scim.md"),
        (name = "operations", description = "Health, readiness, metrics and this description"),
    )
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A token from `soxctl token create`, sent as `Authorization: Bearer <token>`.".into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The API description as pretty-printed JSON.
pub fn openapi_json() -> String {
    let (_, document) = crate::api_routes().split_for_parts();
    match document.to_pretty_json() {
        Ok(mut json) => {
            json.push('\n');
            json
        }
        // Cannot happen for a document of plain strings and maps; say so
        // rather than panic.
        Err(error) => serde_json::json!({ "error": error.to_string() }).to_string(),
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(openapi_json);

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 description", content_type = "application/json"))
)]
pub(crate) async fn openapi_document() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
}
