//! Outbox rows. Written only inside a write transaction (next to the entry
//! that caused them); afterwards every step of delivery is one autocommit
//! statement, so no transaction is ever open while a deliverer runs.

use super::{BACKEND, Conn};
use crate::error::{Result, StoreError, row_error};
use crate::outbox::{Claimed, OutboxRecord, OutboxStatus, PARKED};
use soxctl_model::time::Timestamp;

fn i64_of(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is out of range")))
}

fn u64_of(v: i64, id: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| row_error("outbox", id, format!("negative {what} {v}")))
}

fn time_of(v: &str, id: i64, what: &str) -> Result<Timestamp> {
    Timestamp::parse(v).map_err(|e| row_error("outbox", id, format!("{what}: {e}")))
}

pub async fn insert(
    conn: &mut Conn,
    seq: u64,
    topic: &str,
    payload: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (seq, topic, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(i64_of(seq)?)
    .bind(topic)
    .bind(payload)
    .bind(now.to_canonical())
    .execute(conn)
    .await?;
    Ok(())
}

// One statement, so the claim is its own short transaction. On PostgreSQL the
// inner SELECT locks the rows it picks and skips rows another replica is
// claiming at this moment; a row whose claim committed meanwhile is re-checked
// against the new `claimed_until` (READ COMMITTED re-evaluation) and dropped.
// SQLite runs the statement under its single writer lock. The outer
// condition repeats the claimability test, so a row is never claimed twice
// even by an interleaving the inner lock does not cover.
const CLAIM_SQLITE: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (
    SELECT id FROM outbox
    WHERE delivered_at IS NULL AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2)
    ORDER BY id LIMIT $3)
  AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2)
  RETURNING id, seq, topic, payload, created_at, attempts";
const CLAIM_POSTGRES: &str = "UPDATE outbox SET claimed_until = $1 WHERE id IN (
    SELECT id FROM outbox
    WHERE delivered_at IS NULL AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2)
    ORDER BY id LIMIT $3
    FOR UPDATE SKIP LOCKED)
  AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2)
  RETURNING id, seq, topic, payload, created_at, attempts";

/// Claims up to `limit` due rows until `until`; `until` is also the claim's
/// token for [`record_failure`] and [`release`]. Ordered by id.
pub async fn claim(
    conn: &mut Conn,
    now: Timestamp,
    until: &str,
    limit: u32,
) -> Result<Vec<Claimed>> {
    let sql = if BACKEND == "postgres" {
        CLAIM_POSTGRES
    } else {
        CLAIM_SQLITE
    };
    let rows: Vec<(i64, i64, String, String, String, i64)> = sqlx::query_as(sql)
        .bind(until)
        .bind(now.to_canonical())
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await?;
    let mut claimed = rows
        .into_iter()
        .map(|(id, seq, topic, payload, created_at, attempts)| {
            Ok(Claimed {
                id: u64_of(id, id, "id")?,
                seq: u64_of(seq, id, "seq")?,
                topic,
                payload,
                created_at: time_of(&created_at, id, "created_at")?,
                attempts: u64_of(attempts, id, "attempts")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // RETURNING promises no order.
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Not guarded by the claim: once delivered, that is the truth whoever holds it.
pub async fn mark_delivered(conn: &mut Conn, id: u64, now: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, claimed_until = NULL, last_error = NULL
         WHERE id = $1 AND delivered_at IS NULL",
    )
    .bind(i64_of(id)?)
    .bind(now.to_canonical())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt; false when the claim was lost (it expired and
/// another worker took the row), in which case that worker's view wins.
pub async fn record_failure(
    conn: &mut Conn,
    id: u64,
    claim: &str,
    error: &str,
    next_attempt_at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, claimed_until = NULL
         WHERE id = $1 AND claimed_until = $2 AND delivered_at IS NULL",
    )
    .bind(i64_of(id)?)
    .bind(claim)
    .bind(error)
    .bind(next_attempt_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claimed row back untried.
pub async fn release(conn: &mut Conn, id: u64, claim: &str) -> Result<()> {
    sqlx::query("UPDATE outbox SET claimed_until = NULL WHERE id = $1 AND claimed_until = $2")
        .bind(i64_of(id)?)
        .bind(claim)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn status(conn: &mut Conn) -> Result<OutboxStatus> {
    let (pending, dead, delivered, oldest): (i64, i64, i64, Option<String>) = sqlx::query_as(
        "SELECT
           COUNT(CASE WHEN delivered_at IS NULL AND next_attempt_at <> $1 THEN 1 END),
           COUNT(CASE WHEN delivered_at IS NULL AND next_attempt_at = $1 THEN 1 END),
           COUNT(delivered_at),
           MIN(CASE WHEN delivered_at IS NULL AND next_attempt_at <> $1 THEN created_at END)
         FROM outbox",
    )
    .bind(PARKED)
    .fetch_one(conn)
    .await?;
    let count =
        |v: i64| u64::try_from(v).map_err(|_| StoreError::Invalid(format!("negative count {v}")));
    Ok(OutboxStatus {
        pending: count(pending)?,
        dead: count(dead)?,
        delivered: count(delivered)?,
        oldest_pending: oldest.map(|t| time_of(&t, 0, "created_at")).transpose()?,
    })
}

type RecordTuple = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Rows with `id > after`, oldest first.
pub async fn records(conn: &mut Conn, after: u64, limit: u32) -> Result<Vec<OutboxRecord>> {
    let rows: Vec<RecordTuple> = sqlx::query_as(
        "SELECT id, seq, topic, payload, created_at, attempts, next_attempt_at, claimed_until, delivered_at, last_error
         FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(i64_of(after)?)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(
                id,
                seq,
                topic,
                payload,
                created_at,
                attempts,
                next_attempt_at,
                claimed_until,
                delivered_at,
                last_error,
            )| {
                let payload = serde_json::from_str(&payload)
                    .map_err(|e| row_error("outbox", id, format!("payload: {e}")))?;
                let dead = delivered_at.is_none() && next_attempt_at == PARKED;
                Ok(OutboxRecord {
                    id: u64_of(id, id, "id")?,
                    seq: u64_of(seq, id, "seq")?,
                    topic,
                    payload,
                    created_at: time_of(&created_at, id, "created_at")?,
                    attempts: u64_of(attempts, id, "attempts")?,
                    next_attempt_at: if dead {
                        None
                    } else {
                        Some(time_of(&next_attempt_at, id, "next_attempt_at")?)
                    },
                    claimed_until: claimed_until
                        .map(|t| time_of(&t, id, "claimed_until"))
                        .transpose()?,
                    delivered_at: delivered_at
                        .map(|t| time_of(&t, id, "delivered_at"))
                        .transpose()?,
                    last_error,
                    dead,
                })
            },
        )
        .collect()
}

/// Makes every dead letter due again (attempts are kept).
pub async fn requeue_dead(conn: &mut Conn, now: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1 WHERE delivered_at IS NULL AND next_attempt_at = $2",
    )
    .bind(now.to_canonical())
    .bind(PARKED)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The channels message `id` already reached.
pub async fn channels_sent(conn: &mut Conn, id: u64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT channel FROM outbox_channels WHERE message_id = $1 ORDER BY channel",
    )
    .bind(i64_of(id)?)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// Idempotent: a channel reached twice (two workers after a lapsed claim)
/// keeps its first time.
pub async fn channel_sent(conn: &mut Conn, id: u64, channel: &str, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox_channels (message_id, channel, sent_at) VALUES ($1, $2, $3)
         ON CONFLICT (message_id, channel) DO NOTHING",
    )
    .bind(i64_of(id)?)
    .bind(channel)
    .bind(now.to_canonical())
    .execute(conn)
    .await?;
    Ok(())
}
