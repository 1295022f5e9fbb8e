//! `Idempotency-Key` support: the answer to a POST, stored in the write
//! transaction that made its effect, so a retried request is answered from
//! the record instead of acting twice.
//!
//! Records are scoped per principal (two callers may use the same key) and
//! are operational bookkeeping, not audit state: `verify` does not replay
//! them. Callers must not store secrets in `response`.

use crate::error::{Result, StoreError};
use crate::{Store, WriteTx};
use soxctl_model::principal::Principal;

/// The longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A remembered answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Hex SHA-256 of the request that produced it (method, path and body).
    pub request_hash: String,
    pub status: u16,
    /// The response body as JSON text.
    pub response: String,
    pub created_at: String,
}

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(StoreError::Invalid(format!(
            "an idempotency key has 1 to {MAX_KEY_LEN} bytes, this one {}",
            key.len()
        )));
    }
    Ok(())
}

/// How long a stored answer can be replayed; clients retry within minutes.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

impl Store {
    /// Forgets answers older than [`RETENTION`] (operational data, not
    /// ledger state: the effects themselves stay in the ledger).
    pub async fn prune_idempotency_keys(&self) -> Result<u64> {
        let before = soxctl_model::time::Timestamp::from_datetime(
            self.context().clock.now().as_datetime() - RETENTION,
        );
        let before = before.to_canonical();
        with_conn!(self, |conn, m| m::idempotency::prune(conn, &before).await)
    }
}

impl WriteTx {
    /// Remembers the answer to the request whose effect this transaction
    /// holds; committed (or rolled back) with it. Returns false when the key
    /// is already taken: a concurrent request with the same key won, so this
    /// transaction should be dropped and that request's answer replayed.
    pub async fn remember_response(
        &mut self,
        principal: &Principal,
        key: &str,
        request_hash: &str,
        status: u16,
        response: &serde_json::Value,
    ) -> Result<bool> {
        check_key(key)?;
        let principal = principal.to_string();
        let response = serde_json::to_string(response)
            .map_err(|e| StoreError::Invalid(format!("response is not JSON: {e}")))?;
        let created_at = self.now().to_canonical();
        each!(self, WriteTx, |tx, m| m::idempotency::insert(
            tx.conn().await?,
            &principal,
            key,
            request_hash,
            status,
            &response,
            &created_at
        )
        .await)
    }
}
