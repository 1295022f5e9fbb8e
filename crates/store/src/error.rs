use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no soxctl store at {path}: create one with `soxctl import SNAPSHOT`, `soxctl serve`, `soxctl demo` or `soxctl token create --init --scope admin`, or pass --data/--database (or set SOXCTL_DATA/SOXCTL_DATABASE)"
    )]
    Missing { path: PathBuf },
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database failed ({0}): check that it is running, reachable and not full, then retry"
    )]
    Database(sqlx::Error),
    /// Text the database cannot hold or search (PostgreSQL refuses a NUL
    /// character in text): bad input, not an outage.
    #[error("{0}")]
    Unstorable(String),
    #[error(
        "the store's schema is at version {found}, newer than this soxctl knows ({known}); upgrade soxctl (downgrades are refused)"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the ledger head is damaged: {0}; run `soxctl verify` to locate the problem")]
    Head(String),
    #[error("cannot write the ledger entry: {0}")]
    Entry(#[from] soxctl_ledger::entry::EntryError),
    #[error("cannot record event: {0}")]
    Event(#[from] soxctl_model::event::EventError),
    #[error("cannot apply event to the state tables: {0}")]
    Projection(#[from] soxctl_model::projection::ProjectionError),
    #[error("signing key: {0}")]
    SigningKey(String),
    #[error("proof: {0}")]
    Proof(String),
    #[error("stored row {table} {key} is malformed: {reason}")]
    Row {
        table: &'static str,
        key: String,
        reason: String,
    },
    #[error("{0}")]
    Tampered(String),
    #[error("injected failure at {0}")]
    Injected(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error("{0}")]
    Invalid(String),
    /// A question named something the store does not hold.
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn row_error(
    table: &'static str,
    key: impl ToString,
    reason: impl ToString,
) -> StoreError {
    StoreError::Row {
        table,
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        // SQLSTATE 22021 (character_not_in_repertoire): PostgreSQL's answer
        // to a NUL in a text value; SQLite stores it. Either way a value
        // with a NUL names nothing soxctl holds.
        if let sqlx::Error::Database(db) = &error
            && db.code().as_deref() == Some("22021")
        {
            return StoreError::Unstorable(
                "a value holds a NUL character (\\0), which no soxctl id or text may hold: remove it"
                    .into(),
            );
        }
        StoreError::Database(error)
    }
}
