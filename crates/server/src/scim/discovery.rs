//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` (RFC 7644 §4).
//! They need a SCIM token like every SCIM endpoint (fail closed).

use super::error::{ScimError, ScimErrorBody};
use super::http::{Base, respond};
use super::render::list_response;
use super::schema;
use crate::auth::Require;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use soxctl_model::access::ScimAccess;

/// What the service provider supports: filter, PATCH and ETags; no bulk,
/// sort or password change (RFC 7644 §4).
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The ServiceProviderConfig resource", body = Object, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn service_provider_config(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
) -> Response {
    respond(
        StatusCode::OK,
        &schema::service_provider_config(&base),
        None,
        None,
    )
}

/// The schemas: User, Group and the enterprise User extension.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A ListResponse of the Schema resources", body = Object, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn schemas(Require(_scim): Require<ScimAccess>, Base(base): Base) -> Response {
    let all = schema::schemas(&base);
    let total = all.len();
    respond(StatusCode::OK, &list_response(all, total, 1), None, None)
}

fn one_of(list: Vec<Value>, id: &str, what: &str) -> Result<Response, ScimError> {
    list.into_iter()
        .find(|s| s.get("id").and_then(Value::as_str) == Some(id))
        .map(|s| respond(StatusCode::OK, &s, None, None))
        .ok_or_else(|| ScimError::not_found(format!("There is no {what} '{id}'.")))
}

/// One schema, by its URN.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The schema's URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`")),
    responses(
        (status = 200, description = "The Schema resource", body = Object, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such schema", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn schema(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    one_of(schema::schemas(&base), &id, "schema")
}

/// The resource types: User and Group.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    tag = "scim",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A ListResponse of the ResourceType resources", body = Object, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn resource_types(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
) -> Response {
    let all = schema::resource_types(&base);
    let total = all.len();
    respond(StatusCode::OK, &list_response(all, total, 1), None, None)
}

/// One resource type, by its id.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The resource type's id: `User` or `Group`")),
    responses(
        (status = 200, description = "The ResourceType resource", body = Object, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such resource type", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn resource_type(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    one_of(schema::resource_types(&base), &id, "resource type")
}
