//! `grants.csv`, the big file: on the fast path, split in two at a line
//! boundary and parsed on two threads against the (read-only) accounts and
//! catalogue; entitlements first seen in a chunk are numbered locally and
//! added to the catalogue when the chunks are merged, in file order.

use super::table::{Table, plain_rows};
use super::{InputError, InputErrors, MAX_ERRORS};
use crate::dataset::DatasetBuilder;
use crate::hash::StrTable;
use crate::parallel::threads;

/// Marks an entitlement id as local to a chunk, not yet in the catalogue.
const LOCAL: u32 = 1 << 31;

/// Below this, one thread parses the whole file.
const SPLIT_ABOVE: usize = 1 << 20;

pub(super) fn read(
    bytes: &[u8],
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    let table = Table::open("grants.csv", bytes)?;
    let cols = table.columns(["system_id", "account_id", "entitlement_id"])?;
    let Some(text) = table.plain_body() else {
        let mut sink = Sink::new(builder, &table, 0);
        table.for_each(cols, errors, |line, row| sink.row(line, row));
        let parsed = sink.finish();
        merge(builder, vec![parsed]);
        return Ok(());
    };
    let chunks = if text.len() > SPLIT_ABOVE && threads() >= 2 {
        split_at_line(text)
    } else {
        vec![text]
    };
    let shared: &DatasetBuilder = builder;
    let results: Vec<(Parsed, Vec<InputError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let table = &table;
                scope.spawn(move || {
                    let mut sink = Sink::new(shared, table, chunk.len());
                    let mut errs = Vec::new();
                    plain_rows(table, chunk, 1, cols, &mut errs, &mut |line, row| {
                        sink.row(line, row)
                    });
                    (sink.finish(), errs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            })
            .collect()
    });
    // Errors in a later chunk need the line counts of the chunks before it.
    let count_lines = results.iter().skip(1).any(|(_, errs)| !errs.is_empty());
    let mut parsed = Vec::with_capacity(results.len());
    let mut first_line = table.first_line();
    for ((part, errs), chunk) in results.into_iter().zip(&chunks) {
        errors.extend(errs.into_iter().map(|mut e| {
            e.line += first_line - 1;
            e
        }));
        if count_lines {
            first_line += chunk.bytes().filter(|&b| b == b'\n').count() as u64;
        }
        parsed.push(part);
    }
    if errors.is_empty() {
        merge(builder, parsed);
    } else {
        errors.truncate(MAX_ERRORS);
    }
    Ok(())
}

/// Two halves, the first ending just after a newline.
fn split_at_line(text: &str) -> Vec<&str> {
    let mid = text.len() / 2;
    match text.get(mid..).and_then(|rest| rest.find('\n')) {
        Some(i) => {
            let (a, b) = text.split_at(mid + i + 1);
            vec![a, b]
        }
        None => vec![text],
    }
}

/// One chunk's grants: (account, entitlement) pairs, where an entitlement
/// with [`LOCAL`] set indexes `new_entitlements`.
struct Parsed {
    pairs: Vec<(u32, u32)>,
    new_entitlements: Vec<(u32, Box<str>)>,
}

struct Sink<'b> {
    builder: &'b DatasetBuilder,
    table: &'b Table<'b>,
    last_system: String,
    last_account: String,
    last: Option<u32>,
    /// Per system: entitlements new to the catalogue → local id.
    local: Vec<StrTable>,
    parsed: Parsed,
}

impl<'b> Sink<'b> {
    fn new(builder: &'b DatasetBuilder, table: &'b Table<'b>, bytes: usize) -> Self {
        Self {
            builder,
            table,
            last_system: String::new(),
            last_account: String::new(),
            last: None,
            local: Vec::new(),
            parsed: Parsed {
                // Typical lines are 40–60 bytes; growing costs copies of
                // hundreds of megabytes at full scale.
                pairs: Vec::with_capacity(bytes / 40),
                new_entitlements: Vec::new(),
            },
        }
    }

    fn row(
        &mut self,
        line: u64,
        [system, account, entitlement]: [&str; 3],
    ) -> Result<(), InputError> {
        // Exports list an account's grants together: remember the last one.
        let index = match self.last {
            Some(index) if system == self.last_system && account == self.last_account => index,
            _ => {
                let b = self.builder;
                let found = b
                    .catalogue
                    .system_id(system)
                    .and_then(|sys| b.account_index.get(sys as usize))
                    .and_then(|map| map.get(account))
                    .copied();
                let Some(index) = found else {
                    let reason =
                        format!("unknown account {system}:{account} (not in accounts.csv)");
                    return Err(self.table.error(line, Some("account_id"), reason));
                };
                self.last_system.clear();
                self.last_system.push_str(system);
                self.last_account.clear();
                self.last_account.push_str(account);
                self.last = Some(index);
                index
            }
        };
        if entitlement.is_empty() {
            let reason = "empty entitlement_id".to_owned();
            return Err(self.table.error(line, Some("entitlement_id"), reason));
        }
        let sys = self
            .builder
            .accounts
            .get(index as usize)
            .map_or(0, |a| a.system);
        let ent = match self.builder.catalogue.get_in(sys, entitlement) {
            Some(e) => e,
            None => self.local_id(sys, entitlement),
        };
        self.parsed.pairs.push((index, ent));
        Ok(())
    }

    fn local_id(&mut self, sys: u32, entitlement: &str) -> u32 {
        let at = sys as usize;
        if self.local.len() <= at {
            self.local.resize_with(at + 1, StrTable::default);
        }
        let map = &mut self.local[at];
        if let Some(id) = map.get(entitlement) {
            return id;
        }
        let id = LOCAL | self.parsed.new_entitlements.len() as u32;
        self.parsed
            .new_entitlements
            .push((sys, Box::from(entitlement)));
        map.insert(entitlement, id);
        id
    }

    fn finish(self) -> Parsed {
        self.parsed
    }
}

fn merge(builder: &mut DatasetBuilder, parts: Vec<Parsed>) {
    let total: usize = parts.iter().map(|p| p.pairs.len()).sum();
    for mut part in parts {
        let ids: Vec<u32> = part
            .new_entitlements
            .iter()
            .map(|(sys, name)| builder.catalogue.insert_in(*sys, name))
            .collect();
        if !ids.is_empty() {
            for (_, ent) in &mut part.pairs {
                if *ent & LOCAL != 0 {
                    *ent = ids.get((*ent & !LOCAL) as usize).copied().unwrap_or(*ent);
                }
            }
        }
        if builder.grants.is_empty() {
            builder.grants = part.pairs;
            builder
                .grants
                .reserve(total.saturating_sub(builder.grants.len()));
        } else {
            builder.grants.extend(part.pairs);
        }
    }
}
