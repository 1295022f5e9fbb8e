//! `/Users` and `/Groups`: create, read, list and search (filters,
//! pagination, attribute selection), replace, patch and delete. Every
//! resource lives in the calling token's system only; a write changes the
//! ledger through [`super::sync`] and the document in the same transaction.

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

// ---- handlers ---------------------------------------------------------------

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

// ---- queries ------------------------------------------------------------------

/// The query parameters of a list, or of a single read (`attributes`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListParams {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

struct ListQuery {
    filter: Option<Filter>,
    start_index: usize,
    count: usize,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn names(list: Option<&str>) -> Vec<String> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, ScimError> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| {
            Filter::parse(t).map_err(|e| {
                ScimError::bad("invalidFilter", format!("The filter is invalid: {e}."))
            })
        })
        .transpose()
}

/// `startIndex` is 1-based (less is 1); `count` at most [`MAX_RESULTS`] (less than 0 is 0).
fn paging(start: Option<i64>, count: Option<i64>) -> (usize, usize) {
    let start = usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(1);
    let count = count.map_or(MAX_RESULTS, |c| {
        usize::try_from(c.max(0)).unwrap_or(0).min(MAX_RESULTS)
    });
    (start, count)
}

fn integer(name: &str, text: Option<&str>) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::bad("invalidValue", format!("{name} '{t}' is not an integer")))
    })
    .transpose()
}

impl ListParams {
    fn into_query(self) -> Result<ListQuery, ScimError> {
        let (start_index, count) = paging(
            integer("startIndex", self.start_index.as_deref())?,
            integer("count", self.count.as_deref())?,
        );
        Ok(ListQuery {
            filter: parse_filter(self.filter.as_deref())?,
            start_index,
            count,
            attributes: names(self.attributes.as_deref()),
            excluded: names(self.excluded_attributes.as_deref()),
        })
    }
}

/// A SearchRequest body (`POST …/.search`).
fn search_query(body: &Value) -> Result<ListQuery, ScimError> {
    if let Some(schemas) = get_ci(body, "schemas")
        && !schemas.as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_SCHEMA))
            })
        })
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("`schemas` must contain {SEARCH_SCHEMA}"),
        ));
    }
    let list = |key: &str| -> Result<Vec<String>, ScimError> {
        match get_ci(body, key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        ScimError::bad("invalidValue", format!("`{key}` must list strings"))
                    })
                })
                .collect(),
            Some(Value::String(s)) => Ok(names(Some(s))),
            Some(_) => Err(ScimError::bad(
                "invalidValue",
                format!("`{key}` must be an array of strings"),
            )),
        }
    };
    let number = |key: &str| -> Result<Option<i64>, ScimError> {
        match get_ci(body, key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                ScimError::bad("invalidValue", format!("`{key}` must be an integer"))
            }),
        }
    };
    let filter = match get_ci(body, "filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => parse_filter(Some(s))?,
        Some(_) => return Err(ScimError::bad("invalidFilter", "`filter` must be a string")),
    };
    let (start_index, count) = paging(number("startIndex")?, number("count")?);
    Ok(ListQuery {
        filter,
        start_index,
        count,
        attributes: list("attributes")?,
        excluded: list("excludedAttributes")?,
    })
}

// ---- memberships ------------------------------------------------------------

fn display_name(doc: &ScimDocument) -> Option<String> {
    doc.document
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Memberships of one resource, read through a write transaction.
async fn links_in(
    tx: &mut WriteTx,
    kind: Kind,
    system: &SystemId,
    id: &str,
) -> Result<Vec<Link>, ScimError> {
    let mut links = Vec::new();
    match kind {
        Kind::User => {
            let account = sync::account_id(id)?;
            for grant in tx.scim_grants(system, GrantsOf::Account(&account)).await? {
                let group = grant.entitlement_id.to_string();
                let display = tx
                    .scim_document(system, GROUP, &group)
                    .await?
                    .as_ref()
                    .and_then(display_name);
                links.push(Link { id: group, display });
            }
        }
        Kind::Group => {
            let entitlement = sync::entitlement_id(id)?;
            for grant in tx
                .scim_grants(system, GrantsOf::Entitlement(&entitlement))
                .await?
            {
                links.push(Link {
                    id: grant.account_id.to_string(),
                    display: None,
                });
            }
        }
    }
    Ok(links)
}

/// Memberships of one resource, read from the store.
async fn links_of(
    store: &Store,
    kind: Kind,
    system: &SystemId,
    id: &str,
) -> Result<Vec<Link>, ScimError> {
    let mut links = Vec::new();
    match kind {
        Kind::User => {
            let account = sync::account_id(id)?;
            for grant in store
                .scim_grants(system, GrantsOf::Account(&account))
                .await?
            {
                let group = grant.entitlement_id.to_string();
                let display = store
                    .scim_document(system, GROUP, &group)
                    .await?
                    .as_ref()
                    .and_then(display_name);
                links.push(Link { id: group, display });
            }
        }
        Kind::Group => {
            let entitlement = sync::entitlement_id(id)?;
            for grant in store
                .scim_grants(system, GrantsOf::Entitlement(&entitlement))
                .await?
            {
                links.push(Link {
                    id: grant.account_id.to_string(),
                    display: None,
                });
            }
        }
    }
    Ok(links)
}

// ---- reads ----------------------------------------------------------------------

fn missing(kind: Kind, id: &str) -> ScimError {
    ScimError::not_found(format!(
        "There is no {} '{id}' in this token's system (it was deleted, or never pushed here).",
        kind.name()
    ))
}

#[allow(clippy::too_many_arguments)]
async fn read(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    params: &ListParams,
) -> Result<Response, ScimError> {
    let store = state.store();
    let system = scim.system();
    let doc = store
        .scim_document(system, kind.name(), id)
        .await?
        .ok_or_else(|| missing(kind, id))?;
    if not_modified(headers, doc.version) {
        return Ok(respond_not_modified(doc.version));
    }
    let links = links_of(store, kind, system, id).await?;
    let resource = render::resource(kind, &doc, &links, base);
    let attributes = names(params.attributes.as_deref());
    let excluded = names(params.excluded_attributes.as_deref());
    let resource = render::select(kind, resource, &attributes, &excluded);
    Ok(respond(StatusCode::OK, &resource, Some(doc.version), None))
}

async fn list(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kinds: &[Kind],
    query: ListQuery,
) -> Result<Response, ScimError> {
    let store = state.store();
    let system = scim.system();
    let grants = store.scim_grants(system, GrantsOf::System).await?;
    let groups = store.scim_documents(system, GROUP).await?;
    let group_names: BTreeMap<&str, Option<String>> = groups
        .iter()
        .map(|g| (g.scim_id.as_str(), display_name(g)))
        .collect();
    let mut matched = Vec::new();
    for kind in kinds {
        let docs = match kind {
            Kind::User => store.scim_documents(system, USER).await?,
            Kind::Group => groups.clone(),
        };
        for doc in &docs {
            let links: Vec<Link> = grants
                .iter()
                .filter_map(|g| match kind {
                    Kind::User if g.account_id.as_str() == doc.scim_id => Some(Link {
                        id: g.entitlement_id.to_string(),
                        display: group_names
                            .get(g.entitlement_id.as_str())
                            .cloned()
                            .flatten(),
                    }),
                    Kind::Group if g.entitlement_id.as_str() == doc.scim_id => Some(Link {
                        id: g.account_id.to_string(),
                        display: None,
                    }),
                    _ => None,
                })
                .collect();
            let resource = render::resource(*kind, doc, &links, base);
            if query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&resource, kind.core()))
            {
                matched.push((*kind, resource));
            }
        }
    }
    let total = matched.len();
    let page: Vec<Value> = matched
        .into_iter()
        .skip(query.start_index - 1)
        .take(query.count)
        .map(|(kind, r)| render::select(kind, r, &query.attributes, &query.excluded))
        .collect();
    let body = render::list_response(page, total, query.start_index);
    Ok(respond(StatusCode::OK, &body, None, None))
}

// ---- writes ---------------------------------------------------------------------

/// The lower-cased `userName` (Users) or `displayName` (Groups).
fn unique_name(kind: Kind, doc: &Map<String, Value>) -> Result<String, ScimError> {
    doc.get(kind.unique_attribute())
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ScimError::bad(
                "invalidValue",
                format!("attribute '{}' is required", kind.unique_attribute()),
            )
        })
}

fn taken(kind: Kind, doc: &Map<String, Value>) -> ScimError {
    let value = doc
        .get(kind.unique_attribute())
        .and_then(Value::as_str)
        .unwrap_or_default();
    ScimError::uniqueness(format!(
        "A {} with {} '{value}' already exists in this system.",
        kind.name(),
        kind.unique_attribute()
    ))
}

/// A Group's `members` taken out of its document: the member ids. Members
/// are Users; nested groups are not supported.
fn take_members(doc: &mut Map<String, Value>) -> Result<BTreeSet<String>, ScimError> {
    let mut members = BTreeSet::new();
    if let Some(Value::Array(items)) = doc.remove("members") {
        for item in items {
            if item
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("group"))
            {
                return Err(ScimError::bad(
                    "invalidValue",
                    "a Group cannot be a member of a Group here: nested groups are not supported",
                ));
            }
            let value = item
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ScimError::bad("invalidValue", "every member needs a `value` (a User id)")
                })?;
            members.insert(value.to_owned());
        }
    }
    Ok(members)
}

fn take_external_id(doc: &mut Map<String, Value>) -> Option<String> {
    match doc.remove("externalId") {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

async fn create(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    body: Value,
) -> Result<Response, ScimError> {
    let mut doc = schema::normalize(kind, body, true)?;
    let members = match kind {
        Kind::Group => take_members(&mut doc)?,
        Kind::User => BTreeSet::new(),
    };
    let unique = unique_name(kind, &doc)?;
    let external_id = take_external_id(&mut doc);
    let (system, actor) = (scim.system(), scim.actor());
    let mut tx = state.store().begin_write().await?;
    if tx
        .scim_id_by_unique_name(system, kind.name(), &unique)
        .await?
        .is_some()
    {
        return Err(taken(kind, &doc));
    }
    let id = uuid::Uuid::new_v4().to_string();
    sync::ensure_system(&mut tx, actor, system).await?;
    let mut person_id = None;
    match kind {
        Kind::User => {
            let account_id = sync::account_id(&id)?;
            let correlator = sync::correlator(&mut tx, state.scim_correlation()).await?;
            let account = sync::account(system, &account_id, &doc, None, &correlator);
            person_id = account.person_id.clone();
            sync::put_account(&mut tx, actor, None, account).await?;
        }
        Kind::Group => {
            let entitlement = sync::entitlement_id(&id)?;
            let name = doc
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            sync::put_entitlement(&mut tx, actor, system, &entitlement, &name).await?;
        }
    }
    let now = tx.now();
    let stored = ScimDocument {
        system_id: system.clone(),
        resource_type: kind.name().to_owned(),
        scim_id: id.clone(),
        unique_name: unique,
        external_id,
        person_id,
        document: Value::Object(doc),
        version: 1,
        created: now,
        last_modified: now,
    };
    tx.put_scim_document(&stored).await?;
    if kind == Kind::Group {
        let entitlement = sync::entitlement_id(&id)?;
        sync::set_members(&mut tx, actor, system, &entitlement, &members).await?;
    }
    let links = links_in(&mut tx, kind, system, &id).await?;
    let resource = render::resource(kind, &stored, &links, base);
    tx.commit().await?;
    let location = render::location(kind, &id, base);
    Ok(respond(
        StatusCode::CREATED,
        &resource,
        Some(stored.version),
        Some(&location),
    ))
}

enum Change {
    Replace(Value),
    Patch(Value),
}

#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    scim: &ScimAccess,
    base: &str,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    change: Change,
) -> Result<Response, ScimError> {
    let (system, actor) = (scim.system(), scim.actor());
    let mut tx = state.store().begin_write().await?;
    let stored = tx
        .scim_document(system, kind.name(), id)
        .await?
        .ok_or_else(|| missing(kind, id))?;
    check_if_match(headers, stored.version)?;
    let mut doc = match change {
        Change::Replace(body) => schema::normalize(kind, body, true)?,
        Change::Patch(body) => {
            let operations =
                patch::parse_request(&body).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
            let mut working = match &stored.document {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            if let Some(external_id) = &stored.external_id {
                working.insert("externalId".into(), Value::String(external_id.clone()));
            }
            if kind == Kind::Group {
                let members: Vec<Value> = links_in(&mut tx, kind, system, id)
                    .await?
                    .into_iter()
                    .map(|l| serde_json::json!({"value": l.id}))
                    .collect();
                if !members.is_empty() {
                    working.insert("members".into(), Value::Array(members));
                }
            }
            let mut working = Value::Object(working);
            patch::apply(&mut working, &operations, &kind)
                .map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
            schema::normalize(kind, working, false)?
        }
    };
    let members = match kind {
        Kind::Group => Some(take_members(&mut doc)?),
        Kind::User => None,
    };
    let unique = unique_name(kind, &doc)?;
    if unique != stored.unique_name
        && tx
            .scim_id_by_unique_name(system, kind.name(), &unique)
            .await?
            .is_some_and(|other| other != id)
    {
        return Err(taken(kind, &doc));
    }
    let external_id = take_external_id(&mut doc);
    let mut person_id = stored.person_id.clone();
    let mut recorded = false;
    sync::ensure_system(&mut tx, actor, system).await?;
    match kind {
        Kind::User => {
            let account_id = sync::account_id(id)?;
            let existing = tx.account(system, &account_id).await?;
            let correlator = sync::correlator(&mut tx, state.scim_correlation()).await?;
            let account = sync::account(system, &account_id, &doc, existing.as_ref(), &correlator);
            person_id = account.person_id.clone();
            recorded |= sync::put_account(&mut tx, actor, existing.as_ref(), account).await?;
        }
        Kind::Group => {
            let entitlement = sync::entitlement_id(id)?;
            let name = doc
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            recorded |= sync::put_entitlement(&mut tx, actor, system, &entitlement, &name).await?;
            if let Some(members) = &members {
                recorded |=
                    sync::set_members(&mut tx, actor, system, &entitlement, members).await?;
            }
        }
    }
    let document = Value::Object(doc);
    let changed = recorded
        || document != stored.document
        || external_id != stored.external_id
        || person_id != stored.person_id;
    let mut updated = ScimDocument {
        unique_name: unique,
        external_id,
        person_id,
        document,
        ..stored
    };
    if changed {
        updated.version += 1;
        updated.last_modified = tx.now();
        tx.put_scim_document(&updated).await?;
    }
    let links = links_in(&mut tx, kind, system, id).await?;
    let resource = render::resource(kind, &updated, &links, base);
    tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        &resource,
        Some(updated.version),
        None,
    ))
}

async fn delete(
    state: &AppState,
    scim: &ScimAccess,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, ScimError> {
    let (system, actor) = (scim.system(), scim.actor());
    let mut tx = state.store().begin_write().await?;
    let stored = tx
        .scim_document(system, kind.name(), id)
        .await?
        .ok_or_else(|| missing(kind, id))?;
    check_if_match(headers, stored.version)?;
    match kind {
        Kind::User => sync::remove_account(&mut tx, actor, system, &sync::account_id(id)?).await?,
        Kind::Group => {
            sync::remove_entitlement(&mut tx, actor, system, &sync::entitlement_id(id)?).await?
        }
    }
    tx.delete_scim_document(system, kind.name(), id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
