//! Applying projected changes.
//!
//! Each statement is a round trip (to SQLite's worker thread, or to the
//! PostgreSQL server), so a write transaction buffers the changes its appends
//! project and writes them in multi-row statements: one per run of changes
//! with the same table and operation. Within a table the runs keep the order
//! of the changes (a change joins its table's latest run only when that run
//! has the same operation), so an upsert and a later delete of the same key
//! still end deleted, and the reverse still ends upserted; runs of different
//! tables may be written in either order, since no constraint spans tables.

#![allow(unused_imports)]
use super::*;

/// Rows per multi-row statement. Each statement is a round trip and a
/// message with allocations of its own, so they are large. With at most 28
/// columns (requests) a statement binds at most 28,672 parameters: under the
/// bundled SQLite's limit of 32,766 and PostgreSQL's 65,535.
pub const ROW_BATCH: usize = 1024;

/// Buffered changes at most, over all runs, before they are written.
pub(super) const MAX_BUFFERED: usize = 4 * ROW_BATCH;

/// Consecutive changes of one table and one operation, or one change that
/// is written on its own.
pub(super) enum Run {
    Upsert(Table, Vec<Row>),
    Delete(Table, Vec<RowKey>),
    Alone(Table, Box<RowChange>),
}

impl Run {
    pub(super) fn table(&self) -> Table {
        match self {
            Self::Upsert(t, _) | Self::Delete(t, _) | Self::Alone(t, _) => *t,
        }
    }
}

/// The table a change writes.
pub(super) fn table_of(change: &RowChange) -> Table {
    match change {
        RowChange::Upsert(row) => Table::of_row(row),
        RowChange::Delete(key) => Table::of_key(key),
        RowChange::RevokeToken { .. } => Table::Tokens,
        RowChange::ErasePerson { .. } => Table::People,
        RowChange::CloseGrantInterval { .. } => Table::GrantHistory,
        RowChange::CloseAccountInterval { .. } => Table::AccountHistory,
        RowChange::UpdateFinding { .. } => Table::Findings,
        RowChange::RevokeMitigation { .. } => Table::Mitigations,
        RowChange::UpdateRequest { .. } => Table::Requests,
        RowChange::EndAccessGrant { .. } => Table::AccessGrants,
        RowChange::RevokeDelegation { .. } => Table::Delegations,
        RowChange::UseExecutionToken { .. } => Table::ExecutionTokens,
        RowChange::ReviewBreakGlass { .. } => Table::BreakGlass,
    }
}

/// When buffered changes must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flush {
    /// Not yet.
    No,
    /// The buffer is full: write it, in the background if the caller can.
    Full,
    /// Before the append that made the change returns: its failure must
    /// fail that append.
    Now,
}

/// Projected row changes not yet written, in order, grouped in runs.
#[derive(Default)]
pub struct Pending {
    runs: Vec<Run>,
    len: usize,
}

/// Changes taken out of the buffer, to be written in order.
#[derive(Default)]
pub struct Runs(Vec<Run>);

impl Pending {
    /// Queues a change and says when the buffer must be written: a run is
    /// full, the buffer is, or the change is one that may not wait.
    ///
    /// Changes to the `tokens` table may not: a token whose secret hash is
    /// taken violates a unique constraint, which must fail the append that
    /// makes it, not a later one. Tokens are rare. Updates of some
    /// columns (revoking a token, erasing a person, a finding's status,
    /// closing a history interval) form no run either: each is written on
    /// its own, after every earlier change of its table.
    pub fn push(&mut self, change: RowChange) -> Flush {
        self.len += 1;
        let table = table_of(&change);
        // The run this change may join: the latest run of its table, when
        // no later run touches that table. Runs of different tables may be
        // written in any order (no constraint spans tables), so an import's
        // interleaved grant and grant_history rows still form full runs.
        let last = self.runs.iter().rposition(|run| run.table() == table);
        let run_len = match (change, last.map(|i| &mut self.runs[i])) {
            (RowChange::Upsert(row), Some(Run::Upsert(_, rows))) if table != Table::Tokens => {
                rows.push(row);
                rows.len()
            }
            (RowChange::Upsert(row), _) if table != Table::Tokens => {
                self.runs.push(Run::Upsert(table, vec![row]));
                1
            }
            (RowChange::Delete(key), Some(Run::Delete(_, keys))) if table != Table::Tokens => {
                keys.push(key);
                keys.len()
            }
            (RowChange::Delete(key), _) if table != Table::Tokens => {
                self.runs.push(Run::Delete(table, vec![key]));
                1
            }
            // Closing a history interval cannot fail, so it may wait.
            (
                change @ (RowChange::CloseGrantInterval { .. }
                | RowChange::CloseAccountInterval { .. }),
                _,
            ) => {
                self.runs.push(Run::Alone(table, Box::new(change)));
                return self.full(0);
            }
            (change, _) => {
                self.runs.push(Run::Alone(table, Box::new(change)));
                return Flush::Now;
            }
        };
        self.full(run_len)
    }

    pub(super) fn full(&self, run_len: usize) -> Flush {
        if run_len >= ROW_BATCH || self.len >= MAX_BUFFERED {
            Flush::Full
        } else {
            Flush::No
        }
    }

    /// Empties the buffer into the runs to write.
    pub fn take(&mut self) -> Runs {
        self.len = 0;
        Runs(std::mem::take(&mut self.runs))
    }
}

impl Runs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Writes every change, run by run in order. On a failure some are
    /// written (the caller then poisons its transaction).
    pub async fn write(self, conn: &mut Conn) -> Result<()> {
        for run in self.0 {
            match run {
                Run::Upsert(table, rows) => upsert(conn, table, &last_per_key(rows)).await?,
                Run::Delete(table, keys) => delete(conn, table, &keys).await?,
                Run::Alone(_, change) => write_alone(conn, *change).await?,
            }
        }
        Ok(())
    }
}

/// Writes one change that forms no run.
pub(super) async fn write_alone(conn: &mut Conn, change: RowChange) -> Result<()> {
    match change {
        RowChange::Upsert(row) => {
            upsert(conn, Table::of_row(&row), std::slice::from_ref(&row)).await?
        }
        RowChange::Delete(key) => {
            delete(conn, Table::of_key(&key), std::slice::from_ref(&key)).await?
        }
        RowChange::RevokeToken { token_id, at } => {
            let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE token_id = $2")
                .bind(at.to_canonical())
                .bind(token_id.as_str())
                .execute(&mut *conn)
                .await?;
            // Replay rejects the entry for an unknown token; so must the write.
            if done.rows_affected() != 1 {
                return Err(StoreError::Invalid(format!(
                    "token.revoked names token '{token_id}', which does not exist"
                )));
            }
        }
        RowChange::CloseGrantInterval {
            system_id,
            account_id,
            entitlement_id,
            close,
        } => {
            // The open interval: at most one, found by the key's prefix.
            sqlx::query(
                    "UPDATE grant_history SET valid_to = CASE WHEN valid_from > $1 THEN valid_from ELSE $1 END, \
                     closed_seq = $2, closed_by = $3 \
                     WHERE system_id = $4 AND account_id = $5 AND entitlement_id = $6 AND valid_to IS NULL",
                )
                .bind(close.at.to_canonical())
                .bind(seq_param(close.seq))
                .bind(&close.by)
                .bind(system_id.as_str())
                .bind(account_id.as_str())
                .bind(entitlement_id.as_str())
                .execute(&mut *conn)
                .await?;
        }
        RowChange::RevokeMitigation { mitigation_id, at } => {
            super::super::mitigations::revoke(conn, &mitigation_id, at).await?
        }
        RowChange::UpdateFinding { finding_id, update } => {
            super::super::findings::update(conn, &finding_id, &update).await?
        }
        RowChange::UpdateRequest { request_id, update } => {
            super::super::requests::update_request(conn, &request_id, &update).await?
        }
        RowChange::EndAccessGrant { grant_id, at, end } => {
            super::super::requests::end_grant(conn, &grant_id, at, end).await?
        }
        RowChange::RevokeDelegation { delegation_id, at } => {
            super::super::requests::revoke_delegation(conn, &delegation_id, at).await?
        }
        RowChange::UseExecutionToken { token_id, at } => {
            super::super::requests::use_token(conn, &token_id, at).await?
        }
        RowChange::ReviewBreakGlass {
            use_id,
            at,
            outcome,
            notes,
            evidence,
        } => {
            super::super::requests::review_breakglass(
                conn,
                &use_id,
                at,
                outcome,
                &notes,
                evidence.as_deref(),
            )
            .await?
        }
        RowChange::CloseAccountInterval {
            system_id,
            account_id,
            close,
        } => {
            sqlx::query(
                    "UPDATE account_history SET valid_to = CASE WHEN valid_from > $1 THEN valid_from ELSE $1 END, \
                     closed_seq = $2, closed_by = $3 \
                     WHERE system_id = $4 AND account_id = $5 AND valid_to IS NULL",
                )
                .bind(close.at.to_canonical())
                .bind(seq_param(close.seq))
                .bind(&close.by)
                .bind(system_id.as_str())
                .bind(account_id.as_str())
                .execute(&mut *conn)
                .await?;
        }
        RowChange::ErasePerson { person_id } => {
            let done = sqlx::query(
                "UPDATE people SET name = NULL, email = NULL, erased = $1 WHERE person_id = $2",
            )
            .bind(true)
            .bind(person_id.as_str())
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Invalid(format!(
                    "person.erased names person '{person_id}', who does not exist"
                )));
            }
        }
    }
    Ok(())
}

/// The rows, each key's last one only: upserting a key twice leaves the
/// later row, and one statement may not touch a row twice (PostgreSQL).
pub(super) fn last_per_key(rows: Vec<Row>) -> Vec<Row> {
    if rows.len() < 2 {
        return rows;
    }
    let mut seen = HashSet::with_capacity(rows.len());
    let mut kept: Vec<Row> = rows
        .into_iter()
        .rev()
        .filter(|row| seen.insert(row.key()))
        .collect();
    kept.reverse();
    kept
}

/// Upserts rows of one table with distinct keys, `ROW_BATCH` per statement.
pub(super) async fn upsert(conn: &mut Conn, table: Table, rows: &[Row]) -> Result<()> {
    for chunk in rows.chunks(ROW_BATCH) {
        let sql = upsert_sql(table, chunk.len());
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = bind_row(query, row);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes rows of one table by key, `ROW_BATCH` per statement.
pub(super) async fn delete(conn: &mut Conn, table: Table, keys: &[RowKey]) -> Result<()> {
    for chunk in keys.chunks(ROW_BATCH) {
        let sql = delete_sql(table, chunk.len());
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = bind_key(query, key);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
