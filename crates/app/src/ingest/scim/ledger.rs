//! What a SCIM write changes, as ledger events in the caller's write
//! transaction: the system (added and baselined on its first write), the
//! account of a User, the entitlement of a Group, and the grants of its
//! members. Every event goes through `WriteTx::append`; an event is appended
//! only when a fact changes. The actor is the SCIM token's principal; the
//! origin names no import and no `as_of` (a push is true when it arrives).

use super::ScimError;

use serde_json::{Map, Value};
use soxctl_connectors::correlate::{AccountAttributes, Correlator, Rules};
use soxctl_connectors::scim::schema::ENTERPRISE_SCHEMA;
use soxctl_model::event::{
    AccountFact, Baselined, EntitlementFact, Event, GrantFact, Origin, SystemFact,
};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, System,
};
use soxctl_model::principal::Principal;
use soxctl_store::WriteTx;
use soxctl_store::scim::{GROUP, GrantsOf, USER};
use std::collections::BTreeSet;

fn origin() -> Origin {
    Origin {
        import_id: None,
        as_of: None,
    }
}

fn internal(e: impl std::fmt::Display) -> ScimError {
    ScimError::Internal(e.to_string())
}

pub fn account_id(id: &str) -> Result<AccountId, ScimError> {
    AccountId::parse(id).map_err(internal)
}

pub fn entitlement_id(id: &str) -> Result<EntitlementId, ScimError> {
    EntitlementId::parse(id).map_err(internal)
}

/// The system, added (named by its id) and baselined on the first SCIM
/// write, so point-in-time questions know from when it is covered.
pub async fn ensure_system(
    tx: &mut WriteTx,
    actor: &Principal,
    system: &SystemId,
) -> Result<(), ScimError> {
    if !tx.system_exists(system).await? {
        // A token issued before system ids had a safe alphabet may name
        // one ('../x') that must not become a system now.
        system.check_new().map_err(|e| {
            ScimError::InvalidValue(format!(
                "{e}; revoke this SCIM token and issue one for a valid system id"
            ))
        })?;
        let event = Event::SystemAdded(SystemFact {
            origin: origin(),
            changed: None,
            system: System {
                system_id: system.clone(),
                name: system.to_string(),
                kind: Some("scim".into()),
                owner_id: None,
                sox_in_scope: true,
            },
        });
        tx.append(actor, &event).await?;
    }
    if !tx.system_baselined(system).await? {
        let event = Event::SystemBaselined(Baselined {
            system_id: system.clone(),
            import_id: format!("scim_{}", uuid_simple()),
            as_of: tx.now(),
        });
        tx.append(actor, &event).await?;
    }
    Ok(())
}

pub fn uuid_simple() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn text<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The email a correlation rule reads: the primary one, else a work one,
/// else the first.
fn email(doc: &Map<String, Value>) -> Option<&str> {
    let emails = doc.get("emails").and_then(Value::as_array)?;
    emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            emails
                .iter()
                .find(|e| e.get("type").and_then(Value::as_str) == Some("work"))
        })
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
}

/// `userType` names the account kind: `service` (or `serviceAccount`) and
/// `shared`; anything else, or none, is a human's account.
fn kind(doc: &Map<String, Value>) -> AccountKind {
    let user_type = text(doc, "userType")
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace([' ', '_', '-'], "");
    match user_type.as_str() {
        "service" | "serviceaccount" | "technical" => AccountKind::Service,
        "shared" | "sharedaccount" => AccountKind::Shared,
        _ => AccountKind::Human,
    }
}

/// The account a User document describes. The person is the one the
/// correlation rules find (email, `userName` as login, the enterprise
/// `employeeNumber`); when none is found a previous link stays, so that
/// removing an email (or a redaction after an erasure) does not orphan it.
pub fn account(
    system: &SystemId,
    id: &AccountId,
    doc: &Map<String, Value>,
    existing: Option<&Account>,
    correlator: &Correlator,
) -> Account {
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(true);
    let employee_id = doc
        .get(ENTERPRISE_SCHEMA)
        .and_then(|e| e.get("employeeNumber"))
        .and_then(Value::as_str);
    let attributes = AccountAttributes {
        account_id: id.as_str(),
        email: email(doc),
        login: text(doc, "userName"),
        employee_id,
    };
    let person = correlator
        .correlate(system, None, &attributes)
        .or_else(|| existing.and_then(|a| a.person_id.clone()));
    Account {
        system_id: system.clone(),
        account_id: id.clone(),
        person_id: person,
        kind: kind(doc),
        status: if active {
            AccountStatus::Active
        } else {
            AccountStatus::Disabled
        },
        last_login: existing.and_then(|a| a.last_login),
        mfa: existing.and_then(|a| a.mfa),
        owner_id: existing.and_then(|a| a.owner_id.clone()),
        credential_rotated_at: existing.and_then(|a| a.credential_rotated_at),
    }
}

pub async fn correlator(tx: &mut WriteTx, rules: &Rules) -> Result<Correlator, ScimError> {
    let people = tx.people().await?;
    Ok(Correlator::new(&people, rules.clone()))
}

/// Records the account: `account.added`, or `account.changed` naming the
/// fields that differ; nothing when it is unchanged. True when it recorded.
pub async fn put_account(
    tx: &mut WriteTx,
    actor: &Principal,
    existing: Option<&Account>,
    account: Account,
) -> Result<bool, ScimError> {
    let event = match existing {
        None => Event::AccountAdded(AccountFact {
            origin: origin(),
            changed: None,
            account,
        }),
        Some(old) => {
            let mut changed = Vec::new();
            if old.person_id != account.person_id {
                changed.push("person_id".to_owned());
            }
            if old.kind != account.kind {
                changed.push("kind".to_owned());
            }
            if old.status != account.status {
                changed.push("status".to_owned());
            }
            if changed.is_empty() {
                return Ok(false);
            }
            Event::AccountChanged(AccountFact {
                origin: origin(),
                changed: Some(changed),
                account,
            })
        }
    };
    tx.append(actor, &event).await?;
    Ok(true)
}

/// Records the entitlement of a Group named `name`; true when it recorded.
pub async fn put_entitlement(
    tx: &mut WriteTx,
    actor: &Principal,
    system: &SystemId,
    id: &EntitlementId,
    name: &str,
) -> Result<bool, ScimError> {
    let existing = tx.entitlement(system, id).await?;
    let event = match existing {
        None => Event::EntitlementAdded(EntitlementFact {
            origin: origin(),
            changed: None,
            entitlement: Entitlement {
                system_id: system.clone(),
                entitlement_id: id.clone(),
                name: Some(name.to_owned()),
                privileged: false,
                owner_id: None,
                description: None,
            },
        }),
        Some(old) if old.name.as_deref() == Some(name) => return Ok(false),
        Some(old) => Event::EntitlementChanged(EntitlementFact {
            origin: origin(),
            changed: Some(vec!["name".to_owned()]),
            entitlement: Entitlement {
                name: Some(name.to_owned()),
                ..old
            },
        }),
    };
    tx.append(actor, &event).await?;
    Ok(true)
}

async fn remove_grant(tx: &mut WriteTx, actor: &Principal, grant: Grant) -> Result<(), ScimError> {
    let event = Event::GrantRemoved(GrantFact {
        origin: origin(),
        changed: None,
        grant,
    });
    tx.append(actor, &event).await?;
    Ok(())
}

/// One more version of a document whose representation changed because a
/// membership did (a User's `groups`, a Group's `members`).
pub async fn touch(
    tx: &mut WriteTx,
    system: &SystemId,
    resource_type: &str,
    id: &str,
) -> Result<(), ScimError> {
    if let Some(mut doc) = tx.scim_document(system, resource_type, id).await? {
        doc.version += 1;
        doc.last_modified = tx.now();
        tx.put_scim_document(&doc).await?;
    }
    Ok(())
}

/// Makes the entitlement's members exactly `members` (User ids): a
/// `grant.added` for each new one, a `grant.removed` for each gone one.
/// Every member must be a User of the system. True when anything changed.
pub async fn set_members(
    tx: &mut WriteTx,
    actor: &Principal,
    system: &SystemId,
    entitlement: &EntitlementId,
    members: &BTreeSet<String>,
) -> Result<bool, ScimError> {
    let current = tx
        .scim_grants(system, GrantsOf::Entitlement(entitlement))
        .await?;
    let held: BTreeSet<String> = current.iter().map(|g| g.account_id.to_string()).collect();
    for member in members.difference(&held) {
        let account = AccountId::parse(member.as_str()).ok();
        let known = match &account {
            Some(id) => {
                tx.scim_document(system, USER, member).await?.is_some()
                    && tx.account(system, id).await?.is_some()
            }
            None => false,
        };
        let Some(account_id) = account.filter(|_| known) else {
            return Err(ScimError::InvalidValue(format!(
                "member '{member}' is not a User of this system (members are User ids)"
            )));
        };
        let event = Event::GrantAdded(GrantFact {
            origin: origin(),
            changed: None,
            grant: Grant {
                system_id: system.clone(),
                account_id,
                entitlement_id: entitlement.clone(),
                granted_at: Some(tx.now()),
                source: GrantSource::Direct,
            },
        });
        tx.append(actor, &event).await?;
        touch(tx, system, USER, member).await?;
    }
    let mut changed = members.difference(&held).next().is_some();
    for grant in current {
        if !members.contains(grant.account_id.as_str()) {
            let member = grant.account_id.to_string();
            remove_grant(tx, actor, grant).await?;
            touch(tx, system, USER, &member).await?;
            changed = true;
        }
    }
    Ok(changed)
}

/// A leaver: the account's grants removed, then the account.
pub async fn remove_account(
    tx: &mut WriteTx,
    actor: &Principal,
    system: &SystemId,
    id: &AccountId,
) -> Result<(), ScimError> {
    for grant in tx.scim_grants(system, GrantsOf::Account(id)).await? {
        let group = grant.entitlement_id.to_string();
        remove_grant(tx, actor, grant).await?;
        touch(tx, system, GROUP, &group).await?;
    }
    if let Some(account) = tx.account(system, id).await? {
        let event = Event::AccountRemoved(AccountFact {
            origin: origin(),
            changed: None,
            account,
        });
        tx.append(actor, &event).await?;
    }
    Ok(())
}

/// A deleted Group: its grants removed, then the entitlement.
pub async fn remove_entitlement(
    tx: &mut WriteTx,
    actor: &Principal,
    system: &SystemId,
    id: &EntitlementId,
) -> Result<(), ScimError> {
    for grant in tx.scim_grants(system, GrantsOf::Entitlement(id)).await? {
        let member = grant.account_id.to_string();
        remove_grant(tx, actor, grant).await?;
        touch(tx, system, USER, &member).await?;
    }
    if let Some(entitlement) = tx.entitlement(system, id).await? {
        let event = Event::EntitlementRemoved(EntitlementFact {
            origin: origin(),
            changed: None,
            entitlement,
        });
        tx.append(actor, &event).await?;
    }
    Ok(())
}
