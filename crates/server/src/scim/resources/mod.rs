//! `/Users` and `/Groups`: create, read, list and search (filters,
//! pagination, attribute selection), replace, patch and delete. Every
//! resource lives in the calling token's system only; a write changes the
//! ledger and the document in one transaction, through the use cases of
//! `soxctl_app::ingest::scim`; the handlers parse, call and render.

use super::error::{ScimError, ScimErrorBody};
use super::http::{Base, ScimBody, if_match, not_modified, respond, respond_not_modified};
use super::render::{self, Link};
use super::schema::{Kind, MAX_RESULTS, SEARCH_SCHEMA};
use crate::auth::Require;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use soxctl_app::ingest::scim as sync;
use soxctl_connectors::scim::filter::{Filter, get_ci};
use soxctl_model::access::ScimAccess;
use soxctl_store::scim::{GROUP, GrantsOf, USER};
use std::collections::BTreeMap;

mod query;
mod read;
mod write;

pub(crate) use query::ListParams;
use query::*;
use read::*;
use write::*;

/// List the Users of the token's system: filter, paginate, select attributes.
#[utoipa::path(
    get,
    path = "/scim/v2/Users",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ListParams
    ),
    responses(
        (status = 200, description = "A ListResponse of the matching Users", body = Object, content_type = "application/scim+json"),
        (status = 400, description = "Bad filter (invalidFilter), or a startIndex or count that is not an integer (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::User], params.into_query()?).await
}

/// List the Groups of the token's system: filter, paginate, select attributes.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ListParams
    ),
    responses(
        (status = 200, description = "A ListResponse of the matching Groups", body = Object, content_type = "application/scim+json"),
        (status = 400, description = "Bad filter (invalidFilter), or a startIndex or count that is not an integer (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn list_groups(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::Group], params.into_query()?).await
}

/// Search the Users of the token's system with a SearchRequest body.
#[utoipa::path(
    post,
    path = "/scim/v2/Users/.search",
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (`urn:ietf:params:scim:api:messages:2.0:SearchRequest`): filter, startIndex, count, attributes, excludedAttributes"),
    responses(
        (status = 200, description = "A ListResponse of the matching Users", body = Object, content_type = "application/scim+json"),
        (status = 400, description = "Malformed JSON or schemas (invalidSyntax), a bad filter (invalidFilter) or value (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn search_users(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::User], search_query(&body)?).await
}

/// Search the Groups of the token's system with a SearchRequest body.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups/.search",
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (`urn:ietf:params:scim:api:messages:2.0:SearchRequest`): filter, startIndex, count, attributes, excludedAttributes"),
    responses(
        (status = 200, description = "A ListResponse of the matching Groups", body = Object, content_type = "application/scim+json"),
        (status = 400, description = "Malformed JSON or schemas (invalidSyntax), a bad filter (invalidFilter) or value (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn search_groups(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::Group], search_query(&body)?).await
}

/// Search the Users and Groups of the token's system with a SearchRequest body.
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json", description = "A SearchRequest (`urn:ietf:params:scim:api:messages:2.0:SearchRequest`): filter, startIndex, count, attributes, excludedAttributes"),
    responses(
        (status = 200, description = "A ListResponse of the matching Users and Groups", body = Object, content_type = "application/scim+json"),
        (status = 400, description = "Malformed JSON or schemas (invalidSyntax), a bad filter (invalidFilter) or value (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn search_all(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &Kind::ALL, search_query(&body)?).await
}

/// Read one User of the token's system.
#[utoipa::path(
    get,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The User's id (assigned by the server)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attribute names to return (with those always returned)"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attribute names to leave out"),
        ("If-None-Match" = Option<String>, Header, description = "304 when the resource's version is one of these ETags (`*` matches any)"),
    ),
    responses(
        (status = 200, description = "The User", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 304, description = "Not modified: If-None-Match names its current version", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such User in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    read(&state, &scim, &base, Kind::User, &id, &headers, &params).await
}

/// Read one Group of the token's system.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The Group's id (assigned by the server)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attribute names to return (with those always returned)"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attribute names to leave out"),
        ("If-None-Match" = Option<String>, Header, description = "304 when the resource's version is one of these ETags (`*` matches any)"),
    ),
    responses(
        (status = 200, description = "The Group", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 304, description = "Not modified: If-None-Match names its current version", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such Group in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn get_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    read(&state, &scim, &base, Kind::Group, &id, &headers, &params).await
}

/// Create a User in the token's system.
#[utoipa::path(
    post,
    path = "/scim/v2/Users",
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json", description = "The User (application/json is accepted too)"),
    responses(
        (status = 201, description = "The User created", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"1\"`"), ("Location" = String, description = "The User's URL"))),
        (status = 400, description = "Malformed JSON (invalidSyntax), or a body the schema refuses (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "userName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    create(&state, &scim, &base, Kind::User, body).await
}

/// Create a Group in the token's system.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups",
    tag = "scim",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json", description = "The Group (application/json is accepted too)"),
    responses(
        (status = 201, description = "The Group created", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"1\"`"), ("Location" = String, description = "The Group's URL"))),
        (status = 400, description = "Malformed JSON (invalidSyntax), or a body the schema refuses (invalidValue) or a member that is not a User of the system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "displayName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn create_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    create(&state, &scim, &base, Kind::Group, body).await
}

/// Replace a User: the body is the whole resource.
#[utoipa::path(
    put,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The User's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    request_body(content = Object, content_type = "application/scim+json", description = "The whole User (application/json is accepted too)"),
    responses(
        (status = 200, description = "The User as it is now", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 400, description = "Malformed JSON (invalidSyntax), or a body the schema refuses (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such User in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "userName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn replace_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    write(
        &state,
        &scim,
        &base,
        Kind::User,
        &id,
        &headers,
        Change::Replace(body),
    )
    .await
}

/// Replace a Group: the body is the whole resource (a Group without `members` has none).
#[utoipa::path(
    put,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The Group's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    request_body(content = Object, content_type = "application/scim+json", description = "The whole Group (application/json is accepted too)"),
    responses(
        (status = 200, description = "The Group as it is now", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 400, description = "Malformed JSON (invalidSyntax), or a body the schema refuses (invalidValue) or a member that is not a User of the system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such Group in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "displayName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn replace_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    write(
        &state,
        &scim,
        &base,
        Kind::Group,
        &id,
        &headers,
        Change::Replace(body),
    )
    .await
}

/// Change a User with a PatchOp (`add`, `replace`, `remove`).
#[utoipa::path(
    patch,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The User's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    request_body(content = Object, content_type = "application/scim+json", description = "A PatchOp (`urn:ietf:params:scim:api:messages:2.0:PatchOp`) with its Operations (application/json is accepted too)"),
    responses(
        (status = 200, description = "The User as it is now", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 400, description = "Malformed JSON or PatchOp (invalidSyntax), a bad path (invalidPath), a path that matches nothing (noTarget), or a result the schema refuses (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such User in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "userName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn patch_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    write(
        &state,
        &scim,
        &base,
        Kind::User,
        &id,
        &headers,
        Change::Patch(body),
    )
    .await
}

/// Change a Group with a PatchOp (`add`, `replace`, `remove`).
#[utoipa::path(
    patch,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The Group's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    request_body(content = Object, content_type = "application/scim+json", description = "A PatchOp (`urn:ietf:params:scim:api:messages:2.0:PatchOp`) with its Operations (application/json is accepted too)"),
    responses(
        (status = 200, description = "The Group as it is now", body = Object, content_type = "application/scim+json", headers(("ETag" = String, description = "The resource's version, `W/\"n\"`"))),
        (status = 400, description = "Malformed JSON or PatchOp (invalidSyntax), a bad path (invalidPath), a path that matches nothing (noTarget), or a result the schema refuses (invalidValue)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such Group in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 409, description = "displayName is already taken in the token's system (uniqueness)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 413, description = "Body over 1 MiB (tooLarge)", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 415, description = "Content-Type is not JSON", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn patch_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Path(id): Path<String>,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    write(
        &state,
        &scim,
        &base,
        Kind::Group,
        &id,
        &headers,
        Change::Patch(body),
    )
    .await
}

/// Delete a User: the ledger records the removal of its memberships (grants) and the account.
#[utoipa::path(
    delete,
    path = "/scim/v2/Users/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The User's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such User in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    delete(&state, &scim, Kind::User, &id, &headers).await
}

/// Delete a Group: the ledger records the removal of its members' grants and the entitlement.
#[utoipa::path(
    delete,
    path = "/scim/v2/Groups/{id}",
    tag = "scim",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The Group's id (assigned by the server)"),
        ("If-Match" = Option<String>, Header, description = "Only if the resource's version is one of these ETags (`*` matches any); otherwise 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 403, description = "Token lacks the scim scope or is not bound to a system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 404, description = "No such Group in the token's system", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 412, description = "If-Match does not name the current version: it changed since it was read", body = ScimErrorBody, content_type = "application/scim+json"),
        (status = 503, description = "Store unavailable", body = ScimErrorBody, content_type = "application/scim+json"),
    )
)]
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    delete(&state, &scim, Kind::Group, &id, &headers).await
}
