//! The `sod_mitigations` table.

use super::Conn;
use super::rows::{Query, opt, parse, person_id};
use crate::error::{Result, StoreError};
use soxctl_model::mitigation::MitigationRow;
use soxctl_model::time::Timestamp;

pub const COLUMNS: [&str; 11] = [
    "mitigation_id",
    "risk_id",
    "identity",
    "control",
    "owner_id",
    "approver_id",
    "reason",
    "expires_at",
    "granted_at",
    "granted_by",
    "revoked_at",
];

pub fn bind<'q>(q: Query<'q>, m: &'q MitigationRow) -> Query<'q> {
    q.bind(m.mitigation_id.as_str())
        .bind(m.risk_id.as_str())
        .bind(m.identity.as_str())
        .bind(m.control.as_str())
        .bind(m.owner_id.as_str())
        .bind(m.approver_id.as_str())
        .bind(m.reason.as_str())
        .bind(m.expires_at.to_canonical())
        .bind(m.granted_at.to_canonical())
        .bind(m.granted_by.as_str())
        .bind(m.revoked_at.map(|t| t.to_canonical()))
}

pub async fn revoke(conn: &mut Conn, id: &str, at: Timestamp) -> Result<()> {
    let done = sqlx::query("UPDATE sod_mitigations SET revoked_at = $1 WHERE mitigation_id = $2")
        .bind(at.to_canonical())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Invalid(format!(
            "sod.mitigation.revoked names mitigation '{id}', which was never granted"
        )));
    }
    Ok(())
}

type MitigationTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

fn row(t: MitigationTuple) -> Result<MitigationRow> {
    let (id, risk, identity, control, owner, approver, reason, expires, granted, by, revoked) = t;
    const T: &str = "sod_mitigations";
    Ok(MitigationRow {
        risk_id: risk,
        identity,
        control,
        owner_id: parse(T, &id, person_id(&owner))?,
        approver_id: parse(T, &id, person_id(&approver))?,
        reason,
        expires_at: parse(T, &id, Timestamp::parse(&expires))?,
        granted_at: parse(T, &id, Timestamp::parse(&granted))?,
        granted_by: by,
        revoked_at: opt(T, &id, revoked, Timestamp::parse)?,
        mitigation_id: id,
    })
}

pub async fn all(conn: &mut Conn) -> Result<Vec<MitigationRow>> {
    let rows: Vec<MitigationTuple> = sqlx::query_as(&format!(
        "SELECT {} FROM sod_mitigations ORDER BY mitigation_id",
        COLUMNS.join(", ")
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(row).collect()
}
