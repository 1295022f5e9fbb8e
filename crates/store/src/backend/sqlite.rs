//! The embedded default: one file `soxctl.db` in the data directory, in WAL
//! mode. Writers serialise on SQLite's own lock (busy timeout, not failure).

use crate::error::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

pub type Db = sqlx::Sqlite;
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_outbox_jobs_idempotency.sql"),
    ),
];
pub const BACKEND: &str = "sqlite";

// The shared SQL is compiled once per backend on purpose (see backend/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
pub mod sql;

pub const DB_FILE: &str = "soxctl.db";

pub async fn connect(dir: &Path, create: bool) -> Result<sqlx::Pool<Db>> {
    let file = dir.join(DB_FILE);
    if !file.exists() {
        if !create {
            return Err(StoreError::Missing {
                path: dir.to_owned(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit acknowledged to the caller survives power loss.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// A consistent copy of a live store, taken while it serves.
pub async fn backup(pool: &sqlx::Pool<Db>, out: &Path) -> Result<()> {
    let target = out
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not valid UTF-8", out.display())))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(pool)
        .await?;
    Ok(())
}
