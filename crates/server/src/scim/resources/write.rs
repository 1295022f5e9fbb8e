//! Creating, replacing, patching and deleting a resource: the document and
//! the ledger in one transaction.

#![allow(unused_imports)]
use super::*;

/// The lower-cased `userName` (Users) or `displayName` (Groups).
pub(super) fn unique_name(kind: Kind, doc: &Map<String, Value>) -> Result<String, ScimError> {
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

pub(super) fn taken(kind: Kind, doc: &Map<String, Value>) -> ScimError {
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
pub(super) fn take_members(doc: &mut Map<String, Value>) -> Result<BTreeSet<String>, ScimError> {
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

pub(super) fn take_external_id(doc: &mut Map<String, Value>) -> Option<String> {
    match doc.remove("externalId") {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

pub(super) async fn create(
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

pub(super) enum Change {
    Replace(Value),
    Patch(Value),
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
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

pub(super) async fn delete(
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
