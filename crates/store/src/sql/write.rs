//! The only way to change state: a write transaction whose mutating method
//! appends a ledger entry and applies that entry's projection, together.
//! Dropping it without `commit` rolls both back.

use super::{Conn, Db, Inner, rows};
use crate::error::{Result, StoreError};
use crate::failpoint;
use crate::{Context, Receipt};
use soxctl_ledger::entry::{Entry, ZERO_HASH};
use soxctl_ledger::tree::{Frontier, Hash, leaf_hash};
use soxctl_model::event::{Event, SealedPerson};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::{Inventory, Person};
use soxctl_model::principal::Principal;
use soxctl_model::projection::{self, EntryContext, PersonKeys};
use soxctl_model::sealed::{KEY_LEN, KeyId, NONCE_LEN, PersonKey};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Subtree levels whose hashes are persisted (every 4th: about 7% more rows
/// than the entries): a proof then reads at most 15 hashes per level it
/// touches, all in one round trip.
pub const NODE_STRIDE: u32 = 4;

/// Entries per multi-row insert (3 parameters each). A statement is a round
/// trip to the database thread or server and a message with its own
/// allocations; a thousand rows make that cost small per row, and stay far
/// under both backends' parameter limits (SQLite 32766, PostgreSQL 65535).
const ENTRY_BATCH: usize = 1024;

/// SQLite's page cache for a bulk write, in KiB (negative `cache_size`): a
/// large import updates secondary indexes of a million rows at random
/// places, and with the default 2 MiB cache SQLite spills dirty pages to the
/// WAL in the middle of the transaction and reads them back. Only memory:
/// what is written, and when it is synced, stays the same.
const BULK_CACHE_KIB: i64 = 256 * 1024;

/// Appends from which `prepare_bulk` sets a write up for its size.
const BULK_FROM: u64 = 10_000;

/// The state tables a large write may fill from empty (a first import):
/// their secondary indexes are then built once, at commit, instead of
/// being updated at a random place for every row (see `prepare_bulk`).
const BULK_TABLES: [&str; 5] = [
    "grants",
    "grant_history",
    "accounts",
    "account_history",
    "findings",
];

/// The transaction's connection: here, or lent to a task that writes one
/// batch of buffered rows while the appends of the next are prepared (the
/// database works on one core, the appends on another).
enum Link {
    Here(sqlx::Transaction<'static, Db>),
    Lent(tokio::task::JoinHandle<(sqlx::Transaction<'static, Db>, Result<()>)>),
    /// The task writing a batch panicked or was cancelled; dropping it
    /// rolled the transaction back.
    Lost,
}

/// Buffered entries, subtree hashes, new person keys and row changes,
/// written together.
struct Batch {
    entries: Vec<(i64, Hash, Vec<u8>)>,
    nodes: Vec<(i64, i64, Hash)>,
    keys: Vec<(PersonId, i64, PersonKey)>,
    rows: rows::Runs,
}

impl Batch {
    async fn write(self, conn: &mut Conn) -> Result<()> {
        // Few enough per batch (one per person added): one statement.
        for chunk in self.keys.chunks(ENTRY_BATCH) {
            let sql = format!(
                "INSERT INTO person_keys (person_id, generation, key) VALUES {}",
                rows::placeholders(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (person, generation, key) in chunk {
                query = query
                    .bind(person.as_str().to_owned())
                    .bind(*generation)
                    .bind(key.to_vec());
            }
            query.execute(&mut *conn).await?;
        }
        if !self.entries.is_empty() {
            let sql = format!(
                "INSERT INTO ledger_entries (seq, leaf_hash, bytes) VALUES {}",
                rows::placeholders(self.entries.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (seq, leaf, bytes) in self.entries {
                query = query.bind(seq).bind(leaf.to_vec()).bind(bytes);
            }
            query.execute(&mut *conn).await?;
        }
        // One node per 16 entries or fewer: they fit the entries' batches.
        if !self.nodes.is_empty() {
            let sql = format!(
                "INSERT INTO ledger_nodes (level, idx, hash) VALUES {}",
                rows::placeholders(self.nodes.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (level, idx, hash) in self.nodes {
                query = query.bind(level).bind(idx).bind(hash.to_vec());
            }
            query.execute(&mut *conn).await?;
        }
        self.rows.write(conn).await
    }
}

/// What `prepare_bulk` changed.
#[derive(Default)]
struct Bulk {
    /// SQLite settings of the pooled connection to put back at commit.
    restore: Vec<(&'static str, i64)>,
    /// `CREATE INDEX` statements of the indexes dropped, to run before
    /// commit.
    rebuild: Vec<String>,
}

#[derive(Default)]
struct MadeKeys {
    /// People `prepare_sealing` found without a key: their first key is
    /// made without asking the database again.
    keyless: HashSet<PersonId>,
    /// Keys made but not yet inserted, `(person, generation, key)`:
    /// written with the next batch, before anything reads through this
    /// transaction (the key of a person is found in `sealing` till then).
    pending: Vec<(PersonId, i64, PersonKey)>,
}

pub struct Tx {
    link: Link,
    ctx: Arc<Context>,
    frontier: Frontier,
    last_leaf: Hash,
    first_size: u64,
    /// Keys loaded for projecting sealed fields, by (person, key id).
    keys: PersonKeys,
    /// Each person's live key, for sealing, once loaded or made.
    sealing: BTreeMap<PersonId, (KeyId, PersonKey)>,
    /// What `prepare_sealing` found and the keys not yet written (boxed:
    /// a transaction is moved around in futures and enums, and most seal
    /// nothing).
    made: Box<MadeKeys>,
    /// Entries appended but not yet inserted: written in multi-row
    /// statements (each statement is a round trip to the database thread),
    /// always before commit. Nothing in a write transaction reads them back.
    pending: Vec<(i64, Hash, Vec<u8>)>,
    /// Persisted subtree hashes not yet inserted, `(level, idx, hash)`:
    /// written with the entries.
    nodes: Vec<(i64, i64, Hash)>,
    /// What `prepare_bulk` changed, to put back or finish at commit
    /// (boxed: most transactions are not bulk ones).
    bulk: Option<Box<Bulk>>,
    /// Projected row changes not yet written: in multi-row statements, in
    /// order, before anything reads through this transaction (`conn`,
    /// `inventory`) and before commit.
    rows: rows::Pending,
    /// An append failed part-way (its entry row may be written, its
    /// projection not): the transaction can only be rolled back.
    poisoned: bool,
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(buf)
}

impl Inner {
    pub async fn begin_write(&self) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        // Writing the head row first takes the writer lock (SQLite) or the
        // row lock (PostgreSQL, across replicas): appends are serialised and
        // the ledger stays gap-free.
        let (size, last_leaf, frontier): (i64, Vec<u8>, Vec<u8>) = sqlx::query_as(
            "UPDATE ledger_head SET writes = writes + 1 WHERE id = 1 RETURNING size, last_leaf, frontier",
        )
        .fetch_one(&mut *tx)
        .await?;
        let frontier =
            Frontier::from_bytes(&frontier).map_err(|e| StoreError::Head(e.to_string()))?;
        let size =
            u64::try_from(size).map_err(|_| StoreError::Head(format!("negative size {size}")))?;
        if frontier.size() != size {
            return Err(StoreError::Head(format!(
                "size {size} but compact range covers {}",
                frontier.size()
            )));
        }
        let last_leaf: Hash = if size == 0 {
            ZERO_HASH
        } else {
            last_leaf
                .try_into()
                .map_err(|_| StoreError::Head("last leaf hash is not 32 bytes".into()))?
        };
        Ok(Tx {
            link: Link::Here(tx),
            ctx: self.ctx.clone(),
            frontier,
            last_leaf,
            first_size: size,
            keys: PersonKeys::new(),
            sealing: BTreeMap::new(),
            made: Box::default(),
            poisoned: false,
            pending: Vec::new(),
            nodes: Vec::new(),
            bulk: None,
            rows: rows::Pending::default(),
        })
    }
}

impl Tx {
    /// The number of entries once this transaction commits.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn now(&self) -> soxctl_model::time::Timestamp {
        self.ctx.clock.now()
    }

    /// The seq of the last entry this transaction appended, if any: an
    /// outbox message is tied to it (see `crate::outbox`).
    pub fn last_appended(&self) -> Result<Option<u64>> {
        self.check_not_poisoned()?;
        let size = self.frontier.size();
        Ok((size > self.first_size).then(|| size - 1))
    }

    pub async fn append(&mut self, actor: &Principal, event: &Event) -> Result<u64> {
        self.check_not_poisoned()?;
        // Cleared only when the append completes; any early return keeps it.
        self.poisoned = true;
        let (kind, payload) = event.to_parts()?;
        self.ctx.failpoints.check(failpoint::APPEND_BEFORE_ENTRY)?;
        let time = self.ctx.clock.now();
        let seq = self.frontier.size();
        let entry = Entry {
            v: 1,
            seq,
            time: time.to_canonical(),
            actor: actor.to_string(),
            kind,
            payload,
            prev: self.last_leaf,
        };
        let bytes = entry.to_bytes()?;
        let leaf = leaf_hash(&bytes);
        let seq_i64 =
            i64::try_from(seq).map_err(|_| StoreError::Head("ledger size overflow".into()))?;
        self.pending.push((seq_i64, leaf, bytes));
        let mut flush = if self.pending.len() >= ENTRY_BATCH {
            rows::Flush::Full
        } else {
            rows::Flush::No
        };
        for (node, hash) in self.frontier.push(leaf) {
            if node.level % NODE_STRIDE == 0 {
                self.nodes.push((
                    i64::from(node.level),
                    i64::try_from(node.index).unwrap_or(i64::MAX),
                    hash,
                ));
            }
        }
        self.ctx
            .failpoints
            .check(failpoint::APPEND_BEFORE_PROJECTION)?;
        self.preload_keys(event).await?;
        let changes = projection::project(&EntryContext { seq, time, actor }, event, &self.keys)?;
        for change in changes {
            flush = flush.max(self.rows.push(change));
        }
        match flush {
            rows::Flush::No => {}
            rows::Flush::Full => self.flush_behind().await?,
            rows::Flush::Now => self.flush().await?,
        }
        self.last_leaf = leaf;
        self.poisoned = false;
        Ok(seq)
    }

    fn check_not_poisoned(&self) -> Result<()> {
        if self.poisoned {
            return Err(StoreError::Invalid(
                "an earlier append in this write transaction failed; it can only be rolled back"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The inventory as of this transaction (reads see its own appends).
    pub async fn inventory(&mut self) -> Result<Inventory> {
        rows::inventory(self.conn().await?).await
    }

    /// The transaction's connection, once the state rows of every append
    /// so far are written: reads through it see this transaction's appends.
    pub async fn conn(&mut self) -> Result<&mut Conn> {
        self.flush().await?;
        self.db().await
    }

    /// The connection, once the batch being written in the background (if
    /// any) is written. Its failure poisons the transaction.
    async fn db(&mut self) -> Result<&mut Conn> {
        if let Link::Lent(_) = self.link {
            self.link = match std::mem::replace(&mut self.link, Link::Lost) {
                Link::Lent(task) => match task.await {
                    Ok((tx, Ok(()))) => Link::Here(tx),
                    Ok((tx, Err(e))) => {
                        self.link = Link::Here(tx);
                        self.poisoned = true;
                        // Nothing more is written: the transaction can only
                        // be rolled back.
                        drop(self.take_batch());
                        return Err(e);
                    }
                    Err(e) => {
                        self.poisoned = true;
                        return Err(StoreError::Invalid(format!(
                            "the task writing this transaction's rows failed: {e}"
                        )));
                    }
                },
                other => other,
            };
        }
        match &mut self.link {
            Link::Here(tx) => Ok(&mut **tx),
            _ => Err(StoreError::Invalid(
                "this write transaction lost its connection; it was rolled back".into(),
            )),
        }
    }

    fn take_batch(&mut self) -> Batch {
        Batch {
            entries: std::mem::take(&mut self.pending),
            nodes: std::mem::take(&mut self.nodes),
            keys: std::mem::take(&mut self.made.pending),
            rows: self.rows.take(),
        }
    }

    /// Writes what is buffered, and waits for it. A failure poisons the
    /// transaction, as a failed append does: some of its appends' rows may
    /// be missing.
    async fn flush(&mut self) -> Result<()> {
        let batch = self.take_batch();
        let conn = self.db().await?;
        if batch.entries.is_empty()
            && batch.rows.is_empty()
            && batch.nodes.is_empty()
            && batch.keys.is_empty()
        {
            return Ok(());
        }
        let written = batch.write(conn).await;
        if written.is_err() {
            self.poisoned = true;
        }
        written
    }

    /// Starts writing what is buffered, in a task, and returns while it
    /// runs (after the previous such write is done: batches are written in
    /// order). A failure shows at the next use of the connection (an append
    /// that writes, a read, the commit) and poisons the transaction there.
    async fn flush_behind(&mut self) -> Result<()> {
        self.db().await?;
        let Link::Here(mut tx) = std::mem::replace(&mut self.link, Link::Lost) else {
            return Err(StoreError::Invalid(
                "this write transaction lost its connection; it was rolled back".into(),
            ));
        };
        let batch = self.take_batch();
        self.link = Link::Lent(tokio::spawn(async move {
            let written = batch.write(&mut tx).await;
            (tx, written)
        }));
        Ok(())
    }

    /// Tells the transaction that about `appends` entries follow (an
    /// import knows its diff). On SQLite a large one gets a page cache
    /// that holds the indexes it updates. That changes neither what is
    /// committed nor how it is synced. The size is put back just before
    /// the commit (the dirty pages stay until the commit writes them); a
    /// transaction dropped without commit leaves the larger cache on its
    /// pooled connection, which costs memory only.
    ///
    /// The non-unique secondary indexes of the `BULK_TABLES` that are
    /// still empty are dropped and created again (from their own stored
    /// definitions) before the commit, in the same transaction: building
    /// an index from a sort of all its rows is several times cheaper than
    /// a million inserts at random places. Readers keep seeing the schema
    /// and rows of the last commit (WAL); a rollback restores the indexes
    /// with everything else; no unique index is dropped, so every
    /// constraint is still checked where it was. Not on PostgreSQL, where
    /// dropping an index locks its table against readers until the commit.
    pub async fn prepare_bulk(&mut self, appends: u64) -> Result<()> {
        if super::BACKEND != "sqlite" || appends < BULK_FROM || self.bulk.is_some() {
            return Ok(());
        }
        // Recorded as each step is done: a failure part-way leaves what
        // was changed to be put back (or rolled back with the rest).
        self.bulk = Some(Box::default());
        for table in BULK_TABLES {
            // A table name from the list above, not input.
            let (empty,): (bool,) =
                sqlx::query_as(&format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"))
                    .fetch_one(self.db().await?)
                    .await?;
            if !empty {
                continue;
            }
            let indexes: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, sql FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
            )
            .bind(table)
            .fetch_all(self.db().await?)
            .await?;
            for (name, sql) in indexes {
                if sql.to_ascii_uppercase().contains("UNIQUE") {
                    continue;
                }
                let name = name.replace('"', "\"\"");
                sqlx::query(&format!("DROP INDEX \"{name}\""))
                    .execute(self.db().await?)
                    .await?;
                if let Some(bulk) = self.bulk.as_mut() {
                    bulk.rebuild.push(sql);
                }
            }
        }
        for (pragma, value) in [("cache_size", -BULK_CACHE_KIB)] {
            let (previous,): (i64,) = sqlx::query_as(&format!("PRAGMA {pragma}"))
                .fetch_one(self.db().await?)
                .await?;
            // Numbers from this code, not input.
            sqlx::query(&format!("PRAGMA {pragma} = {value}"))
                .execute(self.db().await?)
                .await?;
            if let Some(bulk) = self.bulk.as_mut() {
                bulk.restore.push((pragma, previous));
            }
        }
        Ok(())
    }

    /// Puts back the settings `prepare_bulk` changed.
    async fn restore_settings(&mut self) -> Result<()> {
        let restore = self
            .bulk
            .as_mut()
            .map(|bulk| std::mem::take(&mut bulk.restore))
            .unwrap_or_default();
        for (pragma, previous) in restore {
            sqlx::query(&format!("PRAGMA {pragma} = {previous}"))
                .execute(self.db().await?)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(mut self) -> Result<Receipt> {
        self.check_not_poisoned()?;
        self.flush().await?;
        let rebuild = self
            .bulk
            .as_mut()
            .map(|bulk| std::mem::take(&mut bulk.rebuild))
            .unwrap_or_default();
        for sql in rebuild {
            sqlx::query(&sql).execute(self.db().await?).await?;
        }
        self.ctx.failpoints.check(failpoint::COMMIT_BEFORE_HEAD)?;
        let size = self.frontier.size();
        let last_leaf = self.last_leaf;
        sqlx::query("UPDATE ledger_head SET size = $1, last_leaf = $2, frontier = $3 WHERE id = 1")
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(&last_leaf[..])
            .bind(self.frontier.to_bytes())
            .execute(self.db().await?)
            .await?;
        self.ctx.failpoints.check(failpoint::COMMIT_BEFORE_COMMIT)?;
        self.restore_settings().await?;
        let Link::Here(tx) = std::mem::replace(&mut self.link, Link::Lost) else {
            return Err(StoreError::Invalid(
                "this write transaction lost its connection; it was rolled back".into(),
            ));
        };
        tx.commit().await?;
        self.ctx.appended(size - self.first_size);
        self.ctx.failpoints.check(failpoint::COMMIT_AFTER_COMMIT)?;
        Ok(Receipt {
            size,
            appended: size - self.first_size,
            root: self.frontier.root(),
        })
    }
}

mod keys;

pub use keys::person_keys;

#[cfg(test)]
mod tests;
