//! The `scim_resources` table (operational: SCIM documents, never replayed)
//! and the narrow state reads the SCIM service provider needs inside its
//! write transaction (one system's accounts, entitlements and grants).

use super::Conn;
use super::rows::{opt, parse, person_id};
use crate::error::{Result, StoreError};
use crate::scim::{GrantsOf, ScimDocument};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, SystemId};
use soxctl_model::inventory::{Account, Entitlement, Grant, GrantSource};
use soxctl_model::time::Timestamp;
use std::str::FromStr;

type DocTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    String,
);

const DOC_COLUMNS: &str = "system_id, resource_type, scim_id, unique_name, external_id, person_id, document, version, created, last_modified";

fn document(t: DocTuple) -> Result<ScimDocument> {
    let (system, kind, id, unique_name, external_id, person, doc, version, created, modified) = t;
    const T: &str = "scim_resources";
    let key = format!("{system}/{kind}/{id}");
    Ok(ScimDocument {
        system_id: parse(T, &key, SystemId::parse(system))?,
        resource_type: kind,
        scim_id: id,
        unique_name,
        external_id,
        person_id: opt(T, &key, person, person_id)?,
        document: parse(T, &key, serde_json::from_str(&doc))?,
        version: parse(T, &key, u64::try_from(version))?,
        created: parse(T, &key, Timestamp::parse(&created))?,
        last_modified: parse(T, &key, Timestamp::parse(&modified))?,
    })
}

pub async fn documents(
    conn: &mut Conn,
    system: &SystemId,
    resource_type: &str,
) -> Result<Vec<ScimDocument>> {
    let rows: Vec<DocTuple> = sqlx::query_as(&format!(
        "SELECT {DOC_COLUMNS} FROM scim_resources WHERE system_id = $1 AND resource_type = $2
         ORDER BY created, scim_id"
    ))
    .bind(system.as_str())
    .bind(resource_type)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(document).collect()
}

pub async fn document_by_id(
    conn: &mut Conn,
    system: &SystemId,
    resource_type: &str,
    id: &str,
) -> Result<Option<ScimDocument>> {
    let row: Option<DocTuple> = sqlx::query_as(&format!(
        "SELECT {DOC_COLUMNS} FROM scim_resources WHERE system_id = $1 AND resource_type = $2 AND scim_id = $3"
    ))
    .bind(system.as_str())
    .bind(resource_type)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(document).transpose()
}

pub async fn id_by_unique_name(
    conn: &mut Conn,
    system: &SystemId,
    resource_type: &str,
    unique_name: &str,
) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT scim_id FROM scim_resources WHERE system_id = $1 AND resource_type = $2 AND unique_name = $3",
    )
    .bind(system.as_str())
    .bind(resource_type)
    .bind(unique_name)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

pub async fn documents_of_person(conn: &mut Conn, person: &PersonId) -> Result<Vec<ScimDocument>> {
    let rows: Vec<DocTuple> = sqlx::query_as(&format!(
        "SELECT {DOC_COLUMNS} FROM scim_resources WHERE person_id = $1 ORDER BY system_id, scim_id"
    ))
    .bind(person.as_str())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(document).collect()
}

pub async fn put(conn: &mut Conn, doc: &ScimDocument) -> Result<()> {
    let text = serde_json::to_string(&doc.document)
        .map_err(|e| StoreError::Invalid(format!("SCIM document: {e}")))?;
    let version = i64::try_from(doc.version)
        .map_err(|_| StoreError::Invalid(format!("SCIM version {} out of range", doc.version)))?;
    sqlx::query(&format!(
        "INSERT INTO scim_resources ({DOC_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (system_id, resource_type, scim_id) DO UPDATE SET
           unique_name = excluded.unique_name, external_id = excluded.external_id,
           person_id = excluded.person_id, document = excluded.document, version = excluded.version,
           last_modified = excluded.last_modified"
    ))
    .bind(doc.system_id.as_str())
    .bind(&doc.resource_type)
    .bind(&doc.scim_id)
    .bind(&doc.unique_name)
    .bind(&doc.external_id)
    .bind(doc.person_id.as_ref().map(PersonId::as_str))
    .bind(text)
    .bind(version)
    .bind(doc.created.to_canonical())
    .bind(doc.last_modified.to_canonical())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(
    conn: &mut Conn,
    system: &SystemId,
    resource_type: &str,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM scim_resources WHERE system_id = $1 AND resource_type = $2 AND scim_id = $3",
    )
    .bind(system.as_str())
    .bind(resource_type)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

type AccountTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
);

pub async fn account(
    conn: &mut Conn,
    system: &SystemId,
    id: &AccountId,
) -> Result<Option<Account>> {
    let row: Option<AccountTuple> = sqlx::query_as(
        "SELECT system_id, account_id, person_id, kind, status, last_login, mfa, owner_id, credential_rotated_at
         FROM accounts WHERE system_id = $1 AND account_id = $2",
    )
    .bind(system.as_str())
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(
        |(s, a, person, kind, status, last_login, mfa, owner, rotated)| {
            const T: &str = "accounts";
            let key = format!("{s}/{a}");
            Ok(Account {
                system_id: parse(T, &key, SystemId::parse(s))?,
                account_id: parse(T, &key, AccountId::parse(a))?,
                person_id: opt(T, &key, person, person_id)?,
                kind: parse(T, &key, kind.parse())?,
                status: parse(T, &key, status.parse())?,
                last_login: opt(T, &key, last_login, Timestamp::parse)?,
                mfa,
                owner_id: opt(T, &key, owner, person_id)?,
                credential_rotated_at: opt(T, &key, rotated, Timestamp::parse)?,
            })
        },
    )
    .transpose()
}

type EntitlementTuple = (
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);

pub async fn entitlement(
    conn: &mut Conn,
    system: &SystemId,
    id: &EntitlementId,
) -> Result<Option<Entitlement>> {
    let row: Option<EntitlementTuple> =
        sqlx::query_as(
            "SELECT system_id, entitlement_id, name, privileged, owner_id, description FROM entitlements
             WHERE system_id = $1 AND entitlement_id = $2",
        )
        .bind(system.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|(s, e, name, privileged, owner, description)| {
        const T: &str = "entitlements";
        let key = format!("{s}:{e}");
        Ok(Entitlement {
            system_id: parse(T, &key, SystemId::parse(s))?,
            entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
            name,
            privileged,
            owner_id: opt(T, &key, owner, person_id)?,
            description,
        })
    })
    .transpose()
}

pub async fn grants(conn: &mut Conn, system: &SystemId, of: GrantsOf<'_>) -> Result<Vec<Grant>> {
    let (clause, value) = match of {
        GrantsOf::System => ("", None),
        GrantsOf::Account(a) => (" AND account_id = $2", Some(a.as_str())),
        GrantsOf::Entitlement(e) => (" AND entitlement_id = $2", Some(e.as_str())),
    };
    let sql = format!(
        "SELECT system_id, account_id, entitlement_id, granted_at, source FROM grants
         WHERE system_id = $1{clause} ORDER BY account_id, entitlement_id"
    );
    let mut query = sqlx::query_as(&sql).bind(system.as_str());
    if let Some(value) = value {
        query = query.bind(value);
    }
    let rows: Vec<(String, String, String, Option<String>, String)> = query.fetch_all(conn).await?;
    rows.into_iter()
        .map(|(s, a, e, granted_at, source)| {
            const T: &str = "grants";
            let key = format!("{s}/{a}/{e}");
            Ok(Grant {
                system_id: parse(T, &key, SystemId::parse(s))?,
                account_id: parse(T, &key, AccountId::parse(a))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
                granted_at: opt(T, &key, granted_at, Timestamp::parse)?,
                source: parse(T, &key, GrantSource::from_str(&source))?,
            })
        })
        .collect()
}

pub async fn system_exists(conn: &mut Conn, system: &SystemId) -> Result<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT system_id FROM systems WHERE system_id = $1")
            .bind(system.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}

pub async fn baselined(conn: &mut Conn, system: &SystemId) -> Result<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT system_id FROM baselines WHERE system_id = $1")
            .bind(system.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(row.is_some())
}
