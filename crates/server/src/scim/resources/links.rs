//! Memberships: the groups of a User, the members of a Group.

#![allow(unused_imports)]
use super::*;

pub(super) fn display_name(doc: &ScimDocument) -> Option<String> {
    doc.document
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Memberships of one resource, read through a write transaction.
pub(super) async fn links_in(
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
pub(super) async fn links_of(
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
