//! PostgreSQL for production: any number of stateless `soxctl serve`
//! replicas; the ledger head row serialises their appends.

use crate::error::Result;
use sqlx::postgres::PgPoolOptions;

pub type Db = sqlx::Postgres;
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_outbox_jobs_idempotency.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_history.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_findings.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_documents_mitigations.sql"),
    ),
    (6, include_str!("../../migrations/postgres/0006_scim.sql")),
    (
        7,
        include_str!("../../migrations/postgres/0007_requests.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_outbox_channels.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_tokens_by_request.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_gate_token_binding.sql"),
    ),
];
pub const BACKEND: &str = "postgres";

// The shared SQL is compiled once per backend on purpose (see backend/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
pub mod sql;

pub async fn connect(url: &str) -> Result<sqlx::Pool<Db>> {
    // One direct connection first: the pool retries a refused connection
    // until its 30 s acquire timeout and then says only "pool timed out";
    // this fails at once with the reason (connection refused, bad password).
    use sqlx::Connection;
    let probe = sqlx::PgConnection::connect(url).await?;
    probe.close().await?;
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?)
}
