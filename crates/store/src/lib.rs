//! soxctl persistence.
//!
//! One [`Store`] over SQLite (embedded default) or PostgreSQL (production,
//! any number of replicas). State changes only through [`WriteTx::append`],
//! which writes the ledger entry and its projection in one transaction.

pub mod error;
pub mod failpoint;
pub mod signing;
pub mod verify;

mod backend;

pub use error::{Result, StoreError};
pub use failpoint::FailPoints;

use backend::{postgres, sqlite};
use soxctl_ledger::tree::Hash;
use soxctl_model::clock::Clock;
use soxctl_model::event::{Event, SealedPerson, StoreInitialised};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::Person;
use soxctl_model::principal::Principal;
use soxctl_model::projection::{PersonKeys, Row, RowKey, StoreRow, TokenRow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use backend::sqlite::DB_FILE;

/// The ledger's current size and compact range (its root at that size).
pub struct Head {
    pub size: u64,
    pub frontier: soxctl_ledger::tree::Frontier,
    /// Leaf hash of the last entry (zeros when empty): the next entry's `prev`.
    pub last_leaf: Hash,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub signed_at: String,
}

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory holding `soxctl.db` (and its WAL).
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Location {
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("SQLite store {}", dir.join(DB_FILE).display()),
            // Never echo a password that may be in the URL.
            Self::Postgres(url) => match url.split_once('@') {
                Some((_, host)) => format!("PostgreSQL store postgres://…@{host}"),
                None => "PostgreSQL store".to_owned(),
            },
        }
    }
}

/// Shared by the store and its transactions.
pub struct Context {
    pub clock: Arc<dyn Clock>,
    pub failpoints: FailPoints,
    appended: AtomicU64,
    wake: tokio::sync::Notify,
    /// The newest checkpoint this process signed or checked (see `checkpoint.rs`).
    witness: std::sync::Mutex<checkpoint::Witness>,
}

impl Context {
    fn appended(&self, n: u64) {
        if n > 0 {
            self.appended.fetch_add(n, Ordering::Relaxed);
            self.wake.notify_waiters();
        }
    }
}

/// What a committed write transaction produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// Ledger size after the commit.
    pub size: u64,
    pub appended: u64,
    pub root: Hash,
}

#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::sql::Inner),
    Postgres(postgres::sql::Inner),
}

pub enum WriteTx {
    Sqlite(sqlite::sql::write::Tx),
    Postgres(postgres::sql::write::Tx),
}

/// Runs `$body` with `$inner` bound to the backend's value and `$m` to that
/// backend's SQL module.
macro_rules! each {
    ($value:expr, $ty:ident, |$inner:ident, $m:ident| $body:expr) => {
        match $value {
            $ty::Sqlite($inner) => {
                #[allow(unused_imports)]
                use crate::backend::sqlite::sql as $m;
                $body
            }
            $ty::Postgres($inner) => {
                #[allow(unused_imports)]
                use crate::backend::postgres::sql as $m;
                $body
            }
        }
    };
}

/// Runs `$body` with `$conn` a pooled connection of the store.
macro_rules! with_conn {
    ($store:expr, |$conn:ident, $m:ident| $body:expr) => {
        each!($store, Store, |inner, $m| {
            let mut pooled = inner.pool.acquire().await?;
            let $conn = &mut *pooled;
            $body
        })
    };
}

// Declared after the dispatch macros, which they use.
pub mod checkpoint;
pub mod documents;
pub mod erasure;
pub mod findings;
pub mod history;
pub mod idempotency;
pub mod jobs;
pub mod outbox;
mod reads;
pub mod requests;
pub mod scim;

pub use jobs::{JobRunner, JobRunnerHandle, JobStatus, TickReport};
pub use outbox::{
    Deliver, DeliveryReport, OutboxMessage, OutboxPolicy, OutboxRecord, OutboxStatus, OutboxWorker,
};

#[derive(Clone)]
pub struct OpenOptions {
    pub location: Location,
    /// Create the store when it is missing (import, token create, serve, demo).
    pub create: bool,
    pub clock: Arc<dyn Clock>,
    pub failpoints: FailPoints,
}

impl Store {
    pub async fn open(options: OpenOptions) -> Result<Store> {
        let ctx = Arc::new(Context {
            clock: options.clock,
            failpoints: options.failpoints,
            appended: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
            witness: Default::default(),
        });
        let store = match &options.location {
            Location::Sqlite(dir) => {
                let pool = sqlite::connect(dir, options.create).await?;
                sqlite::sql::migrate::run(&pool).await?;
                Store::Sqlite(sqlite::sql::Inner { pool, ctx })
            }
            Location::Postgres(url) => {
                let pool = postgres::connect(url).await?;
                postgres::sql::migrate::run(&pool).await?;
                Store::Postgres(postgres::sql::Inner { pool, ctx })
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        each!(self, Store, |_inner, m| m::BACKEND)
    }

    pub fn context(&self) -> &Arc<Context> {
        each!(self, Store, |inner, _m| &inner.ctx)
    }

    /// Entries appended through this process since it opened the store.
    pub fn appended_here(&self) -> u64 {
        self.context().appended.load(Ordering::Relaxed)
    }

    /// Resolves when this process appends entries.
    pub async fn appended_notification(&self) {
        self.context().wake.notified().await;
    }

    pub async fn close(&self) {
        each!(self, Store, |inner, _m| inner.pool.close().await)
    }

    /// Records the store's identity as entry 0 when the ledger is empty.
    pub async fn initialise(&self, origin: Option<String>, demo: bool) -> Result<StoreRow> {
        if let Some(meta) = self.meta().await? {
            return Ok(meta);
        }
        let mut tx = self.begin_write().await?;
        if tx.size() == 0 {
            let store_id = uuid::Uuid::new_v4().to_string();
            let origin = origin.unwrap_or_else(|| format!("soxctl/{store_id}"));
            let event = Event::StoreInitialised(StoreInitialised {
                store_id,
                origin,
                demo,
            });
            tx.append(&Principal::system("store"), &event).await?;
            tx.commit().await?;
        }
        self.meta()
            .await?
            .ok_or_else(|| StoreError::Head("store_meta missing after initialisation".into()))
    }

    pub async fn begin_write(&self) -> Result<WriteTx> {
        Ok(match self {
            Store::Sqlite(inner) => WriteTx::Sqlite(inner.begin_write().await?),
            Store::Postgres(inner) => WriteTx::Postgres(inner.begin_write().await?),
        })
    }

    /// Appends one event in its own transaction.
    pub async fn append_one(&self, actor: &Principal, event: &Event) -> Result<Receipt> {
        let mut tx = self.begin_write().await?;
        tx.append(actor, event).await?;
        tx.commit().await
    }

    pub async fn meta(&self) -> Result<Option<StoreRow>> {
        with_conn!(self, |conn, m| m::rows::store_meta(conn).await)
    }

    /// The ledger's size alone: every committed state change moves it (no
    /// projection row changes without its entry), so it tells a reader
    /// whether anything it derived from the store may be stale.
    pub async fn ledger_size(&self) -> Result<u64> {
        with_conn!(self, |conn, m| m::ledger::size(conn).await)
    }

    pub async fn head(&self) -> Result<Head> {
        with_conn!(self, |conn, m| m::ledger::head(conn).await)
    }

    pub async fn entries(&self, from: u64, count: u64) -> Result<Vec<(u64, Hash, Vec<u8>)>> {
        with_conn!(self, |conn, m| m::ledger::entries(conn, from, count).await)
    }

    pub async fn leaf_hash(&self, seq: u64) -> Result<Option<Hash>> {
        with_conn!(self, |conn, m| m::ledger::leaf_hash_at(conn, seq).await)
    }

    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        with_conn!(self, |conn, m| m::ledger::inclusion_proof(
            conn, index, size
        )
        .await)
    }

    pub async fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>> {
        with_conn!(self, |conn, m| m::ledger::consistency_proof(
            conn, size1, size2
        )
        .await)
    }

    pub async fn root_at(&self, size: u64) -> Result<Hash> {
        with_conn!(self, |conn, m| m::ledger::root_at(conn, size).await)
    }

    pub async fn node_levels(&self) -> Result<Vec<u32>> {
        with_conn!(self, |conn, m| m::ledger::node_levels(conn).await)
    }

    pub async fn nodes_of_level(&self, level: u32) -> Result<Vec<(u64, Hash)>> {
        with_conn!(self, |conn, m| m::ledger::nodes_of_level(conn, level).await)
    }

    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        with_conn!(self, |conn, m| m::ledger::checkpoints(conn).await)
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        with_conn!(self, |conn, m| m::ledger::latest_checkpoint(conn).await)
    }

    pub async fn all_rows(&self) -> Result<BTreeMap<RowKey, Row>> {
        with_conn!(self, |conn, m| m::rows::all_rows(conn).await)
    }

    /// Every person's keys, by (person, key id): not state, never in the ledger.
    pub async fn person_keys(&self) -> Result<PersonKeys> {
        with_conn!(self, |conn, m| m::write::person_keys(conn).await)
    }

    pub async fn token_by_secret_hash(&self, secret_sha256: &str) -> Result<Option<TokenRow>> {
        with_conn!(self, |conn, m| m::rows::token_by_secret_hash(
            conn,
            secret_sha256
        )
        .await)
    }

    /// Store and ledger writable: takes the writer lock and rolls back.
    pub async fn check_writable(&self) -> Result<u64> {
        let tx = self.begin_write().await?;
        Ok(tx.size())
    }

    /// After a large write on SQLite: empties the WAL, whose pages are
    /// already in the database once the commit's own checkpoint ran.
    /// Readers of a store whose WAL still holds a bulk write's gigabyte
    /// look every page up in its index (about 3× slower full scans) until
    /// a later writer restarts it. Best effort, and brief: a TRUNCATE
    /// checkpoint holds the write lock while it waits for readers of older
    /// snapshots, so it waits at most 200 ms for them (not the 30 s busy
    /// timeout, which would stall a serving process's writers) and gives up.
    /// True when the WAL was emptied.
    pub async fn settle_wal(&self) -> Result<bool> {
        let Store::Sqlite(inner) = self else {
            return Ok(true);
        };
        let mut conn = inner.pool.acquire().await?;
        // The connection goes back to the pool with the usual timeout, or
        // is closed rather than returned with this one.
        conn.close_on_drop();
        sqlx::query("PRAGMA busy_timeout = 200")
            .execute(&mut *conn)
            .await?;
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        Ok(busy == 0)
    }

    /// A consistent online copy of an SQLite store into `out` (a new file).
    pub async fn backup(&self, out: &Path) -> Result<()> {
        match self {
            Store::Sqlite(inner) => sqlite::backup(&inner.pool, out).await,
            Store::Postgres(_) => Err(StoreError::Invalid(
                "backups of PostgreSQL stores use PostgreSQL's own tools (pg_dump, pg_basebackup); see docs/operations.md"
                    .into(),
            )),
        }
    }

    /// Runs raw SQL outside the ledger, as an attacker with database access
    /// would: only for tamper tests, compiled only with the `tamper-tests`
    /// feature, which no production build enables.
    #[cfg(feature = "tamper-tests")]
    #[doc(hidden)]
    pub async fn execute_unchecked(&self, sql: &str) -> Result<()> {
        each!(self, Store, |inner, _m| {
            sqlx::raw_sql(sql).execute(&inner.pool).await?;
        });
        Ok(())
    }
}

impl WriteTx {
    pub fn size(&self) -> u64 {
        each!(self, WriteTx, |tx, _m| tx.size())
    }

    /// The store clock's time.
    pub fn now(&self) -> soxctl_model::time::Timestamp {
        each!(self, WriteTx, |tx, _m| tx.now())
    }

    pub async fn append(&mut self, actor: &Principal, event: &Event) -> Result<u64> {
        each!(self, WriteTx, |tx, _m| tx.append(actor, event).await)
    }

    /// Says that about `appends` entries follow, so that a large write can
    /// be set up for its size (see the backend's `Tx::prepare_bulk`).
    pub async fn prepare_bulk(&mut self, appends: u64) -> Result<()> {
        each!(self, WriteTx, |tx, _m| tx.prepare_bulk(appends).await)
    }

    /// Looks up the live keys of the people about to be sealed in a few
    /// statements (see the backend's `Tx::prepare_sealing`).
    pub async fn prepare_sealing(&mut self, people: &[PersonId]) -> Result<()> {
        each!(self, WriteTx, |tx, _m| tx.prepare_sealing(people).await)
    }

    pub async fn seal_person(&mut self, person: &Person) -> Result<SealedPerson> {
        each!(self, WriteTx, |tx, _m| tx.seal_person(person).await)
    }

    pub async fn baselined_systems(&mut self) -> Result<Vec<soxctl_model::ids::SystemId>> {
        each!(self, WriteTx, |tx, m| {
            let baselines = m::rows::baselines(tx.conn().await?).await?;
            Ok(baselines.into_iter().map(|b| b.system_id).collect())
        })
    }

    pub async fn commit(self) -> Result<Receipt> {
        each!(self, WriteTx, |tx, _m| tx.commit().await)
    }
}
