//! `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` (RFC 7644 §4).
//! They need a SCIM token like every SCIM endpoint (fail closed).

use super::error::ScimError;
use super::http::{Base, respond};
use super::render::list_response;
use super::schema;
use crate::auth::Require;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use soxctl_model::access::ScimAccess;

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

pub(crate) async fn schema(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    one_of(schema::schemas(&base), &id, "schema")
}

pub(crate) async fn resource_types(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
) -> Response {
    let all = schema::resource_types(&base);
    let total = all.len();
    respond(StatusCode::OK, &list_response(all, total, 1), None, None)
}

pub(crate) async fn resource_type(
    Require(_scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    one_of(schema::resource_types(&base), &id, "resource type")
}
