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
use soxctl_model::projection::{self, EntryContext};
use soxctl_model::sealed::{KEY_LEN, NONCE_LEN, PersonKey};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Subtree levels whose hashes are persisted (every 4th: about 7% more rows
/// than the entries): a proof then reads at most 15 hashes per level it
/// touches, all in one round trip.
pub const NODE_STRIDE: u32 = 4;

/// Entries per multi-row insert.
const ENTRY_BATCH: usize = 64;

pub struct Tx {
    tx: sqlx::Transaction<'static, Db>,
    ctx: Arc<Context>,
    frontier: Frontier,
    last_leaf: Hash,
    first_size: u64,
    keys: BTreeMap<PersonId, PersonKey>,
    /// Entries appended but not yet inserted: written in multi-row
    /// statements (each statement is a round trip to the database thread),
    /// always before commit. Nothing in a write transaction reads them back.
    pending: Vec<(i64, Hash, Vec<u8>)>,
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
            tx,
            ctx: self.ctx.clone(),
            frontier,
            last_leaf,
            first_size: size,
            keys: BTreeMap::new(),
            poisoned: false,
            pending: Vec::new(),
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
        if self.pending.len() >= ENTRY_BATCH {
            self.flush_entries().await?;
        }
        for (node, hash) in self.frontier.push(leaf) {
            if node.level % NODE_STRIDE == 0 {
                sqlx::query("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                    .bind(i64::from(node.level))
                    .bind(i64::try_from(node.index).unwrap_or(i64::MAX))
                    .bind(&hash[..])
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        self.ctx
            .failpoints
            .check(failpoint::APPEND_BEFORE_PROJECTION)?;
        self.preload_keys(event).await?;
        let changes = projection::project(&EntryContext { time, actor }, event, &self.keys)?;
        for change in changes {
            if self.rows.push(change) {
                self.flush_rows().await?;
            }
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

    async fn preload_keys(&mut self, event: &Event) -> Result<()> {
        if let Event::PersonAdded(f) | Event::PersonChanged(f) = event
            && !self.keys.contains_key(&f.person.person_id)
            && let Some(key) = load_key(&mut self.tx, &f.person.person_id).await?
        {
            self.keys.insert(f.person.person_id.clone(), key);
        }
        Ok(())
    }

    /// The person's key for sealed fields, created on first use.
    pub async fn person_key(&mut self, person: &PersonId) -> Result<PersonKey> {
        if let Some(key) = self.keys.get(person) {
            return Ok(*key);
        }
        let key = match load_key(&mut self.tx, person).await? {
            Some(key) => key,
            None => {
                let key: PersonKey = random::<KEY_LEN>()?;
                sqlx::query("INSERT INTO person_keys (person_id, key) VALUES ($1, $2)")
                    .bind(person.as_str())
                    .bind(&key[..])
                    .execute(&mut *self.tx)
                    .await?;
                key
            }
        };
        self.keys.insert(person.clone(), key);
        Ok(key)
    }

    pub async fn seal_person(&mut self, person: &Person) -> Result<SealedPerson> {
        let key = self.person_key(&person.person_id).await?;
        let mut failure = None;
        let sealed = projection::seal_person(person, &key, || {
            random::<NONCE_LEN>().unwrap_or_else(|e| {
                failure = Some(e);
                [0; NONCE_LEN]
            })
        })
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        match failure {
            Some(e) => Err(e),
            None => Ok(sealed),
        }
    }

    /// The inventory as of this transaction (reads see its own appends).
    pub async fn inventory(&mut self) -> Result<Inventory> {
        rows::inventory(self.conn().await?).await
    }

    /// The transaction's connection, once the state rows of every append
    /// so far are written: reads through it see this transaction's appends.
    pub async fn conn(&mut self) -> Result<&mut Conn> {
        self.flush_rows().await?;
        Ok(&mut self.tx)
    }

    /// Writes the buffered row changes. A failure poisons the transaction,
    /// as a failed append does: some of its appends' rows may be missing.
    async fn flush_rows(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let flushed = self.rows.flush(&mut self.tx).await;
        if flushed.is_err() {
            self.poisoned = true;
        }
        flushed
    }

    async fn flush_entries(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let entries = std::mem::take(&mut self.pending);
        let sql = format!(
            "INSERT INTO ledger_entries (seq, leaf_hash, bytes) VALUES {}",
            rows::placeholders(entries.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (seq, leaf, bytes) in entries {
            query = query.bind(seq).bind(leaf.to_vec()).bind(bytes);
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<Receipt> {
        self.check_not_poisoned()?;
        self.flush_entries().await?;
        self.flush_rows().await?;
        self.ctx.failpoints.check(failpoint::COMMIT_BEFORE_HEAD)?;
        let size = self.frontier.size();
        sqlx::query("UPDATE ledger_head SET size = $1, last_leaf = $2, frontier = $3 WHERE id = 1")
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(&self.last_leaf[..])
            .bind(self.frontier.to_bytes())
            .execute(&mut *self.tx)
            .await?;
        self.ctx.failpoints.check(failpoint::COMMIT_BEFORE_COMMIT)?;
        self.tx.commit().await?;
        self.ctx.appended(size - self.first_size);
        self.ctx.failpoints.check(failpoint::COMMIT_AFTER_COMMIT)?;
        Ok(Receipt {
            size,
            appended: size - self.first_size,
            root: self.frontier.root(),
        })
    }
}

async fn load_key(conn: &mut Conn, person: &PersonId) -> Result<Option<PersonKey>> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT key FROM person_keys WHERE person_id = $1")
            .bind(person.as_str())
            .fetch_optional(conn)
            .await?;
    row.map(|(k,)| {
        k.try_into()
            .map_err(|_| StoreError::Invalid(format!("person key of {person} is not 32 bytes")))
    })
    .transpose()
}

pub async fn person_keys(conn: &mut Conn) -> Result<BTreeMap<PersonId, PersonKey>> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT person_id, key FROM person_keys")
        .fetch_all(conn)
        .await?;
    let mut keys = BTreeMap::new();
    for (id, key) in rows {
        let pid = PersonId::parse(id.as_str()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let key: PersonKey = key
            .try_into()
            .map_err(|_| StoreError::Invalid(format!("person key of {id} is not 32 bytes")))?;
        keys.insert(pid, key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
