//! The write use cases of the SCIM service provider, one per verb: every
//! check first (the document against the schema, `If-Match`, the unique
//! name), then the ledger events and the stored document, in the caller's
//! write transaction.

use super::ledger::{
    account, account_id, correlator, ensure_system, entitlement_id, put_account, put_entitlement,
    remove_account, remove_entitlement, set_members,
};
use super::{IfMatch, Kind, Link, ScimError, links};
use serde_json::{Map, Value};
use soxctl_connectors::correlate::Rules;
use soxctl_connectors::scim::{patch as patch_op, schema};
use soxctl_model::access::ScimAccess;
use soxctl_store::WriteTx;
use soxctl_store::scim::ScimDocument;
use std::collections::BTreeSet;

/// A resource as a write left it: its document (id, version, times) and
/// its memberships, what the service provider renders.
#[derive(Debug, Clone)]
pub struct Stored {
    pub document: ScimDocument,
    pub links: Vec<Link>,
}

/// The lower-cased `userName` (Users) or `displayName` (Groups).
fn unique_name(kind: Kind, doc: &Map<String, Value>) -> Result<String, ScimError> {
    doc.get(kind.unique_attribute())
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ScimError::InvalidValue(format!(
                "attribute '{}' is required",
                kind.unique_attribute()
            ))
        })
}

fn taken(kind: Kind, doc: &Map<String, Value>) -> ScimError {
    let value = doc
        .get(kind.unique_attribute())
        .and_then(Value::as_str)
        .unwrap_or_default();
    ScimError::Taken {
        kind,
        value: value.to_owned(),
    }
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
                return Err(ScimError::InvalidValue(
                    "a Group cannot be a member of a Group here: nested groups are not supported"
                        .into(),
                ));
            }
            let value = item
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ScimError::InvalidValue("every member needs a `value` (a User id)".into())
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

fn group_name(doc: &Map<String, Value>) -> String {
    doc.get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The stored document of `id`, if `If-Match` allows writing it.
async fn current(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    kind: Kind,
    id: &str,
    if_match: Option<&IfMatch>,
) -> Result<ScimDocument, ScimError> {
    let stored = tx
        .scim_document(scim.system(), kind.name(), id)
        .await?
        .ok_or_else(|| ScimError::NotFound {
            kind,
            id: id.to_owned(),
        })?;
    if let Some(if_match) = if_match
        && !if_match.allows(stored.version)
    {
        return Err(ScimError::Changed {
            if_match: if_match.clone(),
            version: stored.version,
        });
    }
    Ok(stored)
}

/// Creates a User (an account, correlated to a person by `rules`) or a
/// Group (an entitlement, its members granted it) from the client's
/// document `body`, with a new id, at version 1. Refused when the body does
/// not fit the schema, when its `userName`/`displayName` is taken in the
/// system, or when a member is not a User of the system.
pub async fn create(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    rules: &Rules,
    kind: Kind,
    body: Value,
) -> Result<Stored, ScimError> {
    let mut doc = schema::normalize(kind, body, true)?;
    let members = match kind {
        Kind::Group => take_members(&mut doc)?,
        Kind::User => BTreeSet::new(),
    };
    let unique = unique_name(kind, &doc)?;
    let external_id = take_external_id(&mut doc);
    let (system, actor) = (scim.system(), scim.actor());
    if tx
        .scim_id_by_unique_name(system, kind.name(), &unique)
        .await?
        .is_some()
    {
        return Err(taken(kind, &doc));
    }
    let id = uuid::Uuid::new_v4().to_string();
    ensure_system(tx, actor, system).await?;
    let mut person_id = None;
    match kind {
        Kind::User => {
            let account_id = account_id(&id)?;
            let correlator = correlator(tx, rules).await?;
            let account = account(system, &account_id, &doc, None, &correlator);
            person_id = account.person_id.clone();
            put_account(tx, actor, None, account).await?;
        }
        Kind::Group => {
            let entitlement = entitlement_id(&id)?;
            put_entitlement(tx, actor, system, &entitlement, &group_name(&doc)).await?;
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
        let entitlement = entitlement_id(&id)?;
        set_members(tx, actor, system, &entitlement, &members).await?;
    }
    let links = links(tx, kind, system, &id).await?;
    Ok(Stored {
        document: stored,
        links,
    })
}

/// Replaces the resource `id` with the client's document `body` (a Group's
/// members become exactly those listed). The version goes up only when
/// something changed.
pub async fn replace(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    rules: &Rules,
    kind: Kind,
    id: &str,
    if_match: Option<&IfMatch>,
    body: Value,
) -> Result<Stored, ScimError> {
    let stored = current(tx, scim, kind, id, if_match).await?;
    let doc = schema::normalize(kind, body, true)?;
    write(tx, scim, rules, kind, id, stored, doc).await
}

/// Changes the resource `id` with a PatchOp request `body` (`add`,
/// `replace`, `remove`) applied to its current document and memberships.
/// The version goes up only when something changed.
pub async fn patch(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    rules: &Rules,
    kind: Kind,
    id: &str,
    if_match: Option<&IfMatch>,
    body: &Value,
) -> Result<Stored, ScimError> {
    let stored = current(tx, scim, kind, id, if_match).await?;
    let operations = patch_op::parse_request(body)?;
    let mut working = match &stored.document {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(external_id) = &stored.external_id {
        working.insert("externalId".into(), Value::String(external_id.clone()));
    }
    if kind == Kind::Group {
        let members: Vec<Value> = links(tx, kind, scim.system(), id)
            .await?
            .into_iter()
            .map(|l| serde_json::json!({"value": l.id}))
            .collect();
        if !members.is_empty() {
            working.insert("members".into(), Value::Array(members));
        }
    }
    let mut working = Value::Object(working);
    patch_op::apply(&mut working, &operations, &kind)?;
    let doc = schema::normalize(kind, working, false)?;
    write(tx, scim, rules, kind, id, stored, doc).await
}

/// Makes `stored` what the checked document `doc` says.
async fn write(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    rules: &Rules,
    kind: Kind,
    id: &str,
    stored: ScimDocument,
    mut doc: Map<String, Value>,
) -> Result<Stored, ScimError> {
    let (system, actor) = (scim.system(), scim.actor());
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
    ensure_system(tx, actor, system).await?;
    match kind {
        Kind::User => {
            let account_id = account_id(id)?;
            let existing = tx.account(system, &account_id).await?;
            let correlator = correlator(tx, rules).await?;
            let account = account(system, &account_id, &doc, existing.as_ref(), &correlator);
            person_id = account.person_id.clone();
            recorded |= put_account(tx, actor, existing.as_ref(), account).await?;
        }
        Kind::Group => {
            let entitlement = entitlement_id(id)?;
            recorded |= put_entitlement(tx, actor, system, &entitlement, &group_name(&doc)).await?;
            if let Some(members) = &members {
                recorded |= set_members(tx, actor, system, &entitlement, members).await?;
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
    let links = links(tx, kind, system, id).await?;
    Ok(Stored {
        document: updated,
        links,
    })
}

/// Deletes the resource `id`: a User's grants and account removed (a
/// leaver), or a Group's grants and entitlement; then its document.
pub async fn delete(
    tx: &mut WriteTx,
    scim: &ScimAccess,
    kind: Kind,
    id: &str,
    if_match: Option<&IfMatch>,
) -> Result<(), ScimError> {
    current(tx, scim, kind, id, if_match).await?;
    let (system, actor) = (scim.system(), scim.actor());
    match kind {
        Kind::User => remove_account(tx, actor, system, &account_id(id)?).await?,
        Kind::Group => remove_entitlement(tx, actor, system, &entitlement_id(id)?).await?,
    }
    tx.delete_scim_document(system, kind.name(), id).await?;
    Ok(())
}
