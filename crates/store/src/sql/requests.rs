//! The just-in-time tables: `requests`, `request_decisions`,
//! `access_grants` and `delegations`.

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

pub const TOKEN_COLUMNS: [&str; 8] = [
    "token_id",
    "request_id",
    "executor",
    "env",
    "digest",
    "issued_at",
    "expires_at",
    "used_at",
];

pub const DEPLOYMENT_COLUMNS: [&str; 8] = [
    "deployment_id",
    "env",
    "commit_sha",
    "repo",
    "deployer",
    "request_id",
    "deployed_at",
    "seq",
];

pub const BREAKGLASS_COLUMNS: [&str; 11] = [
    "use_id",
    "person_id",
    "items",
    "reason",
    "evidence",
    "starts_at",
    "ends_at",
    "reviewer_id",
    "reviewed_at",
    "outcome",
    "review_notes",
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

pub fn bind_token<'q>(q: Query<'q>, t: &'q ExecutionTokenRow) -> Query<'q> {
    q.bind(t.token_id.as_str())
        .bind(t.request_id.as_str())
        .bind(t.executor.as_str())
        .bind(t.env.as_str())
        .bind(t.digest.as_str())
        .bind(t.issued_at.to_canonical())
        .bind(t.expires_at.to_canonical())
        .bind(ts(&t.used_at))
}

pub fn bind_deployment<'q>(q: Query<'q>, d: &'q DeploymentRow) -> Query<'q> {
    q.bind(d.deployment_id.as_str())
        .bind(d.env.as_str())
        .bind(d.commit.as_str())
        .bind(d.repo.as_deref())
        .bind(d.deployer.as_str())
        .bind(d.request_id.as_ref().map(RequestId::as_str))
        .bind(d.deployed_at.to_canonical())
        .bind(seq_param(d.seq))
}

pub fn bind_breakglass<'q>(q: Query<'q>, b: &'q BreakGlassRow) -> Query<'q> {
    q.bind(b.use_id.as_str())
        .bind(b.person_id.as_str())
        .bind(json(&b.items))
        .bind(b.reason.as_str())
        .bind(b.evidence.as_deref())
        .bind(b.starts_at.to_canonical())
        .bind(b.ends_at.to_canonical())
        .bind(b.reviewer_id.as_str())
        .bind(ts(&b.reviewed_at))
        .bind(b.outcome.map(ReviewOutcome::as_str))
        .bind(b.review_notes.as_deref())
}

pub async fn review_breakglass(
    conn: &mut Conn,
    id: &RequestId,
    at: Timestamp,
    outcome: ReviewOutcome,
    notes: &str,
    evidence: Option<&str>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE breakglass_uses SET reviewed_at = $1, outcome = $2, review_notes = $3, \
         evidence = COALESCE($4, evidence) WHERE use_id = $5",
    )
    .bind(at.to_canonical())
    .bind(outcome.as_str())
    .bind(notes)
    .bind(evidence)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    must_hit(done.rows_affected(), "break-glass use", id.as_str())
}

pub async fn use_token(conn: &mut Conn, id: &ExecutionTokenId, at: Timestamp) -> Result<()> {
    let done = sqlx::query(
        "UPDATE execution_tokens SET used_at = $1 WHERE token_id = $2 AND used_at IS NULL",
    )
    .bind(at.to_canonical())
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    must_hit(done.rows_affected(), "unused execution token", id.as_str())
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

fn token(row: &DbRow) -> Result<ExecutionTokenRow> {
    const T: &str = "execution_tokens";
    let id = text(row, "token_id")?;
    Ok(ExecutionTokenRow {
        request_id: parse(T, &id, RequestId::parse(text(row, "request_id")?))?,
        executor: text(row, "executor")?,
        env: text(row, "env")?,
        digest: text(row, "digest")?,
        issued_at: parse(T, &id, Timestamp::parse(&text(row, "issued_at")?))?,
        expires_at: parse(T, &id, Timestamp::parse(&text(row, "expires_at")?))?,
        used_at: opt(T, &id, text_opt(row, "used_at")?, Timestamp::parse)?,
        token_id: parse(T, &id, ExecutionTokenId::parse(id.as_str()))?,
    })
}

fn deployment(row: &DbRow) -> Result<DeploymentRow> {
    const T: &str = "deployments";
    let id = text(row, "deployment_id")?;
    Ok(DeploymentRow {
        env: text(row, "env")?,
        commit: text(row, "commit_sha")?,
        repo: text_opt(row, "repo")?,
        deployer: text(row, "deployer")?,
        request_id: opt(T, &id, text_opt(row, "request_id")?, |r| {
            RequestId::parse(r)
        })?,
        deployed_at: parse(T, &id, Timestamp::parse(&text(row, "deployed_at")?))?,
        seq: count(T, &id, row.try_get("seq")?)?,
        deployment_id: id,
    })
}

/// Execution tokens, oldest first: all, one by id, or a request's.
pub async fn execution_tokens(conn: &mut Conn, of: TokensOf<'_>) -> Result<Vec<ExecutionTokenRow>> {
    let (filter, value) = match of {
        TokensOf::All => ("", None),
        TokensOf::Token(id) => ("WHERE token_id = $1", Some(id.as_str())),
        TokensOf::Request(id) => ("WHERE request_id = $1", Some(id.as_str())),
    };
    let sql = format!(
        "SELECT {} FROM execution_tokens {filter} ORDER BY issued_at, token_id",
        TOKEN_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(value) = value {
        q = q.bind(value);
    }
    q.fetch_all(&mut *conn).await?.iter().map(token).collect()
}

/// Deployments, oldest first; only those of `env` when given.
pub async fn deployments(conn: &mut Conn, env: Option<&str>) -> Result<Vec<DeploymentRow>> {
    let filter = if env.is_some() { "WHERE env = $1" } else { "" };
    let sql = format!(
        "SELECT {} FROM deployments {filter} ORDER BY seq",
        DEPLOYMENT_COLUMNS.join(", ")
    );
    let mut q = sqlx::query(&sql);
    if let Some(e) = env {
        q = q.bind(e);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(deployment)
        .collect()
}

fn breakglass(row: &DbRow) -> Result<BreakGlassRow> {
    const T: &str = "breakglass_uses";
    let id = text(row, "use_id")?;
    let outcome = match text_opt(row, "outcome")?.as_deref() {
        None => None,
        Some("appropriate") => Some(ReviewOutcome::Appropriate),
        Some("inappropriate") => Some(ReviewOutcome::Inappropriate),
        Some(other) => {
            return Err(StoreError::Invalid(format!(
                "breakglass_uses row '{id}' has outcome '{other}'"
            )));
        }
    };
    Ok(BreakGlassRow {
        person_id: parse(T, &id, person_id(&text(row, "person_id")?))?,
        items: parse(T, &id, serde_json::from_str(&text(row, "items")?))?,
        reason: text(row, "reason")?,
        evidence: text_opt(row, "evidence")?,
        starts_at: parse(T, &id, Timestamp::parse(&text(row, "starts_at")?))?,
        ends_at: parse(T, &id, Timestamp::parse(&text(row, "ends_at")?))?,
        reviewer_id: parse(T, &id, person_id(&text(row, "reviewer_id")?))?,
        reviewed_at: opt(T, &id, text_opt(row, "reviewed_at")?, Timestamp::parse)?,
        outcome,
        review_notes: text_opt(row, "review_notes")?,
        use_id: parse(T, &id, RequestId::parse(id.as_str()))?,
    })
}

pub async fn breakglass_uses(conn: &mut Conn) -> Result<Vec<BreakGlassRow>> {
    let sql = format!(
        "SELECT {} FROM breakglass_uses ORDER BY starts_at, use_id",
        BREAKGLASS_COLUMNS.join(", ")
    );
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(breakglass)
        .collect()
}
