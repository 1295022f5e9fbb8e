//! Numbered migrations, each in one transaction with its version bump;
//! a store newer than this binary is refused rather than guessed at.

use super::{BACKEND, Db, MIGRATIONS};
use crate::error::{Result, StoreError};

pub async fn run(pool: &sqlx::Pool<Db>) -> Result<i64> {
    let known = MIGRATIONS.iter().map(|(v, _)| *v).max().unwrap_or(0);
    // Up to date (the usual case): no lock needed, so opening never waits for a writer.
    let current: std::result::Result<Option<(i64,)>, _> =
        sqlx::query_as("SELECT version FROM schema_version WHERE id = 1")
            .fetch_optional(pool)
            .await;
    if let Ok(Some((current,))) = current
        && current == known
    {
        return Ok(current);
    }
    loop {
        // SQLite: take the write lock up front. A deferred transaction that has
        // read the version cannot upgrade to a writer once another opener has
        // migrated meanwhile: it fails with SQLITE_BUSY instead of waiting.
        let mut tx = if BACKEND == "sqlite" {
            pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            pool.begin().await?
        };
        if BACKEND == "postgres" {
            // Replicas starting together must not run a migration twice.
            sqlx::query("SELECT pg_advisory_xact_lock(7170001)")
                .execute(&mut *tx)
                .await?;
        }
        // Under the lock: concurrent CREATE TABLE IF NOT EXISTS races on PostgreSQL.
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_version (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        let current: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM schema_version WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?;
        let current = current.map_or(0, |(v,)| v);
        if current > known {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known,
            });
        }
        let Some((version, sql)) = MIGRATIONS.iter().find(|(v, _)| *v == current + 1) else {
            return Ok(current);
        };
        tracing::info!(backend = BACKEND, version, "applying schema migration");
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_version (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = $1",
        )
        .bind(*version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
}
