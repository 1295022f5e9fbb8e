//! The embedded default: one file `soxctl.db` in the data directory, in WAL
//! mode. Writers serialise on SQLite's own lock (busy timeout, not failure).
//! Files this module creates are private to the service account (0700
//! directory, 0600 database, WAL, shared-memory and backup files).

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
    (3, include_str!("../../migrations/sqlite/0003_history.sql")),
    (4, include_str!("../../migrations/sqlite/0004_findings.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_documents_mitigations.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_scim.sql")),
    (7, include_str!("../../migrations/sqlite/0007_requests.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_outbox_channels.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_tokens_by_request.sql"),
    ),
    (
        10,
        include_str!("../../migrations/sqlite/0010_gate_token_binding.sql"),
    ),
];
pub const BACKEND: &str = "sqlite";

// The shared SQL is compiled once per backend on purpose (see backend/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
pub mod sql;

pub const DB_FILE: &str = "soxctl.db";

/// 600 × 50 ms: the 30 s busy timeout, for the one lock SQLite does not wait on.
const OPEN_BUSY_RETRIES: u32 = 600;

fn is_busy(error: &sqlx::Error) -> bool {
    // Extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, …) keep SQLITE_BUSY (5) in the low byte.
    error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// Opens (with `create`, first creates) the store in `dir`.
///
/// The store holds personal data and the ledger, so a store created here is
/// private to the service account: the data directory (when this creates it)
/// is mode 0700, and `soxctl.db` is created 0600 before SQLite opens it, so
/// it is never readable by others, not even briefly; SQLite gives its `-wal`
/// and `-shm` files the database file's mode. After the first connect the
/// modes are set again, so an unusual umask cannot widen them.
pub async fn connect(dir: &Path, create: bool) -> Result<sqlx::Pool<Db>> {
    let file = dir.join(DB_FILE);
    let mut created = false;
    // A zero-length file is what a first open interrupted before SQLite
    // wrote its first page leaves (the file is created here, before SQLite
    // opens it): not yet a store.
    let empty = std::fs::metadata(&file).is_ok_and(|m| m.len() == 0);
    if !file.exists() || empty {
        if !create {
            return Err(StoreError::Missing {
                path: dir.to_owned(),
            });
        }
        if !dir.exists() {
            private::create_dir(dir).map_err(|source| StoreError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        created = private::create_file(&file).map_err(|source| StoreError::Io {
            path: file.clone(),
            source,
        })? || empty;
    }
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit acknowledged to the caller survives power loss.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        // Statement journals (each multi-row statement keeps the pages it
        // changes, to undo itself alone on a constraint error) stay in
        // memory: past 64 KiB SQLite would write them to a temporary file,
        // which an import's thousand-row statements always pass. They are
        // never part of what a commit makes durable.
        .pragma("temp_store", "memory")
        .foreign_keys(false);
    let mut attempt = 0;
    let pool = loop {
        match SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => break pool,
            // Switching a new file to WAL needs an exclusive lock, and SQLite
            // answers BUSY at once, without its busy handler, while another
            // process opening the same new store holds it. Several replicas
            // starting together on a new store is normal, so wait like the
            // busy timeout would.
            Err(error) if is_busy(&error) && attempt < OPEN_BUSY_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // The file is left in place even when this call created it:
            // another opener may already be using it, and an empty file is
            // treated as missing above.
            Err(error) => return Err(error.into()),
        }
    };
    if created {
        for path in [
            file.clone(),
            dir.join(format!("{DB_FILE}-wal")),
            dir.join(format!("{DB_FILE}-shm")),
        ] {
            private::restrict_file(&path).map_err(|source| StoreError::Io { path, source })?;
        }
    }
    Ok(pool)
}

/// A consistent copy of a live store, taken while it serves. The copy holds
/// everything the store does, so it is written mode 0600.
pub async fn backup(pool: &sqlx::Pool<Db>, out: &Path) -> Result<()> {
    let target = out
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not valid UTF-8", out.display())))?;
    let io = |source| StoreError::Io {
        path: out.to_owned(),
        source,
    };
    // VACUUM INTO accepts an empty file: creating it 0600 first means the
    // copy is never readable by others while it is written.
    let created = private::create_file(out).map_err(io)?;
    let vacuumed = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(pool)
        .await;
    if let Err(error) = vacuumed {
        if created {
            // Leave nothing behind that would block a retry.
            let _ = std::fs::remove_file(out);
        }
        return Err(error.into());
    }
    private::restrict_file(out).map_err(io)?;
    Ok(())
}

/// Owner-only files and directories (no-ops where there are no unix modes).
mod private {
    use std::io;
    use std::path::Path;

    /// Creates `dir` and any missing parents, mode 0700.
    pub(super) fn create_dir(dir: &Path) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            builder.mode(0o700);
            builder.create(dir)?;
            // The umask may only narrow the mode; set it exactly anyway.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        }
        #[cfg(not(unix))]
        builder.create(dir)
    }

    /// Creates `file` empty with mode 0600; false when it already existed.
    pub(super) fn create_file(file: &Path) -> io::Result<bool> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(file) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sets `file` to mode 0600 if it exists.
    pub(super) fn restrict_file(file: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = file;
            Ok(())
        }
    }
}
