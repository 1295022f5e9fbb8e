//! The mitigations a use case reads (granting and revoking one is
//! `soxctl_app::mitigations`).

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::mitigation::MitigationRow;

impl WriteTx {
    pub async fn mitigations(&mut self) -> Result<Vec<MitigationRow>> {
        each!(self, WriteTx, |tx, m| m::mitigations::all(tx.conn().await?)
            .await)
    }
}

impl Store {
    pub async fn mitigations(&self) -> Result<Vec<MitigationRow>> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::mitigations::all(&mut conn).await
        })
    }
}
