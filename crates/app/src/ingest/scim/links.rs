//! Memberships as each side sees the other: the groups of a User, the
//! members of a Group. One read, for the store and for a write in progress.

use super::{Kind, ScimError, account_id, entitlement_id};
use soxctl_model::ids::SystemId;
use soxctl_model::inventory::Grant;
use soxctl_store::scim::{GROUP, GrantsOf, ScimDocument};
use soxctl_store::{Store, StoreError, WriteTx};

/// A membership as one side sees the other: its id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub display: Option<String>,
}

/// A Group's `displayName`.
pub fn display_name(doc: &ScimDocument) -> Option<String> {
    doc.document
        .get("displayName")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Where memberships are read: the store, or the write in progress (which
/// sees its own writes).
pub trait ScimReads {
    fn scim_grants(
        &mut self,
        system: &SystemId,
        of: GrantsOf<'_>,
    ) -> impl Future<Output = Result<Vec<Grant>, StoreError>> + Send;

    fn scim_document(
        &mut self,
        system: &SystemId,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<ScimDocument>, StoreError>> + Send;
}

impl ScimReads for &Store {
    async fn scim_grants(
        &mut self,
        system: &SystemId,
        of: GrantsOf<'_>,
    ) -> Result<Vec<Grant>, StoreError> {
        Store::scim_grants(self, system, of).await
    }

    async fn scim_document(
        &mut self,
        system: &SystemId,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<ScimDocument>, StoreError> {
        Store::scim_document(self, system, resource_type, id).await
    }
}

impl ScimReads for WriteTx {
    async fn scim_grants(
        &mut self,
        system: &SystemId,
        of: GrantsOf<'_>,
    ) -> Result<Vec<Grant>, StoreError> {
        WriteTx::scim_grants(self, system, of).await
    }

    async fn scim_document(
        &mut self,
        system: &SystemId,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<ScimDocument>, StoreError> {
        WriteTx::scim_document(self, system, resource_type, id).await
    }
}

/// The memberships of one resource: a User's groups (with their display
/// names), a Group's members.
pub async fn links(
    reads: &mut impl ScimReads,
    kind: Kind,
    system: &SystemId,
    id: &str,
) -> Result<Vec<Link>, ScimError> {
    let mut links = Vec::new();
    match kind {
        Kind::User => {
            let account = account_id(id)?;
            for grant in reads
                .scim_grants(system, GrantsOf::Account(&account))
                .await?
            {
                let group = grant.entitlement_id.to_string();
                let display = reads
                    .scim_document(system, GROUP, &group)
                    .await?
                    .as_ref()
                    .and_then(display_name);
                links.push(Link { id: group, display });
            }
        }
        Kind::Group => {
            let entitlement = entitlement_id(id)?;
            for grant in reads
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
