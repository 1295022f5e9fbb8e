//! The state tables: applying projected row changes, and reading rows back
//! (for queries, for reconciliation and for `verify`'s comparison).

use super::{BACKEND, Conn, Db};
use crate::error::{Result, StoreError, row_error};
use crate::requests::{IdentityCandidate, IdentityKeyKind};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::projection::{
    BaselineRow, ImportRow, PersonRow, Row, RowChange, RowKey, StoreRow, TokenRow,
};
use soxctl_model::time::{Date, Timestamp};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

pub(super) fn ts(t: &Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

fn date(d: &Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn pid(v: &Option<PersonId>) -> Option<&str> {
    v.as_ref().map(PersonId::as_str)
}

// ---- applying projected changes ----------------------------------------
//
// Each statement is a round trip (to SQLite's worker thread, or to the
// PostgreSQL server), so a write transaction buffers the changes its appends
// project and writes them in multi-row statements: one per run of changes
// with the same table and operation. Within a table the runs keep the order
// of the changes (a change joins its table's latest run only when that run
// has the same operation), so an upsert and a later delete of the same key
// still end deleted, and the reverse still ends upserted; runs of different
// tables may be written in either order, since no constraint spans tables.

/// Rows per multi-row statement. Each statement is a round trip and a
/// message with allocations of its own, so they are large. With at most 28
/// columns (requests) a statement binds at most 28,672 parameters: under the
/// bundled SQLite's limit of 32,766 and PostgreSQL's 65,535.
pub const ROW_BATCH: usize = 1024;

/// Buffered changes at most, over all runs, before they are written.
const MAX_BUFFERED: usize = 4 * ROW_BATCH;

/// A state table and its columns, key columns first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Store,
    People,
    Systems,
    Baselines,
    Entitlements,
    Accounts,
    Grants,
    Roles,
    RoleEntitlements,
    Imports,
    Tokens,
    GrantHistory,
    AccountHistory,
    Findings,
    Documents,
    Mitigations,
    Requests,
    Decisions,
    AccessGrants,
    Delegations,
    ExecutionTokens,
    Deployments,
    BreakGlass,
}

impl Table {
    fn of_row(row: &Row) -> Self {
        match row {
            Row::Store(_) => Self::Store,
            Row::Person(_) => Self::People,
            Row::System(_) => Self::Systems,
            Row::Baseline(_) => Self::Baselines,
            Row::Entitlement(_) => Self::Entitlements,
            Row::Account(_) => Self::Accounts,
            Row::Grant(_) => Self::Grants,
            Row::Role(_) => Self::Roles,
            Row::RoleEntitlement(_) => Self::RoleEntitlements,
            Row::Import(_) => Self::Imports,
            Row::Token(_) => Self::Tokens,
            Row::GrantInterval(_) => Self::GrantHistory,
            Row::AccountInterval(_) => Self::AccountHistory,
            Row::Finding(_) => Self::Findings,
            Row::Document(_) => Self::Documents,
            Row::Mitigation(_) => Self::Mitigations,
            Row::Request(_) => Self::Requests,
            Row::Decision(_) => Self::Decisions,
            Row::AccessGrant(_) => Self::AccessGrants,
            Row::Delegation(_) => Self::Delegations,
            Row::ExecutionToken(_) => Self::ExecutionTokens,
            Row::Deployment(_) => Self::Deployments,
            Row::BreakGlass(_) => Self::BreakGlass,
        }
    }

    fn of_key(key: &RowKey) -> Self {
        match key {
            RowKey::Store => Self::Store,
            RowKey::Person(_) => Self::People,
            RowKey::System(_) => Self::Systems,
            RowKey::Baseline(_) => Self::Baselines,
            RowKey::Entitlement(..) => Self::Entitlements,
            RowKey::Account(..) => Self::Accounts,
            RowKey::Grant(..) => Self::Grants,
            RowKey::Role(_) => Self::Roles,
            RowKey::RoleEntitlement(..) => Self::RoleEntitlements,
            RowKey::Import(_) => Self::Imports,
            RowKey::Token(_) => Self::Tokens,
            RowKey::GrantInterval(..) => Self::GrantHistory,
            RowKey::AccountInterval(..) => Self::AccountHistory,
            RowKey::Finding(_) => Self::Findings,
            RowKey::Document(..) => Self::Documents,
            RowKey::Mitigation(_) => Self::Mitigations,
            RowKey::Request(_) => Self::Requests,
            RowKey::Decision(..) => Self::Decisions,
            RowKey::AccessGrant(_) => Self::AccessGrants,
            RowKey::Delegation(_) => Self::Delegations,
            RowKey::ExecutionToken(_) => Self::ExecutionTokens,
            RowKey::Deployment(_) => Self::Deployments,
            RowKey::BreakGlass(_) => Self::BreakGlass,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Store => "store_meta",
            Self::People => "people",
            Self::Systems => "systems",
            Self::Baselines => "baselines",
            Self::Entitlements => "entitlements",
            Self::Accounts => "accounts",
            Self::Grants => "grants",
            Self::Roles => "roles",
            Self::RoleEntitlements => "role_entitlements",
            Self::Imports => "imports",
            Self::Tokens => "tokens",
            Self::GrantHistory => "grant_history",
            Self::AccountHistory => "account_history",
            Self::Findings => "findings",
            Self::Documents => "documents",
            Self::Mitigations => "sod_mitigations",
            Self::Requests => "requests",
            Self::Decisions => "request_decisions",
            Self::AccessGrants => "access_grants",
            Self::Delegations => "delegations",
            Self::ExecutionTokens => "execution_tokens",
            Self::Deployments => "deployments",
            Self::BreakGlass => "breakglass_uses",
        }
    }

    /// The columns, in the order `bind_row` binds them; the first
    /// `key_len` are the primary key.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Store => &["id", "store_id", "origin", "demo", "initialised_at"],
            Self::People => &[
                "person_id",
                "name",
                "email",
                "manager_id",
                "department",
                "title",
                "status",
                "hire_date",
                "termination_date",
                "erased",
            ],
            Self::Systems => &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
            Self::Baselines => &["system_id", "import_id", "as_of", "certified"],
            Self::Entitlements => &[
                "system_id",
                "entitlement_id",
                "name",
                "privileged",
                "owner_id",
                "description",
            ],
            Self::Accounts => &[
                "system_id",
                "account_id",
                "person_id",
                "kind",
                "status",
                "last_login",
                "mfa",
                "owner_id",
                "credential_rotated_at",
            ],
            Self::Grants => &[
                "system_id",
                "account_id",
                "entitlement_id",
                "granted_at",
                "source",
            ],
            Self::Roles => &["role_id", "name", "owner_id"],
            Self::RoleEntitlements => &["role_id", "system_id", "entitlement_id"],
            Self::Imports => &[
                "import_id",
                "source",
                "extracted_at",
                "systems",
                "events",
                "completed_at",
                "actor",
            ],
            Self::Tokens => &[
                "token_id",
                "secret_sha256",
                "scopes",
                "system_id",
                "person_id",
                "expires_at",
                "description",
                "created_at",
                "created_by",
                "revoked_at",
                "repo",
                "environments",
            ],
            Self::GrantHistory => &GRANT_HISTORY_COLUMNS,
            Self::AccountHistory => &ACCOUNT_HISTORY_COLUMNS,
            Self::Findings => &super::findings::COLUMNS,
            Self::Documents => &super::documents::COLUMNS,
            Self::Mitigations => &super::mitigations::COLUMNS,
            Self::Requests => &super::requests::REQUEST_COLUMNS,
            Self::Decisions => &super::requests::DECISION_COLUMNS,
            Self::AccessGrants => &super::requests::GRANT_COLUMNS,
            Self::Delegations => &super::requests::DELEGATION_COLUMNS,
            Self::ExecutionTokens => &super::requests::TOKEN_COLUMNS,
            Self::Deployments => &super::requests::DEPLOYMENT_COLUMNS,
            Self::BreakGlass => &super::requests::BREAKGLASS_COLUMNS,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Self::Entitlements | Self::Accounts => 2,
            Self::Grants | Self::RoleEntitlements | Self::AccountHistory => 3,
            Self::Documents | Self::Decisions => 2,
            Self::GrantHistory => 4,
            _ => 1,
        }
    }
}

const GRANT_HISTORY_COLUMNS: [&str; 11] = [
    "system_id",
    "account_id",
    "entitlement_id",
    "opened_seq",
    "valid_from",
    "valid_to",
    "closed_seq",
    "source",
    "opened_by",
    "closed_by",
    "import_id",
];

const ACCOUNT_HISTORY_COLUMNS: [&str; 11] = [
    "system_id",
    "account_id",
    "opened_seq",
    "valid_from",
    "valid_to",
    "closed_seq",
    "person_id",
    "kind",
    "status",
    "opened_by",
    "closed_by",
];

pub(super) fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(super) type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// `($1, $2), ($3, $4), …`: `rows` tuples of `width` placeholders.
///
/// On SQLite they are anonymous, `(?, ?), (?, ?), …`, bound in order:
/// SQLite finds a numbered parameter's name by a linear search, and sqlx
/// looks up every parameter's name, so numbered placeholders cost time
/// quadratic in the parameters of a statement (a tenth of an append's CPU
/// with 320 of them).
pub fn placeholders(rows: usize, width: usize) -> String {
    // One buffer: a thousand-row statement has over ten thousand of them.
    let mut out = String::with_capacity(rows * (width * 5 + 4));
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_params(&mut out, r * width + 1, width);
        out.push(')');
    }
    out
}

/// `$first, …` (`?, …` on SQLite, see `placeholders`): `count` parameters.
fn params(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 5);
    push_params(&mut out, first, count);
    out
}

fn push_params(out: &mut String, first: usize, count: usize) {
    use std::fmt::Write;
    for n in first..first + count {
        if n > first {
            out.push_str(", ");
        }
        if BACKEND == "sqlite" {
            out.push('?');
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "${n}");
        }
    }
}

/// `INSERT … VALUES (…), … ON CONFLICT (key) DO UPDATE SET col = excluded.col, …`
/// for `rows` rows: a later row replaces an earlier one, as the projection's
/// upsert means. The rows of one statement must have distinct keys
/// (PostgreSQL refuses to update a row twice in one statement).
fn upsert_sql(table: Table, rows: usize) -> String {
    let columns = table.columns();
    let (key, rest) = columns.split_at(table.key_len());
    let action = if rest.is_empty() {
        "NOTHING".to_owned()
    } else {
        let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        format!("UPDATE SET {}", set.join(", "))
    };
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {action}",
        table.name(),
        columns.join(", "),
        placeholders(rows, columns.len()),
        key.join(", "),
    )
}

/// `DELETE … WHERE key IN (…)` for `rows` keys. A composite key is compared
/// as a row value (SQLite 3.15+, PostgreSQL) with the rows of a VALUES list,
/// selected by their standard names `column1`, … in both. Spelt so, SQLite
/// searches the key's index; with a bare `IN (VALUES …)` SQLite 3.40 scans
/// the whole table (the bundled 3.46 searches either way).
fn delete_sql(table: Table, rows: usize) -> String {
    let key = &table.columns()[..table.key_len()];
    if let [column] = key {
        format!(
            "DELETE FROM {} WHERE {column} IN ({})",
            table.name(),
            params(1, rows)
        )
    } else {
        let values: Vec<String> = (1..=key.len()).map(|i| format!("column{i}")).collect();
        format!(
            "DELETE FROM {} WHERE ({}) IN (SELECT {} FROM (VALUES {}) AS v)",
            table.name(),
            key.join(", "),
            values.join(", "),
            placeholders(rows, key.len()),
        )
    }
}

/// Binds the row's columns in `Table::columns` order.
fn bind_row<'q>(q: Query<'q>, row: &'q Row) -> Query<'q> {
    match row {
        Row::Store(s) => q
            .bind(1_i64)
            .bind(&s.store_id)
            .bind(&s.origin)
            .bind(s.demo)
            .bind(s.initialised_at.to_canonical()),
        Row::Person(PersonRow { person: p, erased }) => q
            .bind(p.person_id.as_str())
            .bind(&p.name)
            .bind(&p.email)
            .bind(pid(&p.manager_id))
            .bind(&p.department)
            .bind(&p.title)
            .bind(p.status.as_str())
            .bind(date(&p.hire_date))
            .bind(date(&p.termination_date))
            .bind(*erased),
        Row::System(s) => q
            .bind(s.system_id.as_str())
            .bind(&s.name)
            .bind(&s.kind)
            .bind(pid(&s.owner_id))
            .bind(s.sox_in_scope),
        Row::Baseline(b) => q
            .bind(b.system_id.as_str())
            .bind(&b.import_id)
            .bind(b.as_of.to_canonical())
            .bind(b.certified),
        Row::Entitlement(e) => q
            .bind(e.system_id.as_str())
            .bind(e.entitlement_id.as_str())
            .bind(&e.name)
            .bind(e.privileged)
            .bind(pid(&e.owner_id))
            .bind(&e.description),
        Row::Account(a) => q
            .bind(a.system_id.as_str())
            .bind(a.account_id.as_str())
            .bind(pid(&a.person_id))
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(ts(&a.last_login))
            .bind(a.mfa)
            .bind(pid(&a.owner_id))
            .bind(ts(&a.credential_rotated_at)),
        Row::Grant(g) => q
            .bind(g.system_id.as_str())
            .bind(g.account_id.as_str())
            .bind(g.entitlement_id.as_str())
            .bind(ts(&g.granted_at))
            .bind(g.source.to_string()),
        Row::Role(r) => q
            .bind(r.role_id.as_str())
            .bind(&r.name)
            .bind(pid(&r.owner_id)),
        Row::RoleEntitlement(r) => q
            .bind(r.role_id.as_str())
            .bind(r.system_id.as_str())
            .bind(r.entitlement_id.as_str()),
        Row::Import(i) => q
            .bind(&i.import_id)
            .bind(&i.source)
            .bind(i.extracted_at.to_canonical())
            .bind(&i.systems)
            .bind(i64::try_from(i.events).unwrap_or(i64::MAX))
            .bind(i.completed_at.to_canonical())
            .bind(&i.actor),
        Row::Token(t) => q
            .bind(t.token_id.as_str())
            .bind(&t.secret_sha256)
            .bind(&t.scopes)
            .bind(t.system_id.as_ref().map(SystemId::as_str))
            .bind(pid(&t.person_id))
            .bind(ts(&t.expires_at))
            .bind(&t.description)
            .bind(t.created_at.to_canonical())
            .bind(&t.created_by)
            .bind(ts(&t.revoked_at))
            .bind(&t.repo)
            .bind(environments_text(&t.environments)),
        Row::GrantInterval(g) => q
            .bind(g.system_id.as_str())
            .bind(g.account_id.as_str())
            .bind(g.entitlement_id.as_str())
            .bind(seq_param(g.opened_seq))
            .bind(g.valid_from.to_canonical())
            .bind(ts(&g.valid_to))
            .bind(g.closed_seq.map(seq_param))
            .bind(g.source.to_string())
            .bind(&g.opened_by)
            .bind(&g.closed_by)
            .bind(&g.import_id),
        Row::Finding(f) => super::findings::bind(q, f),
        Row::Document(d) => super::documents::bind(q, d),
        Row::Mitigation(m) => super::mitigations::bind(q, m),
        Row::Request(r) => super::requests::bind_request(q, r),
        Row::Decision(d) => super::requests::bind_decision(q, d),
        Row::AccessGrant(g) => super::requests::bind_grant(q, g),
        Row::Delegation(d) => super::requests::bind_delegation(q, d),
        Row::ExecutionToken(t) => super::requests::bind_token(q, t),
        Row::Deployment(d) => super::requests::bind_deployment(q, d),
        Row::BreakGlass(b) => super::requests::bind_breakglass(q, b),
        Row::AccountInterval(a) => q
            .bind(a.system_id.as_str())
            .bind(a.account_id.as_str())
            .bind(seq_param(a.opened_seq))
            .bind(a.valid_from.to_canonical())
            .bind(ts(&a.valid_to))
            .bind(a.closed_seq.map(seq_param))
            .bind(pid(&a.person_id))
            .bind(a.kind.as_str())
            .bind(a.status.as_str())
            .bind(&a.opened_by)
            .bind(&a.closed_by),
    }
}

/// Binds the key's columns in `Table::columns` order.
fn bind_key<'q>(q: Query<'q>, key: &'q RowKey) -> Query<'q> {
    match key {
        RowKey::Store => q.bind(1_i64),
        RowKey::Person(p) => q.bind(p.as_str()),
        RowKey::System(s) | RowKey::Baseline(s) => q.bind(s.as_str()),
        RowKey::Entitlement(s, e) => q.bind(s.as_str()).bind(e.as_str()),
        RowKey::Account(s, a) => q.bind(s.as_str()).bind(a.as_str()),
        RowKey::Grant(s, a, e) => q.bind(s.as_str()).bind(a.as_str()).bind(e.as_str()),
        RowKey::Role(r) => q.bind(r.as_str()),
        RowKey::RoleEntitlement(r, s, e) => q.bind(r.as_str()).bind(s.as_str()).bind(e.as_str()),
        RowKey::Import(i) => q.bind(i.as_str()),
        RowKey::Token(t) => q.bind(t.as_str()),
        RowKey::GrantInterval(s, a, e, seq) => q
            .bind(s.as_str())
            .bind(a.as_str())
            .bind(e.as_str())
            .bind(seq_param(*seq)),
        RowKey::Finding(id) => q.bind(id.as_str()),
        RowKey::Document(kind, version) => q.bind(kind.as_str()).bind(seq_param(*version)),
        RowKey::Mitigation(id)
        | RowKey::Request(id)
        | RowKey::AccessGrant(id)
        | RowKey::Delegation(id)
        | RowKey::ExecutionToken(id)
        | RowKey::Deployment(id)
        | RowKey::BreakGlass(id) => q.bind(id.as_str()),
        RowKey::Decision(id, approver) => q.bind(id.as_str()).bind(approver.as_str()),
        RowKey::AccountInterval(s, a, seq) => {
            q.bind(s.as_str()).bind(a.as_str()).bind(seq_param(*seq))
        }
    }
}

/// Consecutive changes of one table and one operation, or one change that
/// is written on its own.
enum Run {
    Upsert(Table, Vec<Row>),
    Delete(Table, Vec<RowKey>),
    Alone(Table, Box<RowChange>),
}

impl Run {
    fn table(&self) -> Table {
        match self {
            Self::Upsert(t, _) | Self::Delete(t, _) | Self::Alone(t, _) => *t,
        }
    }
}

/// The table a change writes.
fn table_of(change: &RowChange) -> Table {
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

    fn full(&self, run_len: usize) -> Flush {
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
async fn write_alone(conn: &mut Conn, change: RowChange) -> Result<()> {
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
            super::mitigations::revoke(conn, &mitigation_id, at).await?
        }
        RowChange::UpdateFinding { finding_id, update } => {
            super::findings::update(conn, &finding_id, &update).await?
        }
        RowChange::UpdateRequest { request_id, update } => {
            super::requests::update_request(conn, &request_id, &update).await?
        }
        RowChange::EndAccessGrant { grant_id, at, end } => {
            super::requests::end_grant(conn, &grant_id, at, end).await?
        }
        RowChange::RevokeDelegation { delegation_id, at } => {
            super::requests::revoke_delegation(conn, &delegation_id, at).await?
        }
        RowChange::UseExecutionToken { token_id, at } => {
            super::requests::use_token(conn, &token_id, at).await?
        }
        RowChange::ReviewBreakGlass {
            use_id,
            at,
            outcome,
            notes,
            evidence,
        } => {
            super::requests::review_breakglass(
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
fn last_per_key(rows: Vec<Row>) -> Vec<Row> {
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
async fn upsert(conn: &mut Conn, table: Table, rows: &[Row]) -> Result<()> {
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
async fn delete(conn: &mut Conn, table: Table, keys: &[RowKey]) -> Result<()> {
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

// ---- reading rows back -------------------------------------------------

pub(super) fn parse<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    r: std::result::Result<T, E>,
) -> Result<T> {
    r.map_err(|e| row_error(table, key, e))
}

pub(super) fn opt<T, E: std::fmt::Display>(
    table: &'static str,
    key: &str,
    v: Option<String>,
    f: impl Fn(&str) -> std::result::Result<T, E>,
) -> Result<Option<T>> {
    v.map(|s| parse(table, key, f(&s))).transpose()
}

pub(super) fn person_id(s: &str) -> std::result::Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse(s)
}

type PersonTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    bool,
);

const PERSON_COLUMNS: &str = "person_id, name, email, manager_id, department, title, status, hire_date, termination_date, erased";

pub async fn people(conn: &mut Conn) -> Result<Vec<PersonRow>> {
    let rows: Vec<PersonTuple> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM people ORDER BY person_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(person_row).collect()
}

pub async fn person(conn: &mut Conn, id: &PersonId) -> Result<Option<PersonRow>> {
    let row: Option<PersonTuple> = sqlx::query_as(&format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE person_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(person_row).transpose()
}

/// Where someone named by an email or an id may be found: the people and
/// their accounts whose email, person id or account id could be `key` once
/// folded. `pattern` is a lowercase SQL LIKE pattern (escape character
/// `\`) for emails and account ids; `exact` an id compared exactly (person
/// ids) and without case (account ids). The caller folds every candidate
/// and keeps the exact matches: the query only narrows the rows.
pub async fn identity_candidates(
    conn: &mut Conn,
    pattern: Option<&str>,
    exact: Option<&str>,
) -> Result<Vec<IdentityCandidate>> {
    let rows: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT person_id, email, 'email' FROM people WHERE $1 IS NOT NULL AND lower(email) LIKE $1 ESCAPE '\\' \
         UNION ALL SELECT person_id, person_id, 'person' FROM people WHERE person_id = $2 \
         UNION ALL SELECT person_id, account_id, 'account' FROM accounts \
           WHERE person_id IS NOT NULL AND ((lower(account_id) LIKE $1 ESCAPE '\\') OR lower(account_id) = lower($2))",
    )
    .bind(pattern)
    .bind(exact)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (person, key, kind) in rows {
        let Some(key) = key else { continue };
        out.push(IdentityCandidate {
            person_id: parse("identity", &person, PersonId::parse(person.as_str()))?,
            key,
            kind: match kind.as_str() {
                "email" => IdentityKeyKind::Email,
                "person" => IdentityKeyKind::PersonId,
                _ => IdentityKeyKind::AccountId,
            },
        });
    }
    Ok(out)
}

/// The people whose accounts in `system` have the id `account_id`, compared
/// without case (a CI platform's login).
pub async fn account_owners(
    conn: &mut Conn,
    system: &SystemId,
    account_id: &str,
) -> Result<Vec<PersonId>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT person_id FROM accounts \
         WHERE system_id = $1 AND lower(account_id) = lower($2) AND person_id IS NOT NULL",
    )
    .bind(system.as_str())
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|p| parse("accounts", &p, PersonId::parse(p.as_str())))
        .collect()
}

fn person_row(row: PersonTuple) -> Result<PersonRow> {
    let (id, name, email, manager, department, title, status, hire, term, erased) = row;
    const T: &str = "people";
    Ok(PersonRow {
        person: Person {
            person_id: parse(T, &id, PersonId::parse(id.as_str()))?,
            name,
            email,
            manager_id: opt(T, &id, manager, person_id)?,
            department,
            title,
            status: parse(T, &id, status.parse())?,
            hire_date: opt(T, &id, hire, Date::parse)?,
            termination_date: opt(T, &id, term, Date::parse)?,
        },
        erased,
    })
}

type SystemTuple = (String, String, Option<String>, Option<String>, bool);
type EntitlementTuple = (
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
    Option<String>,
);
type ImportTuple = (String, Option<String>, String, String, i64, String, String);

pub async fn systems(conn: &mut Conn) -> Result<Vec<System>> {
    let rows: Vec<SystemTuple> = sqlx::query_as(
        "SELECT system_id, name, kind, owner_id, sox_in_scope FROM systems ORDER BY system_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, kind, owner, sox)| {
            Ok(System {
                system_id: parse("systems", &id, SystemId::parse(id.as_str()))?,
                name,
                kind,
                owner_id: opt("systems", &id, owner, person_id)?,
                sox_in_scope: sox,
            })
        })
        .collect()
}

pub async fn entitlements(conn: &mut Conn) -> Result<Vec<Entitlement>> {
    let rows: Vec<EntitlementTuple> = sqlx::query_as(
        "SELECT system_id, entitlement_id, name, privileged, owner_id, description FROM entitlements
         ORDER BY system_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, e, name, privileged, owner, description)| {
            const T: &str = "entitlements";
            let key = format!("{s}:{e}");
            Ok(Entitlement {
                system_id: parse(T, &key, SystemId::parse(s))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
                name,
                privileged,
                owner_id: opt(T, &key, owner, person_id)?,
                description,
            })
        })
        .collect()
}

type AccountTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
);

pub async fn accounts(conn: &mut Conn) -> Result<Vec<Account>> {
    let rows: Vec<AccountTuple> = sqlx::query_as(
        "SELECT system_id, account_id, person_id, kind, status, last_login, mfa, owner_id, credential_rotated_at
         FROM accounts ORDER BY system_id, account_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(s, a, person, kind, status, last_login, mfa, owner, rotated)| {
                const T: &str = "accounts";
                let key = format!("{s}/{a}");
                Ok(Account {
                    system_id: parse(T, &key, SystemId::parse(s))?,
                    account_id: parse(T, &key, AccountId::parse(a))?,
                    person_id: opt(T, &key, person, person_id)?,
                    kind: parse(T, &key, kind.parse())?,
                    status: parse(T, &key, status.parse())?,
                    last_login: opt(T, &key, last_login, Timestamp::parse)?,
                    mfa,
                    owner_id: opt(T, &key, owner, person_id)?,
                    credential_rotated_at: opt(T, &key, rotated, Timestamp::parse)?,
                })
            },
        )
        .collect()
}

pub async fn grants(conn: &mut Conn) -> Result<Vec<Grant>> {
    let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT system_id, account_id, entitlement_id, granted_at, source FROM grants
         ORDER BY system_id, account_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, a, e, granted_at, source)| {
            const T: &str = "grants";
            let key = format!("{s}/{a}/{e}");
            Ok(Grant {
                system_id: parse(T, &key, SystemId::parse(s))?,
                account_id: parse(T, &key, AccountId::parse(a))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
                granted_at: opt(T, &key, granted_at, Timestamp::parse)?,
                source: parse(
                    T,
                    &key,
                    soxctl_model::inventory::GrantSource::from_str(&source),
                )?,
            })
        })
        .collect()
}

pub async fn roles(conn: &mut Conn) -> Result<Vec<Role>> {
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT role_id, name, owner_id FROM roles ORDER BY role_id")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, name, owner)| {
            Ok(Role {
                role_id: parse("roles", &id, RoleId::parse(id.as_str()))?,
                name,
                owner_id: opt("roles", &id, owner, person_id)?,
            })
        })
        .collect()
}

pub async fn role_entitlements(conn: &mut Conn) -> Result<Vec<RoleEntitlement>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT role_id, system_id, entitlement_id FROM role_entitlements ORDER BY role_id, system_id, entitlement_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(r, s, e)| {
            const T: &str = "role_entitlements";
            let key = format!("{r}/{s}:{e}");
            Ok(RoleEntitlement {
                role_id: parse(T, &key, RoleId::parse(r))?,
                system_id: parse(T, &key, SystemId::parse(s))?,
                entitlement_id: parse(T, &key, EntitlementId::parse(e))?,
            })
        })
        .collect()
}

pub async fn baselines(conn: &mut Conn) -> Result<Vec<BaselineRow>> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT system_id, import_id, as_of, certified FROM baselines ORDER BY system_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(s, import_id, as_of, certified)| {
            Ok(BaselineRow {
                system_id: parse("baselines", &s, SystemId::parse(s.as_str()))?,
                import_id,
                as_of: parse("baselines", &s, Timestamp::parse(&as_of))?,
                certified,
            })
        })
        .collect()
}

pub async fn imports(conn: &mut Conn) -> Result<Vec<ImportRow>> {
    let rows: Vec<ImportTuple> = sqlx::query_as(
        "SELECT import_id, source, extracted_at, systems, events, completed_at, actor FROM imports ORDER BY import_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(id, source, extracted_at, systems, events, completed_at, actor)| {
                Ok(ImportRow {
                    extracted_at: parse("imports", &id, Timestamp::parse(&extracted_at))?,
                    completed_at: parse("imports", &id, Timestamp::parse(&completed_at))?,
                    events: parse("imports", &id, u64::try_from(events))?,
                    import_id: id,
                    source,
                    systems,
                    actor,
                })
            },
        )
        .collect()
}

type TokenTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

const TOKEN_COLUMNS: &str = "token_id, secret_sha256, scopes, system_id, person_id, expires_at, description, created_at, created_by, revoked_at, repo, environments";

/// A gate token's environments, comma-separated (none: NULL).
fn environments_text(envs: &[String]) -> Option<String> {
    (!envs.is_empty()).then(|| envs.join(","))
}

fn token_row(t: TokenTuple) -> Result<TokenRow> {
    let (
        id,
        secret,
        scopes,
        system,
        person,
        expires,
        description,
        created_at,
        created_by,
        revoked,
        repo,
        environments,
    ) = t;
    const T: &str = "tokens";
    Ok(TokenRow {
        token_id: parse(T, &id, TokenId::parse(id.as_str()))?,
        secret_sha256: secret,
        scopes,
        system_id: opt(T, &id, system, |s| SystemId::parse(s))?,
        person_id: opt(T, &id, person, person_id)?,
        expires_at: opt(T, &id, expires, Timestamp::parse)?,
        description,
        created_at: parse(T, &id, Timestamp::parse(&created_at))?,
        created_by,
        revoked_at: opt(T, &id, revoked, Timestamp::parse)?,
        repo,
        environments: environments
            .map(|e| e.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

pub async fn tokens(conn: &mut Conn) -> Result<Vec<TokenRow>> {
    let rows: Vec<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY token_id"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(token_row).collect()
}

pub async fn token(conn: &mut Conn, id: &TokenId) -> Result<Option<TokenRow>> {
    let row: Option<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(token_row).transpose()
}

pub async fn token_by_secret_hash(
    conn: &mut Conn,
    secret_sha256: &str,
) -> Result<Option<TokenRow>> {
    let row: Option<TokenTuple> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_sha256 = $1"
    ))
    .bind(secret_sha256)
    .fetch_optional(conn)
    .await?;
    row.map(token_row).transpose()
}

pub async fn store_meta(conn: &mut Conn) -> Result<Option<StoreRow>> {
    let row: Option<(String, String, bool, String)> = sqlx::query_as(
        "SELECT store_id, origin, demo, initialised_at FROM store_meta WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(store_id, origin, demo, at)| {
        Ok(StoreRow {
            initialised_at: parse("store_meta", "1", Timestamp::parse(&at))?,
            store_id,
            origin,
            demo,
        })
    })
    .transpose()
}

/// Every state row, keyed as the projection keys them.
pub async fn all_rows(conn: &mut Conn) -> Result<BTreeMap<RowKey, Row>> {
    let mut rows = Vec::new();
    rows.extend(store_meta(conn).await?.map(Row::Store));
    rows.extend(people(conn).await?.into_iter().map(Row::Person));
    rows.extend(systems(conn).await?.into_iter().map(Row::System));
    rows.extend(baselines(conn).await?.into_iter().map(Row::Baseline));
    rows.extend(entitlements(conn).await?.into_iter().map(Row::Entitlement));
    rows.extend(accounts(conn).await?.into_iter().map(Row::Account));
    rows.extend(grants(conn).await?.into_iter().map(Row::Grant));
    rows.extend(roles(conn).await?.into_iter().map(Row::Role));
    rows.extend(
        role_entitlements(conn)
            .await?
            .into_iter()
            .map(Row::RoleEntitlement),
    );
    rows.extend(imports(conn).await?.into_iter().map(Row::Import));
    rows.extend(tokens(conn).await?.into_iter().map(Row::Token));
    rows.extend(
        super::history::grant_intervals(conn)
            .await?
            .into_iter()
            .map(Row::GrantInterval),
    );
    rows.extend(
        super::mitigations::all(conn)
            .await?
            .into_iter()
            .map(Row::Mitigation),
    );
    rows.extend(
        super::documents::all(conn)
            .await?
            .into_iter()
            .map(Row::Document),
    );
    rows.extend(
        super::findings::all(conn)
            .await?
            .into_iter()
            .map(Row::Finding),
    );
    rows.extend(
        super::history::account_intervals(conn)
            .await?
            .into_iter()
            .map(Row::AccountInterval),
    );
    let all = crate::requests::RequestFilter::default();
    rows.extend(
        super::requests::requests(conn, &all)
            .await?
            .into_iter()
            .map(|r| Row::Request(Box::new(r))),
    );
    rows.extend(
        super::requests::decisions(conn, None)
            .await?
            .into_iter()
            .map(Row::Decision),
    );
    rows.extend(
        super::requests::access_grants(conn, None, None)
            .await?
            .into_iter()
            .map(Row::AccessGrant),
    );
    rows.extend(
        super::requests::delegations(conn)
            .await?
            .into_iter()
            .map(Row::Delegation),
    );
    rows.extend(
        super::requests::execution_tokens(conn, crate::requests::TokensOf::All)
            .await?
            .into_iter()
            .map(Row::ExecutionToken),
    );
    rows.extend(
        super::requests::deployments(conn, None)
            .await?
            .into_iter()
            .map(Row::Deployment),
    );
    rows.extend(
        super::requests::breakglass_uses(conn)
            .await?
            .into_iter()
            .map(Row::BreakGlass),
    );
    Ok(rows.into_iter().map(|r| (r.key(), r)).collect())
}

/// The inventory part of the state, as reconciliation compares it.
pub async fn inventory(conn: &mut Conn) -> Result<Inventory> {
    let mut inv = Inventory::default();
    for p in people(conn).await? {
        inv.people.insert(p.person.person_id.clone(), p.person);
    }
    for s in systems(conn).await? {
        inv.systems.insert(s.system_id.clone(), s);
    }
    for e in entitlements(conn).await? {
        inv.entitlements.insert(e.key(), e);
    }
    for a in accounts(conn).await? {
        inv.accounts.insert(a.key(), a);
    }
    for g in grants(conn).await? {
        inv.grants.insert(g.key(), g);
    }
    for r in roles(conn).await? {
        inv.roles.insert(r.role_id.clone(), r);
    }
    for r in role_entitlements(conn).await? {
        inv.role_entitlements.insert(r.key(), r);
    }
    Ok(inv)
}
