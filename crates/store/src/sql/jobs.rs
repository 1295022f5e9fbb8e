//! The `jobs` schedule. Leadership is decided elsewhere (`crate::jobs`); the
//! compare-and-set in [`claim`] is what keeps an occurrence from running
//! twice even if leadership is ever wrong.

use super::Conn;
use crate::error::{Result, StoreError, row_error};
use crate::jobs::JobStatus;
use soxctl_model::time::Timestamp;

fn time_of(v: &str, name: &str, what: &str) -> Result<Timestamp> {
    Timestamp::parse(v).map_err(|e| row_error("jobs", name, format!("{what}: {e}")))
}

/// Adds the job's row unless it exists (another runner or an earlier run made it).
pub async fn ensure(conn: &mut Conn, name: &str, first_run_at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(first_run_at.to_canonical())
    .execute(conn)
    .await?;
    Ok(())
}

/// Jobs whose next run is at or before `now`, with that stored time verbatim
/// (the compare-and-set compares the exact text).
pub async fn due(conn: &mut Conn, now: Timestamp) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT name, next_run_at FROM jobs WHERE next_run_at <= $1 ORDER BY next_run_at, name",
    )
    .bind(now.to_canonical())
    .fetch_all(conn)
    .await?)
}

/// Moves the occurrence `old` to `new`; true only for the one caller whose
/// update matched, which alone runs the occurrence.
pub async fn claim(conn: &mut Conn, name: &str, old: &str, new: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE jobs SET next_run_at = $3 WHERE name = $1 AND next_run_at = $2")
        .bind(name)
        .bind(old)
        .bind(new.to_canonical())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a finished run; `error` replaces the previous one (None clears it).
pub async fn finish(
    conn: &mut Conn,
    name: &str,
    started: Timestamp,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET last_run_at = $2, runs = runs + 1, last_error = $3 WHERE name = $1",
    )
    .bind(name)
    .bind(started.to_canonical())
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// name, last_run_at, next_run_at, last_error, runs
type JobTuple = (String, Option<String>, String, Option<String>, i64);

pub async fn all(conn: &mut Conn) -> Result<Vec<JobStatus>> {
    let rows: Vec<JobTuple> = sqlx::query_as(
        "SELECT name, last_run_at, next_run_at, last_error, runs FROM jobs ORDER BY name",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(name, last_run_at, next_run_at, last_error, runs)| {
            Ok(JobStatus {
                last_run_at: last_run_at
                    .map(|t| time_of(&t, &name, "last_run_at"))
                    .transpose()?,
                next_run_at: time_of(&next_run_at, &name, "next_run_at")?,
                last_error,
                runs: u64::try_from(runs).map_err(|_| {
                    StoreError::Invalid(format!("job {name}: negative runs {runs}"))
                })?,
                name,
            })
        })
        .collect()
}
