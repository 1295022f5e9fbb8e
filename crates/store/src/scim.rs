//! What the SCIM service provider keeps besides the ledger: the SCIM
//! documents of the Users and Groups a client pushed (`scim_resources`, an
//! operational table `verify` does not replay), and the narrow reads of one
//! system's accounts, entitlements and grants it needs inside a write
//! transaction. Every change of access is still a ledger event appended with
//! [`WriteTx::append`]; a document is written in the same transaction.
//!
//! Documents hold personal data (names, emails, phone numbers); the ledger
//! never does. Erasing a person ([`crate::erasure::erase_person`]) redacts the
//! documents correlated to them.

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, SystemId};
use soxctl_model::inventory::{Account, Entitlement, Person};
use soxctl_model::time::Timestamp;

/// The `resource_type` of SCIM Users.
pub const USER: &str = "User";
/// The `resource_type` of SCIM Groups.
pub const GROUP: &str = "Group";

/// One SCIM resource as stored: its client-written attributes (without
/// `id`, `meta`, `groups`, `members` and `password`, which are derived or
/// never kept) and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimDocument {
    pub system_id: SystemId,
    /// [`USER`] or [`GROUP`].
    pub resource_type: String,
    /// The SCIM `id`: the account id of a User, the entitlement id of a Group.
    pub scim_id: String,
    /// Lower-cased `userName` (Users) or `displayName` (Groups): unique per
    /// system and resource type.
    pub unique_name: String,
    pub external_id: Option<String>,
    /// The person a User's account is correlated to.
    pub person_id: Option<PersonId>,
    pub document: serde_json::Value,
    /// `meta.version`: 1 when created, one more with every change.
    pub version: u64,
    pub created: Timestamp,
    pub last_modified: Timestamp,
}

/// Which grants of a system to read.
#[derive(Debug, Clone, Copy)]
pub enum GrantsOf<'a> {
    /// Every grant of the system.
    System,
    Account(&'a AccountId),
    Entitlement(&'a EntitlementId),
}

impl Store {
    /// The documents of one resource type of a system, oldest first.
    pub async fn scim_documents(
        &self,
        system: &SystemId,
        resource_type: &str,
    ) -> Result<Vec<ScimDocument>> {
        with_conn!(self, |conn, m| m::scim::documents(
            conn,
            system,
            resource_type
        )
        .await)
    }
}

impl WriteTx {
    /// The id of the resource whose unique name is `unique_name`, if any.
    pub async fn scim_id_by_unique_name(
        &mut self,
        system: &SystemId,
        resource_type: &str,
        unique_name: &str,
    ) -> Result<Option<String>> {
        each!(self, WriteTx, |tx, m| m::scim::id_by_unique_name(
            tx.conn().await?,
            system,
            resource_type,
            unique_name
        )
        .await)
    }

    /// Inserts or replaces a document (operational data, not state: the
    /// caller appends the events of any access change in this transaction).
    pub async fn put_scim_document(&mut self, doc: &ScimDocument) -> Result<()> {
        each!(self, WriteTx, |tx, m| m::scim::put(tx.conn().await?, doc)
            .await)
    }

    /// Deletes a document; false when there was none.
    pub async fn delete_scim_document(
        &mut self,
        system: &SystemId,
        resource_type: &str,
        id: &str,
    ) -> Result<bool> {
        each!(self, WriteTx, |tx, m| m::scim::delete(
            tx.conn().await?,
            system,
            resource_type,
            id
        )
        .await)
    }

    pub async fn scim_documents_of_person(
        &mut self,
        person: &PersonId,
    ) -> Result<Vec<ScimDocument>> {
        each!(self, WriteTx, |tx, m| m::scim::documents_of_person(
            tx.conn().await?,
            person
        )
        .await)
    }

    /// The `accounts` row, as of this transaction.
    pub async fn account(&mut self, system: &SystemId, id: &AccountId) -> Result<Option<Account>> {
        each!(self, WriteTx, |tx, m| m::scim::account(
            tx.conn().await?,
            system,
            id
        )
        .await)
    }

    /// The `entitlements` row, as of this transaction.
    pub async fn entitlement(
        &mut self,
        system: &SystemId,
        id: &EntitlementId,
    ) -> Result<Option<Entitlement>> {
        each!(self, WriteTx, |tx, m| m::scim::entitlement(
            tx.conn().await?,
            system,
            id
        )
        .await)
    }

    pub async fn system_exists(&mut self, system: &SystemId) -> Result<bool> {
        each!(self, WriteTx, |tx, m| m::scim::system_exists(
            tx.conn().await?,
            system
        )
        .await)
    }

    pub async fn system_baselined(&mut self, system: &SystemId) -> Result<bool> {
        each!(self, WriteTx, |tx, m| m::scim::baselined(
            tx.conn().await?,
            system
        )
        .await)
    }

    /// Every person (for correlation), as of this transaction.
    pub async fn people(&mut self) -> Result<Vec<Person>> {
        each!(self, WriteTx, |tx, m| {
            let rows = m::rows::people(tx.conn().await?).await?;
            Ok(rows.into_iter().map(|r| r.person).collect())
        })
    }
}

/// Strips the personal attributes from the SCIM documents correlated to an
/// erased person, in the erasure's transaction: what stays is the resource's
/// `id` (also its `userName` now), its `schemas` and `active`, so the SCIM
/// client can still disable or delete the account. Returns how many
/// documents were redacted.
pub(crate) async fn redact_person(tx: &mut WriteTx, person: &PersonId) -> Result<u64> {
    let documents = tx.scim_documents_of_person(person).await?;
    let mut redacted = 0;
    for mut doc in documents {
        let mut kept = serde_json::Map::new();
        for key in ["schemas", "active"] {
            if let Some(value) = doc.document.get(key) {
                kept.insert(key.to_owned(), value.clone());
            }
        }
        kept.insert(
            "userName".to_owned(),
            serde_json::Value::String(doc.scim_id.clone()),
        );
        doc.document = serde_json::Value::Object(kept);
        doc.unique_name = doc.scim_id.to_lowercase();
        doc.external_id = None;
        doc.version += 1;
        doc.last_modified = tx.now();
        tx.put_scim_document(&doc).await?;
        redacted += 1;
    }
    Ok(redacted)
}
