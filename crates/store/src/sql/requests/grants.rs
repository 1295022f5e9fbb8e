//! Time-bound access grants and delegations: what an approved request
//! started, and whose decisions another approver may take for a while.

use super::*;

pub const GRANT_COLUMNS: [&str; 10] = [
    "grant_id",
    "request_id",
    "person_id",
    "system_id",
    "account_id",
    "entitlement_id",
    "starts_at",
    "ends_at",
    "ended_at",
    "end_kind",
];

pub const DELEGATION_COLUMNS: [&str; 9] = [
    "delegation_id",
    "delegator_id",
    "delegate_id",
    "starts_at",
    "ends_at",
    "reason",
    "created_at",
    "created_by",
    "revoked_at",
];

pub fn bind_grant<'q>(q: Query<'q>, g: &'q AccessGrantRow) -> Query<'q> {
    q.bind(g.grant_id.as_str())
        .bind(g.request_id.as_str())
        .bind(g.person_id.as_str())
        .bind(g.system_id.as_str())
        .bind(g.account_id.as_str())
        .bind(g.entitlement_id.as_str())
        .bind(g.starts_at.to_canonical())
        .bind(g.ends_at.to_canonical())
        .bind(ts(&g.ended_at))
        .bind(g.end.map(AccessEnd::as_str))
}

pub fn bind_delegation<'q>(q: Query<'q>, d: &'q DelegationRow) -> Query<'q> {
    q.bind(d.delegation_id.as_str())
        .bind(d.delegator_id.as_str())
        .bind(d.delegate_id.as_str())
        .bind(d.starts_at.to_canonical())
        .bind(d.ends_at.to_canonical())
        .bind(d.reason.as_str())
        .bind(d.created_at.to_canonical())
        .bind(d.created_by.as_str())
        .bind(ts(&d.revoked_at))
}

pub async fn end_grant(
    conn: &mut Conn,
    id: &AccessGrantId,
    at: Timestamp,
    end: AccessEnd,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE access_grants SET ended_at = $1, end_kind = $2 WHERE grant_id = $3")
            .bind(at.to_canonical())
            .bind(end.as_str())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    must_hit(done.rows_affected(), "time-bound grant", id.as_str())
}

pub async fn revoke_delegation(conn: &mut Conn, id: &DelegationId, at: Timestamp) -> Result<()> {
    let done = sqlx::query("UPDATE delegations SET revoked_at = $1 WHERE delegation_id = $2")
        .bind(at.to_canonical())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    must_hit(done.rows_affected(), "delegation", id.as_str())
}

fn grant(row: &DbRow) -> Result<AccessGrantRow> {
    const T: &str = "access_grants";
    let id = text(row, "grant_id")?;
    let end = match text_opt(row, "end_kind")?.as_deref() {
        None => None,
        Some("expired") => Some(AccessEnd::Expired),
        Some("revoked") => Some(AccessEnd::Revoked),
        Some(other) => {
            return Err(StoreError::Invalid(format!(
                "access_grants row '{id}' has end '{other}'"
            )));
        }
    };
    Ok(AccessGrantRow {
        request_id: parse(T, &id, RequestId::parse(text(row, "request_id")?))?,
        person_id: parse(T, &id, person_id(&text(row, "person_id")?))?,
        system_id: parse(T, &id, SystemId::parse(text(row, "system_id")?))?,
        account_id: parse(T, &id, AccountId::parse(text(row, "account_id")?))?,
        entitlement_id: parse(T, &id, EntitlementId::parse(text(row, "entitlement_id")?))?,
        starts_at: parse(T, &id, Timestamp::parse(&text(row, "starts_at")?))?,
        ends_at: parse(T, &id, Timestamp::parse(&text(row, "ends_at")?))?,
        ended_at: opt(T, &id, text_opt(row, "ended_at")?, Timestamp::parse)?,
        end,
        grant_id: parse(T, &id, AccessGrantId::parse(id.as_str()))?,
    })
}

fn delegation(row: &DbRow) -> Result<DelegationRow> {
    const T: &str = "delegations";
    let id = text(row, "delegation_id")?;
    Ok(DelegationRow {
        delegator_id: parse(T, &id, person_id(&text(row, "delegator_id")?))?,
        delegate_id: parse(T, &id, person_id(&text(row, "delegate_id")?))?,
        starts_at: parse(T, &id, Timestamp::parse(&text(row, "starts_at")?))?,
        ends_at: parse(T, &id, Timestamp::parse(&text(row, "ends_at")?))?,
        reason: text(row, "reason")?,
        created_at: parse(T, &id, Timestamp::parse(&text(row, "created_at")?))?,
        created_by: text(row, "created_by")?,
        revoked_at: opt(T, &id, text_opt(row, "revoked_at")?, Timestamp::parse)?,
        delegation_id: parse(T, &id, DelegationId::parse(id.as_str()))?,
    })
}

/// Time-bound grants: all, or those of one request, or those still open
/// whose end is before `due_before`.
pub async fn access_grants(
    conn: &mut Conn,
    request_id: Option<&RequestId>,
    open_due_before: Option<Timestamp>,
) -> Result<Vec<AccessGrantRow>> {
    let filter = match (request_id.is_some(), open_due_before.is_some()) {
        (true, true) => "WHERE request_id = $1 AND ended_at IS NULL AND ends_at <= $2",
        (true, false) => "WHERE request_id = $1",
        (false, true) => "WHERE ended_at IS NULL AND ends_at <= $1",
        (false, false) => "",
    };
    let sql = format!(
        "SELECT {} FROM access_grants {filter} ORDER BY starts_at, grant_id",
        GRANT_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(id) = request_id {
        q = q.bind(id.as_str());
    }
    if let Some(t) = open_due_before {
        q = q.bind(t.to_canonical());
    }
    q.fetch_all(&mut *conn).await?.iter().map(grant).collect()
}

pub async fn delegations(conn: &mut Conn) -> Result<Vec<DelegationRow>> {
    let sql = format!(
        "SELECT {} FROM delegations ORDER BY created_at, delegation_id",
        DELEGATION_COLUMNS.join(", ")
    );
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(delegation)
        .collect()
}
