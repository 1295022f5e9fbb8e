//! The just-in-time tables: requests and their decisions here; the
//! grants and delegations, execution tokens and deployments, and
//! break-glass uses they lead to in the modules below.

use super::rows::{Query, opt, parse, person_id, seq_param, ts};
use super::{Conn, Db};
use crate::error::{Result, StoreError};
use crate::requests::{RequestFilter, TokensOf};
use soxctl_model::ids::{
    AccessGrantId, AccountId, DelegationId, EntitlementId, ExecutionTokenId, RequestId, SystemId,
};
use soxctl_model::request::{
    AccessEnd, AccessGrantRow, Ask, BreakGlassRow, Decision, DecisionRow, DelegationRow,
    DeploymentRow, ExecutionTokenRow, RequestRow, RequestStatus, RequestUpdate, ReviewOutcome,
};
use soxctl_model::time::Timestamp;
use sqlx::Row as _;

mod actions;
mod breakglass;
mod grants;

pub use actions::*;
pub use breakglass::*;
pub use grants::*;

pub const REQUEST_COLUMNS: [&str; 28] = [
    "request_id",
    "kind",
    "requester_id",
    "person_id",
    "digest",
    "env",
    "ask",
    "justification",
    "ticket",
    "policy_version",
    "policy_rule",
    "required_approvals",
    "approvers",
    "mfa_required",
    "sod",
    "created_at",
    "expires_at",
    "approval_window_secs",
    "reminder_after_secs",
    "escalate_after_secs",
    "reminded_at",
    "escalated_at",
    "status",
    "approvals",
    "decided_at",
    "valid_until",
    "activated_at",
    "closed_reason",
];

pub const DECISION_COLUMNS: [&str; 9] = [
    "request_id",
    "approver_id",
    "decision",
    "on_behalf_of",
    "mfa",
    "comment",
    "decided_at",
    "seq",
    "actor",
];

/// JSON text of a projected value: struct fields in declaration order and
/// object keys sorted, so the same row always has the same text.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn bind_request<'q>(q: Query<'q>, r: &'q RequestRow) -> Query<'q> {
    q.bind(r.request_id.as_str())
        .bind(r.kind().as_str())
        .bind(r.requester_id.as_str())
        .bind(r.beneficiary().map(|p| p.as_str()))
        .bind(r.digest())
        .bind(match &r.ask {
            Ask::Action(a) => Some(a.env.as_str()),
            Ask::Access(_) => None,
        })
        .bind(json(&r.ask))
        .bind(r.justification.as_str())
        .bind(r.ticket.as_deref())
        .bind(r.policy_version.map(int))
        .bind(r.policy_rule.as_str())
        .bind(i64::from(r.required_approvals))
        .bind(json(&r.approvers))
        .bind(r.mfa_required)
        .bind(json(&r.sod))
        .bind(r.created_at.to_canonical())
        .bind(r.expires_at.to_canonical())
        .bind(int(r.approval_window_secs))
        .bind(r.reminder_after_secs.map(int))
        .bind(r.escalate_after_secs.map(int))
        .bind(ts(&r.reminded_at))
        .bind(ts(&r.escalated_at))
        .bind(r.status.as_str())
        .bind(i64::from(r.approvals))
        .bind(ts(&r.decided_at))
        .bind(ts(&r.valid_until))
        .bind(ts(&r.activated_at))
        .bind(r.closed_reason.as_deref())
}

pub fn bind_decision<'q>(q: Query<'q>, d: &'q DecisionRow) -> Query<'q> {
    q.bind(d.request_id.as_str())
        .bind(d.approver_id.as_str())
        .bind(d.decision.as_str())
        .bind(d.on_behalf_of.as_ref().map(|p| p.as_str()))
        .bind(d.mfa)
        .bind(d.comment.as_deref())
        .bind(d.decided_at.to_canonical())
        .bind(seq_param(d.seq))
        .bind(d.actor.as_str())
}

fn must_hit(done: u64, what: &str, id: &str) -> Result<()> {
    if done != 1 {
        return Err(StoreError::Invalid(format!(
            "an entry names {what} '{id}', which does not exist"
        )));
    }
    Ok(())
}

pub async fn update_request(conn: &mut Conn, id: &RequestId, update: &RequestUpdate) -> Result<()> {
    let done = match update {
        RequestUpdate::Approval {
            approvals,
            required,
            approved_at: Some(at),
            valid_until,
        } => sqlx::query(
            "UPDATE requests SET approvals = $1, status = 'approved', decided_at = $2, valid_until = $3, \
             required_approvals = COALESCE($5, required_approvals) WHERE request_id = $4",
        )
        .bind(i64::from(*approvals))
        .bind(at.to_canonical())
        .bind(ts(valid_until))
        .bind(id.as_str())
        .bind(required.map(i64::from))
        .execute(&mut *conn)
        .await?,
        RequestUpdate::Approval {
            approvals,
            required,
            approved_at: None,
            ..
        } => sqlx::query(
            "UPDATE requests SET approvals = $1, required_approvals = COALESCE($3, required_approvals) \
             WHERE request_id = $2",
        )
        .bind(i64::from(*approvals))
        .bind(id.as_str())
        .bind(required.map(i64::from))
        .execute(&mut *conn)
        .await?,
        RequestUpdate::Closed { status, at, reason } => sqlx::query(
            "UPDATE requests SET status = $1, decided_at = COALESCE(decided_at, $2), closed_reason = $3 \
             WHERE request_id = $4",
        )
        .bind(status.as_str())
        .bind(at.to_canonical())
        .bind(reason.as_deref())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?,
        RequestUpdate::Reminded {
            at,
            escalation: true,
        } => sqlx::query("UPDATE requests SET escalated_at = $1 WHERE request_id = $2")
            .bind(at.to_canonical())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?,
        RequestUpdate::Reminded {
            at,
            escalation: false,
        } => sqlx::query("UPDATE requests SET reminded_at = $1 WHERE request_id = $2")
            .bind(at.to_canonical())
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?,
        RequestUpdate::Activated { at } => sqlx::query(
            "UPDATE requests SET activated_at = COALESCE(activated_at, $1) WHERE request_id = $2",
        )
        .bind(at.to_canonical())
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?,
    };
    must_hit(done.rows_affected(), "request", id.as_str())
}

type DbRow = <Db as sqlx::Database>::Row;

fn text(row: &DbRow, column: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(column)?)
}

fn text_opt(row: &DbRow, column: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

fn count(table: &'static str, key: &str, v: i64) -> Result<u64> {
    parse(table, key, u64::try_from(v))
}

fn request(row: &DbRow) -> Result<RequestRow> {
    const T: &str = "requests";
    let id = text(row, "request_id")?;
    let small = |v: i64| parse(T, &id, u32::try_from(v));
    Ok(RequestRow {
        requester_id: parse(T, &id, person_id(&text(row, "requester_id")?))?,
        ask: parse(T, &id, serde_json::from_str(&text(row, "ask")?))?,
        justification: text(row, "justification")?,
        ticket: text_opt(row, "ticket")?,
        policy_version: row
            .try_get::<Option<i64>, _>("policy_version")?
            .map(|v| count(T, &id, v))
            .transpose()?,
        policy_rule: text(row, "policy_rule")?,
        required_approvals: small(row.try_get("required_approvals")?)?,
        approvers: parse(T, &id, serde_json::from_str(&text(row, "approvers")?))?,
        mfa_required: row.try_get("mfa_required")?,
        sod: parse(T, &id, serde_json::from_str(&text(row, "sod")?))?,
        created_at: parse(T, &id, Timestamp::parse(&text(row, "created_at")?))?,
        expires_at: parse(T, &id, Timestamp::parse(&text(row, "expires_at")?))?,
        approval_window_secs: count(T, &id, row.try_get("approval_window_secs")?)?,
        reminder_after_secs: row
            .try_get::<Option<i64>, _>("reminder_after_secs")?
            .map(|v| count(T, &id, v))
            .transpose()?,
        escalate_after_secs: row
            .try_get::<Option<i64>, _>("escalate_after_secs")?
            .map(|v| count(T, &id, v))
            .transpose()?,
        reminded_at: opt(T, &id, text_opt(row, "reminded_at")?, Timestamp::parse)?,
        escalated_at: opt(T, &id, text_opt(row, "escalated_at")?, Timestamp::parse)?,
        status: parse(T, &id, text(row, "status")?.parse::<RequestStatus>())?,
        approvals: small(row.try_get("approvals")?)?,
        decided_at: opt(T, &id, text_opt(row, "decided_at")?, Timestamp::parse)?,
        valid_until: opt(T, &id, text_opt(row, "valid_until")?, Timestamp::parse)?,
        activated_at: opt(T, &id, text_opt(row, "activated_at")?, Timestamp::parse)?,
        closed_reason: text_opt(row, "closed_reason")?,
        request_id: parse(T, &id, RequestId::parse(id.as_str()))?,
    })
}

fn decision(row: &DbRow) -> Result<DecisionRow> {
    const T: &str = "request_decisions";
    let id = text(row, "request_id")?;
    let decision = match text(row, "decision")?.as_str() {
        "approve" => Decision::Approve,
        "deny" => Decision::Deny,
        other => {
            return Err(StoreError::Invalid(format!(
                "request_decisions row of '{id}' has decision '{other}'"
            )));
        }
    };
    Ok(DecisionRow {
        approver_id: parse(T, &id, person_id(&text(row, "approver_id")?))?,
        decision,
        on_behalf_of: opt(T, &id, text_opt(row, "on_behalf_of")?, person_id)?,
        mfa: row.try_get("mfa")?,
        comment: text_opt(row, "comment")?,
        decided_at: parse(T, &id, Timestamp::parse(&text(row, "decided_at")?))?,
        seq: count(T, &id, row.try_get("seq")?)?,
        actor: text(row, "actor")?,
        request_id: parse(T, &id, RequestId::parse(id.as_str()))?,
    })
}

/// The request `id`.
pub async fn one(conn: &mut Conn, id: &RequestId) -> Result<Option<RequestRow>> {
    let filter = RequestFilter {
        request_id: Some(id.clone()),
        ..RequestFilter::default()
    };
    Ok(requests(conn, &filter).await?.into_iter().next())
}

pub async fn requests(conn: &mut Conn, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
    let mut sql = format!(
        "SELECT {} FROM requests WHERE 1 = 1",
        REQUEST_COLUMNS.join(", ")
    );
    let mut binds: Vec<String> = Vec::new();
    let mut param = |sql: &mut String, clause: &str, value: String| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(id) = &filter.request_id {
        param(&mut sql, " AND request_id = ?", id.to_string());
    }
    if let Some(status) = filter.status {
        param(&mut sql, " AND status = ?", status.as_str().to_owned());
    }
    if let Some(before) = filter.pending_due_before {
        param(
            &mut sql,
            " AND status = 'pending' AND expires_at <= ?",
            before.to_canonical(),
        );
    }
    if let Some(before) = filter.unused_approved_before {
        param(
            &mut sql,
            " AND status = 'approved' AND activated_at IS NULL AND valid_until <= ?",
            before.to_canonical(),
        );
    }
    if let Some(digest) = &filter.digest {
        param(&mut sql, " AND digest = ?", digest.clone());
    }
    sql.push_str(" ORDER BY created_at, request_id");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    q.fetch_all(&mut *conn).await?.iter().map(request).collect()
}

// Filters are spelt out per case rather than `$1 IS NULL OR col = $1`,
// which keeps SQLite from using the index.
pub async fn decisions(
    conn: &mut Conn,
    request_id: Option<&RequestId>,
) -> Result<Vec<DecisionRow>> {
    let filter = if request_id.is_some() {
        "WHERE request_id = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM request_decisions {filter} ORDER BY request_id, seq",
        DECISION_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(id) = request_id {
        q = q.bind(id.as_str());
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(decision)
        .collect()
}
