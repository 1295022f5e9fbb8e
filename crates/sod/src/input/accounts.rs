//! `accounts.csv` on the fast path: rows parsed and checked on all cores
//! (each chunk names its own systems, renumbered in file order after), then
//! the people interned on one thread while the per-system account indexes
//! are filled on another. Same ids, same errors as one thread row by row.

use super::grants::split_at_lines;
use super::table::{Table, plain_rows};
use super::{InputError, MAX_ERRORS};
use crate::dataset::{AccountKind, AccountRecord, DatasetBuilder};
use crate::hash::{AccountIndex, StrTable, dense_id, eq_bytes, hash_str};
use crate::parallel::threads;
use std::sync::Arc;

/// Below this, one thread does it all (the caller's row-by-row path).
const SPLIT_ABOVE: usize = 1 << 18;

pub(super) const COLUMNS: [&str; 5] = ["system_id", "account_id", "person_id", "kind", "status"];

struct Row<'a> {
    /// Chunk-local system number until renumbered.
    system: u32,
    name: Arc<str>,
    /// `hash_str(name)`.
    hash: u64,
    person: &'a str,
    kind: AccountKind,
    active: bool,
    line: u64,
}

struct Chunk<'a> {
    systems: Vec<&'a str>,
    rows: Vec<Row<'a>>,
    errors: Vec<InputError>,
    lines: u64,
}

/// `false` when the fast path does not apply (small or quoted file): the
/// caller reads the file row by row instead.
pub(super) fn read_parallel(
    table: &Table<'_>,
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<bool, InputError> {
    let body = table.body();
    if body.len() <= SPLIT_ABOVE || threads() < 2 {
        return Ok(false);
    }
    let cols = table.columns(COLUMNS)?;
    let pieces = split_at_lines(body, threads());
    let chunks: Vec<Option<Chunk<'_>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .skip(1)
            .map(|&piece| scope.spawn(move || parse_chunk(table, piece, cols)))
            .collect();
        let mut out = vec![pieces.first().and_then(|&p| parse_chunk(table, p, cols))];
        out.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        }));
        out
    });
    let Some(chunks) = chunks.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(false);
    };

    // Systems in file order; rows renumbered to them, lines made absolute.
    let mut found = Vec::new();
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(chunks.iter().map(|c| c.rows.len()).sum());
    let mut first_line = table.first_line();
    for chunk in chunks {
        let ids: Vec<u32> = chunk.systems.iter().map(|s| builder.system(s)).collect();
        found.extend(chunk.errors.into_iter().map(|mut e| {
            e.line += first_line - 1;
            e
        }));
        rows.extend(chunk.rows.into_iter().map(|mut r| {
            r.system = ids.get(r.system as usize).copied().unwrap_or(0);
            r.line += first_line - 1;
            r
        }));
        first_line += chunk.lines;
    }
    // Exact sizes, so no table grows while it is filled.
    let mut per_half = vec![[0usize; 2]; builder.account_index.len()];
    for r in &rows {
        if let Some(n) = per_half.get_mut(r.system as usize) {
            n[AccountIndex::half(r.hash)] += 1;
        }
    }
    for (index, n) in builder.account_index.iter_mut().zip(&per_half) {
        for (table, &n) in index.halves_mut().iter_mut().zip(n) {
            table.reserve(n);
        }
    }

    // Each half of the account indexes on a thread, the people on this one.
    // An account's index is its row's: when a row is a duplicate the load
    // fails, so the indexes only count when every row is taken.
    let base = builder.accounts.len();
    let DatasetBuilder {
        people,
        account_index,
        ..
    } = builder;
    let (mut left, mut right): (Vec<&mut StrTable>, Vec<&mut StrTable>) = account_index
        .iter_mut()
        .map(|index| {
            let [a, b] = index.halves_mut();
            (a, b)
        })
        .unzip();
    let rows_ref = &rows;
    let fill = |half: usize, tables: &mut Vec<&mut StrTable>| {
        let rows = rows_ref;
        {
            let mut duplicates = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                if AccountIndex::half(r.hash) != half {
                    continue;
                }
                if let Some(table) = tables.get_mut(r.system as usize)
                    && !table.insert_hashed(&r.name, r.hash, dense_id(base + i))
                {
                    duplicates.push(i);
                }
            }
            duplicates
        }
    };
    let fill = &fill;
    let (persons, duplicates) = std::thread::scope(|scope| {
        let rows = rows_ref;
        let handles = [
            scope.spawn(move || fill(0, &mut left)),
            scope.spawn(move || fill(1, &mut right)),
        ];
        people.reserve(rows.len());
        // A person's accounts are often listed together: remember the last.
        let mut last: Option<(&str, u32)> = None;
        let persons: Vec<Option<u32>> = rows
            .iter()
            .map(|r| {
                if r.person.is_empty() {
                    return None;
                }
                match last {
                    Some((name, id)) if eq_bytes(name.as_bytes(), r.person.as_bytes()) => Some(id),
                    _ => {
                        let id = people.intern(r.person);
                        last = Some((r.person, id));
                        Some(id)
                    }
                }
            })
            .collect();
        let mut duplicates = Vec::new();
        for h in handles {
            duplicates.extend(
                h.join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
            );
        }
        duplicates.sort_unstable();
        (persons, duplicates)
    });
    for i in duplicates {
        if let Some(r) = rows.get(i) {
            let reason = format!(
                "account {}:{} is listed twice; each (system_id, account_id) must be unique",
                builder.catalogue.system_name(r.system),
                r.name
            );
            found.push(table.error(r.line, Some("account_id"), reason));
        }
    }
    if !found.is_empty() {
        found.sort_by_key(|e| e.line);
        let room = MAX_ERRORS.saturating_sub(errors.len());
        errors.extend(found.into_iter().take(room));
        return Ok(true);
    }
    builder.accounts.reserve(rows.len());
    let mut persons = persons.into_iter();
    for row in rows {
        let person = persons.next().flatten();
        builder.accounts.push(AccountRecord {
            system: row.system,
            name: row.name,
            person,
            kind: row.kind,
            active: row.active,
        });
    }
    Ok(true)
}

/// `None` when the chunk is not plain text.
fn parse_chunk<'a>(table: &Table<'_>, chunk: &'a [u8], cols: [usize; 5]) -> Option<Chunk<'a>> {
    if chunk.contains(&b'"') {
        return None;
    }
    let text = std::str::from_utf8(chunk).ok()?;
    let mut systems: Vec<&'a str> = Vec::new();
    // Rows are about 60 bytes.
    let mut rows = Vec::with_capacity(chunk.len() / 48);
    let mut errors = Vec::new();
    let mut last_system = u32::MAX;
    let mut last_name = "";
    let lines = plain_rows(table, text, 1, cols, &mut errors, &mut |line,
                                                                    [
        system,
        account,
        person,
        kind,
        status,
    ]| {
        let kind: AccountKind = kind.parse().map_err(|()| {
            let reason = format!("kind '{kind}' is not one of: human, service, shared");
            table.error(line, Some("kind"), reason)
        })?;
        let active = match status {
            "active" => true,
            "disabled" => false,
            other => {
                let reason = format!("status '{other}' is not one of: active, disabled");
                return Err(table.error(line, Some("status"), reason));
            }
        };
        if system.is_empty() {
            return Err(table.error(line, Some("system_id"), empty("system_id")));
        }
        if account.is_empty() {
            return Err(table.error(line, Some("account_id"), empty("account_id")));
        }
        let local = if last_system != u32::MAX && eq_bytes(system.as_bytes(), last_name.as_bytes())
        {
            last_system
        } else {
            let at = match systems.iter().position(|s| *s == system) {
                Some(at) => at,
                None => {
                    systems.push(system);
                    systems.len() - 1
                }
            };
            last_system = dense_id(at);
            last_name = system;
            last_system
        };
        rows.push(Row {
            system: local,
            name: Arc::from(account),
            hash: hash_str(account),
            person,
            kind,
            active,
            line,
        });
        Ok(())
    });
    Some(Chunk {
        systems,
        rows,
        errors,
        lines,
    })
}

fn empty(field: &str) -> String {
    format!("{field} is empty; give a non-empty id")
}
