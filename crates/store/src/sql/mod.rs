//! SQL shared by both backends; compiled once per backend with its `Db`.

pub mod documents;
pub mod findings;
pub mod history;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
pub mod migrate;
pub mod mitigations;
pub mod outbox;
pub mod requests;
pub mod rows;
pub mod scim;
pub mod write;

pub use super::{BACKEND, Db, MIGRATIONS};

use crate::Context;
use std::sync::Arc;

pub type Conn = <Db as sqlx::Database>::Connection;

#[derive(Clone)]
pub struct Inner {
    pub pool: sqlx::Pool<Db>,
    pub ctx: Arc<Context>,
}
