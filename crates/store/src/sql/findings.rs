//! The `findings` table: binding rows, status updates, and listings.

use super::Conn;
use super::rows::{Query, opt, parse, person_id, ts};
use crate::error::{Result, StoreError};
use soxctl_model::finding::{Detail, FindingRow, FindingStatus, FindingUpdate, Severity};
use soxctl_model::ids::{FindingId, PersonId};
use soxctl_model::time::{Date, Timestamp};

pub const COLUMNS: [&str; 15] = [
    "finding_id",
    "kind",
    "subject",
    "severity",
    "control_ids",
    "status",
    "first_seen",
    "opened_at",
    "resolved_at",
    "owner_id",
    "due",
    "summary",
    "detail",
    "resolution",
    "accepted_until",
];

/// Detail as JSON text: a map of strings, so its text is deterministic.
fn detail_text(detail: &Detail) -> String {
    serde_json::to_string(detail).unwrap_or_else(|_| "{}".to_owned())
}

pub fn bind<'q>(q: Query<'q>, f: &'q FindingRow) -> Query<'q> {
    q.bind(f.finding_id.as_str())
        .bind(f.kind.as_str())
        .bind(f.subject.as_str())
        .bind(f.severity.as_str())
        .bind(f.control_ids.join(","))
        .bind(f.status.as_str())
        .bind(f.first_seen.to_canonical())
        .bind(f.opened_at.to_canonical())
        .bind(ts(&f.resolved_at))
        .bind(f.owner_id.as_ref().map(PersonId::as_str))
        .bind(f.due.map(|d| d.to_string()))
        .bind(f.summary.as_str())
        .bind(detail_text(&f.detail))
        .bind(f.resolution.as_deref())
        .bind(ts(&f.accepted_until))
}

/// Applies a status event; the finding must exist, as on replay.
pub async fn update(conn: &mut Conn, id: &FindingId, update: &FindingUpdate) -> Result<()> {
    let done = match update {
        FindingUpdate::Resolved { at, reason } => sqlx::query(
            "UPDATE findings SET status = 'resolved', resolved_at = $1, resolution = $2, accepted_until = NULL WHERE finding_id = $3",
        )
        .bind(at.to_canonical())
        .bind(reason.as_str())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?,
        FindingUpdate::Accepted { reason, until } => sqlx::query(
            "UPDATE findings SET status = 'accepted', resolution = $1, accepted_until = $2 WHERE finding_id = $3",
        )
        .bind(reason.as_str())
        .bind(ts(until))
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?,
        FindingUpdate::Assigned { owner_id, due } => {
            sqlx::query("UPDATE findings SET owner_id = $1, due = $2 WHERE finding_id = $3")
                .bind(owner_id.as_ref().map(PersonId::as_str))
                .bind(due.map(|d| d.to_string()))
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?
        }
    };
    if done.rows_affected() != 1 {
        return Err(StoreError::Invalid(format!(
            "a finding event names finding '{id}', which was never opened"
        )));
    }
    Ok(())
}

type FindingTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn row(t: FindingTuple) -> Result<FindingRow> {
    let (id, kind, subject, severity, controls, status, first, opened, resolved, owner, due) =
        (t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7, t.8, t.9, t.10);
    let (summary, detail, resolution, until) = (t.11, t.12, t.13, t.14);
    const T: &str = "findings";
    Ok(FindingRow {
        kind,
        subject,
        severity: parse(T, &id, severity.parse::<Severity>())?,
        control_ids: controls
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        status: parse(T, &id, status.parse::<FindingStatus>())?,
        first_seen: parse(T, &id, Timestamp::parse(&first))?,
        opened_at: parse(T, &id, Timestamp::parse(&opened))?,
        resolved_at: opt(T, &id, resolved, Timestamp::parse)?,
        owner_id: opt(T, &id, owner, person_id)?,
        due: opt(T, &id, due, Date::parse)?,
        summary,
        detail: parse(T, &id, serde_json::from_str(&detail))?,
        resolution,
        accepted_until: opt(T, &id, until, Timestamp::parse)?,
        finding_id: parse(T, &id, FindingId::parse(id.as_str()))?,
    })
}

fn select() -> String {
    format!("SELECT {} FROM findings", COLUMNS.join(", "))
}

pub async fn all(conn: &mut Conn) -> Result<Vec<FindingRow>> {
    let rows: Vec<FindingTuple> = sqlx::query_as(&format!("{} ORDER BY finding_id", select()))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(row).collect()
}

/// The finding `id`, in any status.
pub async fn one(conn: &mut Conn, id: &FindingId) -> Result<Option<FindingRow>> {
    let found: Option<FindingTuple> =
        sqlx::query_as(&format!("{} WHERE finding_id = $1", select()))
            .bind(id.as_str())
            .fetch_optional(conn)
            .await?;
    found.map(row).transpose()
}

/// Findings of the given kinds, in any status.
pub async fn of_kinds(conn: &mut Conn, kinds: &[&str]) -> Result<Vec<FindingRow>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{} WHERE kind IN {} ORDER BY finding_id",
        select(),
        super::rows::placeholders(1, kinds.len())
    );
    let mut query = sqlx::query_as::<_, FindingTuple>(&sql);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(row).collect()
}

pub async fn list(conn: &mut Conn, filter: &crate::findings::Filter) -> Result<Vec<FindingRow>> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(kind) = &filter.kind {
        binds.push(kind.clone());
        clauses.push(format!("kind = ${}", binds.len()));
    }
    if let Some(status) = filter.status {
        binds.push(status.as_str().to_owned());
        clauses.push(format!("status = ${}", binds.len()));
    }
    if let Some(prefix) = &filter.subject_prefix {
        binds.push(prefix.clone());
        clauses.push(format!(
            "substr(subject, 1, length(${n})) = ${n}",
            n = binds.len()
        ));
    }
    let sql = format!(
        "{}{} ORDER BY first_seen, finding_id",
        select(),
        if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        }
    );
    let mut query = sqlx::query_as::<_, FindingTuple>(&sql);
    for b in &binds {
        query = query.bind(b.as_str());
    }
    let rows = query.fetch_all(conn).await?;
    let mut found: Vec<FindingRow> = rows.into_iter().map(row).collect::<Result<_>>()?;
    if let Some(min) = filter.min_severity {
        found.retain(|f| f.severity >= min);
    }
    Ok(found)
}

/// The grants of baselined systems whose current interval their system's
/// baseline import did not open (see `hygiene::Facts::unbaselined`).
///
/// Asked of the database rather than read as every open interval's import:
/// a first import of a million grants returns none of them.
pub async fn unbaselined_grants(
    conn: &mut Conn,
) -> Result<std::collections::HashSet<soxctl_model::inventory::GrantKey>> {
    use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT g.system_id, g.account_id, g.entitlement_id \
         FROM grants g JOIN baselines b ON b.system_id = g.system_id \
         WHERE NOT EXISTS (SELECT 1 FROM grant_history h \
           WHERE h.system_id = g.system_id AND h.account_id = g.account_id \
           AND h.entitlement_id = g.entitlement_id AND h.valid_to IS NULL \
           AND h.import_id = b.import_id)",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, a, e)| {
            const T: &str = "grants";
            let key = format!("{s}/{a}/{e}");
            Ok((
                parse(T, &key, SystemId::parse(s.as_str()))?,
                parse(T, &key, AccountId::parse(a.as_str()))?,
                parse(T, &key, EntitlementId::parse(e.as_str()))?,
            ))
        })
        .collect()
}
