//! The `tokens` rows a use case reads inside its transaction (issuing and
//! revoking tokens is `soxctl_app::tokens`).

use crate::WriteTx;
use crate::error::StoreError;
use soxctl_model::ids::{PersonId, TokenId};
use soxctl_model::projection::TokenRow;

impl WriteTx {
    /// The `tokens` row of `id` as of this transaction.
    pub async fn token(&mut self, id: &TokenId) -> Result<Option<TokenRow>, StoreError> {
        each!(self, WriteTx, |tx, m| {
            let conn = tx.conn().await?;
            m::rows::token(conn, id).await
        })
    }

    /// Whether the person `id` is in the inventory.
    pub async fn person_exists(&mut self, id: &PersonId) -> Result<bool, StoreError> {
        each!(self, WriteTx, |tx, m| {
            let conn = tx.conn().await?;
            Ok(m::rows::person(conn, id).await?.is_some())
        })
    }
}
