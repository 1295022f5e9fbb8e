//! `idempotency_keys`: the stored answer to a POST made with an
//! `Idempotency-Key`, written in the transaction that made its effect.

use super::Conn;
use crate::error::{Result, row_error};
use crate::idempotency::StoredResponse;

/// The answer remembered for `(principal, key)`, if any (the key checked
/// first).
pub async fn lookup(
    conn: &mut Conn,
    principal: &soxctl_model::principal::Principal,
    key: &str,
) -> Result<Option<StoredResponse>> {
    crate::idempotency::check_key(key)?;
    let principal = principal.to_string();
    let row: Option<(String, i64, String, String)> = sqlx::query_as(
        "SELECT request_hash, status, response, created_at FROM idempotency_keys
         WHERE principal = $1 AND key = $2",
    )
    .bind(principal.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(|(request_hash, status, response, created_at)| {
        let status = u16::try_from(status)
            .map_err(|_| row_error("idempotency_keys", key, format!("status {status}")))?;
        Ok(StoredResponse {
            request_hash,
            status,
            response,
            created_at,
        })
    })
    .transpose()
}

/// Inserts the record; false when `(principal, key)` is already taken (a
/// concurrent request with the same key committed first).
pub async fn insert(
    conn: &mut Conn,
    principal: &str,
    key: &str,
    request_hash: &str,
    status: u16,
    response: &str,
    created_at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, response, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING",
    )
    .bind(principal)
    .bind(key)
    .bind(request_hash)
    .bind(i64::from(status))
    .bind(response)
    .bind(created_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes records created before `before` (canonical timestamp text).
pub async fn prune(conn: &mut Conn, before: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
