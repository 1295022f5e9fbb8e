//! `/Users` and `/Groups`: create, read, list and search (filters,
//! pagination, attribute selection), replace, patch and delete. Every
//! resource lives in the calling token's system only; a write changes the
//! ledger through `soxctl_app::ingest::scim` and the document in the same transaction.

use super::error::ScimError;
use super::http::{Base, ScimBody, check_if_match, not_modified, respond, respond_not_modified};
use super::render::{self, Link};
use super::schema::{self, Kind, MAX_RESULTS, SEARCH_SCHEMA};
use crate::auth::Require;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use soxctl_app::ingest::scim as sync;
use soxctl_connectors::scim::filter::{Filter, get_ci};
use soxctl_connectors::scim::patch;
use soxctl_model::access::ScimAccess;
use soxctl_model::ids::SystemId;
use soxctl_store::scim::{GROUP, GrantsOf, ScimDocument, USER};
use soxctl_store::{Store, WriteTx};
use std::collections::{BTreeMap, BTreeSet};

mod links;
mod query;
mod read;
mod write;

use links::*;
pub(crate) use query::ListParams;
use query::*;
use read::*;
use write::*;

pub(crate) async fn list_users(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::User], params.into_query()?).await
}

pub(crate) async fn list_groups(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    Query(params): Query<ListParams>,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::Group], params.into_query()?).await
}

pub(crate) async fn search_users(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::User], search_query(&body)?).await
}

pub(crate) async fn search_groups(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &[Kind::Group], search_query(&body)?).await
}

pub(crate) async fn search_all(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    list(&state, &scim, &base, &Kind::ALL, search_query(&body)?).await
}

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

pub(crate) async fn create_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    create(&state, &scim, &base, Kind::User, body).await
}

pub(crate) async fn create_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Base(base): Base,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    create(&state, &scim, &base, Kind::Group, body).await
}

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

pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    delete(&state, &scim, Kind::User, &id, &headers).await
}

pub(crate) async fn delete_group(
    State(state): State<AppState>,
    Require(scim): Require<ScimAccess>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    delete(&state, &scim, Kind::Group, &id, &headers).await
}
