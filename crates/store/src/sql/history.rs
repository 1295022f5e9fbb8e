//! Temporal history: reading the intervals back (for `verify`) and the
//! point-in-time questions over them. Each question is one or two indexed
//! range reads: `grant_history` by (system, entitlement, valid_from) or by
//! (system, account, valid_from), `account_history` by (person, valid_from).

use super::rows::{opt, parse, person_id};
use super::{BACKEND, Conn};
use crate::error::Result;
use soxctl_model::history::{AccessChange, ChangeKind, Holding};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, SystemId};
use soxctl_model::projection::{AccountIntervalRow, GrantIntervalRow};
use soxctl_model::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

type GrantTuple = (
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
);

const GRANT_COLUMNS: &str = "system_id, account_id, entitlement_id, opened_seq, valid_from, valid_to, closed_seq, source, opened_by, closed_by, import_id";

fn seq(table: &'static str, key: &str, v: i64) -> Result<u64> {
    parse(table, key, u64::try_from(v))
}

fn grant_row(t: GrantTuple) -> Result<GrantIntervalRow> {
    let (system, account, entitlement, opened, from, to, closed, source, by, closed_by, import) = t;
    const T: &str = "grant_history";
    let key = format!("{system}/{account}/{entitlement}/{opened}");
    Ok(GrantIntervalRow {
        system_id: parse(T, &key, SystemId::parse(system))?,
        account_id: parse(T, &key, AccountId::parse(account))?,
        entitlement_id: parse(T, &key, EntitlementId::parse(entitlement))?,
        opened_seq: seq(T, &key, opened)?,
        valid_from: parse(T, &key, Timestamp::parse(&from))?,
        valid_to: opt(T, &key, to, Timestamp::parse)?,
        closed_seq: closed.map(|c| seq(T, &key, c)).transpose()?,
        source: parse(T, &key, source.parse())?,
        opened_by: by,
        closed_by,
        import_id: import,
    })
}

pub async fn grant_intervals(conn: &mut Conn) -> Result<Vec<GrantIntervalRow>> {
    let rows: Vec<GrantTuple> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grant_history ORDER BY system_id, account_id, entitlement_id, opened_seq"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(grant_row).collect()
}

type AccountTuple = (
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

const ACCOUNT_COLUMNS: &str = "system_id, account_id, opened_seq, valid_from, valid_to, closed_seq, person_id, kind, status, opened_by, closed_by";

fn account_row(t: AccountTuple) -> Result<AccountIntervalRow> {
    let (system, account, opened, from, to, closed, person, kind, status, by, closed_by) = t;
    const T: &str = "account_history";
    let key = format!("{system}/{account}/{opened}");
    Ok(AccountIntervalRow {
        system_id: parse(T, &key, SystemId::parse(system))?,
        account_id: parse(T, &key, AccountId::parse(account))?,
        opened_seq: seq(T, &key, opened)?,
        valid_from: parse(T, &key, Timestamp::parse(&from))?,
        valid_to: opt(T, &key, to, Timestamp::parse)?,
        closed_seq: closed.map(|c| seq(T, &key, c)).transpose()?,
        person_id: opt(T, &key, person, person_id)?,
        kind: parse(T, &key, kind.parse())?,
        status: parse(T, &key, status.parse())?,
        opened_by: by,
        closed_by,
    })
}

pub async fn account_intervals(conn: &mut Conn) -> Result<Vec<AccountIntervalRow>> {
    let rows: Vec<AccountTuple> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account_history ORDER BY system_id, account_id, opened_seq"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(account_row).collect()
}

/// When each system's history starts: its first import (the baseline).
pub async fn first_imports(conn: &mut Conn) -> Result<BTreeMap<SystemId, Timestamp>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT system_id, as_of FROM baselines")
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|(system, as_of)| {
            Ok((
                parse("baselines", &system, SystemId::parse(system.as_str()))?,
                parse("baselines", &system, Timestamp::parse(&as_of))?,
            ))
        })
        .collect()
}

/// `alias` valid at parameter `$n` (an instant), or still open.
fn valid(alias: &str, at: Option<usize>) -> String {
    match at {
        Some(n) => format!(
            "{alias}.valid_from <= ${n} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > ${n})"
        ),
        None => format!("{alias}.valid_to IS NULL"),
    }
}

type HoldingTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

const HOLDING_COLUMNS: &str = "g.system_id, g.account_id, g.entitlement_id, a.person_id, a.kind, a.status, g.valid_from, g.valid_to, g.source, g.opened_by, g.import_id, g.opened_seq";

fn holding(t: HoldingTuple) -> Result<Holding> {
    let (system, account, entitlement, person, kind, status, from, to, source, by, import, opened) =
        t;
    const T: &str = "grant_history";
    let key = format!("{system}/{account}/{entitlement}/{opened}");
    Ok(Holding {
        system_id: parse(T, &key, SystemId::parse(system))?,
        account_id: parse(T, &key, AccountId::parse(account))?,
        entitlement_id: parse(T, &key, EntitlementId::parse(entitlement))?,
        person_id: opt(T, &key, person, person_id)?,
        account_kind: opt(T, &key, kind, str::parse)?,
        account_status: opt(T, &key, status, str::parse)?,
        valid_from: parse(T, &key, Timestamp::parse(&from))?,
        valid_to: opt(T, &key, to, Timestamp::parse)?,
        source,
        recorded_by: by,
        import_id: import,
        seq: seq(T, &key, opened)?,
    })
}

/// Every account holding `system:entitlement` at `at` (now when `None`),
/// with the person each account belonged to then.
pub async fn holders(
    conn: &mut Conn,
    system: &SystemId,
    entitlement: &EntitlementId,
    at: Option<Timestamp>,
) -> Result<Vec<Holding>> {
    let instant = at.map(|_| 3);
    // Without statistics SQLite prefers the primary key (system_id = ?, then
    // a scan of the whole system) for its order; the entitlement index reads
    // only that entitlement's intervals.
    let hint = if BACKEND == "sqlite" {
        " INDEXED BY grant_history_by_entitlement"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {HOLDING_COLUMNS} FROM grant_history g{hint} \
         LEFT JOIN account_history a ON a.system_id = g.system_id AND a.account_id = g.account_id AND {} \
         WHERE g.system_id = $1 AND g.entitlement_id = $2 AND {} \
         ORDER BY g.account_id, g.opened_seq",
        valid("a", instant),
        valid("g", instant),
    );
    let mut query = sqlx::query_as::<_, HoldingTuple>(&sql)
        .bind(system.as_str())
        .bind(entitlement.as_str());
    if let Some(at) = at {
        query = query.bind(at.to_canonical());
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(holding).collect()
}

/// Everything `person` could do at `at` (now when `None`): the grants of
/// every account that was theirs then.
pub async fn access_of(
    conn: &mut Conn,
    person: &PersonId,
    at: Option<Timestamp>,
) -> Result<Vec<Holding>> {
    let instant = at.map(|_| 2);
    let sql = format!(
        "SELECT {HOLDING_COLUMNS} FROM account_history a \
         JOIN grant_history g ON g.system_id = a.system_id AND g.account_id = a.account_id AND {} \
         WHERE a.person_id = $1 AND {} \
         ORDER BY g.system_id, g.account_id, g.entitlement_id, g.opened_seq",
        valid("g", instant),
        valid("a", instant),
    );
    let mut query = sqlx::query_as::<_, HoldingTuple>(&sql).bind(person.as_str());
    if let Some(at) = at {
        query = query.bind(at.to_canonical());
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(holding).collect()
}

/// Every change to `person`'s access in [from, to]: accounts becoming or
/// ceasing to be theirs, and grants given or taken on those accounts while
/// the accounts were theirs. Ordered by time, then ledger order.
pub async fn changes_of(
    conn: &mut Conn,
    person: &PersonId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<AccessChange>> {
    let accounts: Vec<AccountTuple> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account_history \
         WHERE person_id = $1 AND valid_from <= $3 AND (valid_to IS NULL OR valid_to >= $2) \
         ORDER BY valid_from, opened_seq"
    ))
    .bind(person.as_str())
    .bind(from.to_canonical())
    .bind(to.to_canonical())
    .fetch_all(&mut *conn)
    .await?;
    let accounts: Vec<AccountIntervalRow> = accounts
        .into_iter()
        .map(account_row)
        .collect::<Result<_>>()?;
    let in_window = |t: Timestamp| from <= t && t <= to;
    let mut changes = Vec::new();
    for a in &accounts {
        let change = |at: Timestamp, kind: ChangeKind, by: &str, seq: u64| AccessChange {
            at,
            change: kind,
            system_id: a.system_id.clone(),
            account_id: a.account_id.clone(),
            entitlement_id: None,
            account_status: Some(a.status),
            recorded_by: by.to_owned(),
            import_id: None,
            seq,
        };
        if in_window(a.valid_from) {
            changes.push(change(
                a.valid_from,
                ChangeKind::AccountLinked,
                &a.opened_by,
                a.opened_seq,
            ));
        }
        if let (Some(end), Some(seq), Some(by)) = (a.valid_to, a.closed_seq, &a.closed_by)
            && in_window(end)
        {
            changes.push(change(end, ChangeKind::AccountUnlinked, by, seq));
        }
    }
    let owned: BTreeSet<(&SystemId, &AccountId)> = accounts
        .iter()
        .map(|a| (&a.system_id, &a.account_id))
        .collect();
    for (system, account) in owned {
        let grants: Vec<GrantTuple> = sqlx::query_as(&format!(
            "SELECT {GRANT_COLUMNS} FROM grant_history \
             WHERE system_id = $1 AND account_id = $2 AND valid_from <= $4 AND (valid_to IS NULL OR valid_to >= $3) \
             ORDER BY valid_from, opened_seq"
        ))
        .bind(system.as_str())
        .bind(account.as_str())
        .bind(from.to_canonical())
        .bind(to.to_canonical())
        .fetch_all(&mut *conn)
        .await?;
        // A grant counts as the person's change only while the account was theirs.
        let theirs = |t: Timestamp| {
            accounts.iter().any(|a| {
                &a.system_id == system
                    && &a.account_id == account
                    && a.valid_from <= t
                    && a.valid_to.is_none_or(|end| t <= end)
            })
        };
        for g in grants {
            let g = grant_row(g)?;
            let change = |at: Timestamp, kind: ChangeKind, by: &str, seq: u64| AccessChange {
                at,
                change: kind,
                system_id: g.system_id.clone(),
                account_id: g.account_id.clone(),
                entitlement_id: Some(g.entitlement_id.clone()),
                account_status: None,
                recorded_by: by.to_owned(),
                import_id: g.import_id.clone(),
                seq,
            };
            if in_window(g.valid_from) && theirs(g.valid_from) {
                changes.push(change(
                    g.valid_from,
                    ChangeKind::Granted,
                    &g.opened_by,
                    g.opened_seq,
                ));
            }
            if let (Some(end), Some(seq), Some(by)) = (g.valid_to, g.closed_seq, &g.closed_by)
                && in_window(end)
                && theirs(end)
            {
                let mut revoked = change(end, ChangeKind::Revoked, by, seq);
                revoked.import_id = None;
                changes.push(revoked);
            }
        }
    }
    changes.sort_by_key(|c| (c.at, c.seq, c.change));
    Ok(changes)
}

/// Every account version and grant interval that overlaps [from, to]
/// (an instant when from = to).
pub async fn overlapping(
    conn: &mut Conn,
    from: Timestamp,
    to: Timestamp,
) -> Result<(Vec<AccountIntervalRow>, Vec<GrantIntervalRow>)> {
    let overlaps = "valid_from <= $2 AND (valid_to IS NULL OR valid_to > $1)";
    let accounts: Vec<AccountTuple> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM account_history WHERE {overlaps} \
         ORDER BY system_id, account_id, opened_seq"
    ))
    .bind(from.to_canonical())
    .bind(to.to_canonical())
    .fetch_all(&mut *conn)
    .await?;
    let grants: Vec<GrantTuple> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM grant_history WHERE {overlaps} \
         ORDER BY system_id, account_id, entitlement_id, opened_seq"
    ))
    .bind(from.to_canonical())
    .bind(to.to_canonical())
    .fetch_all(&mut *conn)
    .await?;
    Ok((
        accounts
            .into_iter()
            .map(account_row)
            .collect::<Result<_>>()?,
        grants.into_iter().map(grant_row).collect::<Result<_>>()?,
    ))
}
