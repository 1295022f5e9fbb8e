//! `grants.csv`, the big file: on the fast path, split in two at a line
//! boundary and parsed on two threads against the (read-only) accounts and
//! catalogue; entitlements first seen in a chunk are numbered locally and
//! added to the catalogue when the chunks are merged, in file order.

use super::table::{Table, plain_rows};
use super::{InputError, InputErrors, MAX_ERRORS};
use crate::dataset::DatasetBuilder;
use crate::hash::{StrTable, eq_bytes};
use crate::parallel::threads;
use std::io::Read;

/// Marks an entitlement id as local to a chunk, not yet in the catalogue.
const LOCAL: u32 = 1 << 31;

/// Below this, one thread parses a whole block.
const SPLIT_ABOVE: usize = 1 << 20;

/// The file is parsed in blocks of about this many bytes (whole lines): a
/// block's new entitlements join the catalogue before the next block, its
/// pairs are appended at once, and a reader fills the next block while the
/// cores parse this one.
const BLOCK: usize = 32 << 20;

/// After this many wrong guesses of the next account in a row, guess only
/// once every [`RETRY`] account changes.
const GIVE_UP: u32 = 16;
const RETRY: u32 = 256;

/// `grants.csv` in memory.
pub(super) fn read(
    bytes: &[u8],
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    read_in_blocks(bytes, BLOCK, builder, errors)
}

pub(super) fn read_in_blocks(
    bytes: &[u8],
    block_size: usize,
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    let table = Table::open("grants.csv", bytes)?;
    let cols = table.columns(["system_id", "account_id", "entitlement_id"])?;
    let body = table.body();
    reserve(builder, body.len() as u64);
    let mut blocks = Blocks {
        next_line: table.first_line(),
        table: table.detached(),
        cols,
    };
    let mut rest = body;
    while !rest.is_empty() && errors.len() < MAX_ERRORS {
        let cut = block_end(rest, block_size);
        let (block, tail) = rest.split_at(cut);
        if !blocks.feed(builder, block, errors) {
            blocks.fallback(builder, rest, errors);
            break;
        }
        rest = tail;
    }
    errors.truncate(MAX_ERRORS);
    Ok(())
}

/// `grants.csv` from a reader, read on a thread of its own one block ahead
/// of the parsing; `len` (the file's size, if known) sizes the grant array.
pub(super) fn read_stream<R: Read + Send>(
    reader: R,
    len: Option<u64>,
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    read_stream_in_blocks(reader, len, BLOCK, builder, errors)
}

pub(super) fn read_stream_in_blocks<R: Read + Send>(
    mut reader: R,
    len: Option<u64>,
    block_size: usize,
    builder: &mut DatasetBuilder,
    errors: &mut Vec<InputError>,
) -> Result<(), InputErrors> {
    let io_error = |line: u64, e: std::io::Error| InputError {
        file: "grants.csv",
        line,
        column: None,
        reason: format!("cannot read the file: {e}"),
    };
    // The header row first (it may not fit in one small read).
    let mut head = Vec::with_capacity(64 << 10);
    loop {
        let before = head.len();
        let got = reader
            .by_ref()
            .take(64 << 10)
            .read_to_end(&mut head)
            .map_err(|e| io_error(1, e))?;
        if got == 0 || head.get(before..).is_some_and(|new| new.contains(&b'\n')) {
            break;
        }
    }
    let table = Table::open("grants.csv", &head)?;
    let cols = table.columns(["system_id", "account_id", "entitlement_id"])?;
    let carry = table.body().to_vec();
    let mut blocks = Blocks {
        next_line: table.first_line(),
        table: table.detached(),
        cols,
    };
    drop(head);
    reserve(builder, len.unwrap_or(0));
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(1);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || fill_blocks(reader, carry, block_size, &full_tx, &empty_rx));
        let mut rest: Option<Vec<u8>> = None;
        for block in full_rx {
            let block = match block {
                Ok(block) => block,
                Err(e) => {
                    errors.push(io_error(blocks.next_line, e));
                    return;
                }
            };
            if let Some(rest) = &mut rest {
                rest.extend_from_slice(&block);
                continue;
            }
            if !blocks.feed(builder, &block, errors) {
                rest = Some(block);
                continue;
            }
            if errors.len() >= MAX_ERRORS {
                // Dropping the receiver stops the reader.
                return;
            }
            let _ = empty_tx.send(block);
        }
        if let Some(rest) = rest {
            blocks.fallback(builder, &rest, errors);
        }
    });
    errors.truncate(MAX_ERRORS);
    Ok(())
}

/// The reader's side: blocks of whole lines, buffers reused when returned.
fn fill_blocks<R: Read>(
    mut reader: R,
    mut carry: Vec<u8>,
    block_size: usize,
    full: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>,
    empty: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut done = false;
    while !done {
        let mut buf = empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(block_size + (64 << 10)));
        buf.clear();
        buf.append(&mut carry);
        // Up to a block, and on until a newline if the block has none.
        loop {
            let want = block_size.saturating_sub(buf.len()).max(64 << 10) as u64;
            match reader.by_ref().take(want).read_to_end(&mut buf) {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(_) if buf.len() >= block_size && buf.contains(&b'\n') => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = full.send(Err(e));
                    return;
                }
            }
        }
        if !done && let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
            carry.extend_from_slice(buf.get(last + 1..).unwrap_or(&[]));
            buf.truncate(last + 1);
        }
        if buf.is_empty() || full.send(Ok(buf)).is_err() {
            return;
        }
    }
}

/// Where the first block of `rest` ends: after the last newline within
/// `size` bytes (or the first one after), or at the end.
fn block_end(rest: &[u8], size: usize) -> usize {
    if rest.len() <= size {
        return rest.len();
    }
    let head = rest.get(..size).unwrap_or(rest);
    match head.iter().rposition(|&b| b == b'\n') {
        Some(at) => at + 1,
        None => rest
            .get(size..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
            .map_or(rest.len(), |at| size + at + 1),
    }
}

/// Room for the grants of a file of `bytes` bytes (lines of 32 bytes or
/// more); untouched capacity costs address space, not memory.
fn reserve(builder: &mut DatasetBuilder, bytes: u64) {
    let estimate = usize::try_from(bytes / 32).unwrap_or(0);
    builder
        .grants
        .reserve(estimate.saturating_sub(builder.grants.len()));
}

/// Parsing state across the blocks of one file.
struct Blocks {
    /// The header (no body).
    table: Table<'static>,
    cols: [usize; 3],
    /// The line number of the next block's first line.
    next_line: u64,
}

impl Blocks {
    /// Parses a block of whole lines on all cores; `false` (and nothing
    /// taken) when it is not plain text.
    fn feed(
        &mut self,
        builder: &mut DatasetBuilder,
        block: &[u8],
        errors: &mut Vec<InputError>,
    ) -> bool {
        let pieces = if block.len() > SPLIT_ABOVE && threads() >= 2 {
            split_at_lines(block, threads())
        } else {
            vec![block]
        };
        let shared: &DatasetBuilder = builder;
        let table = &self.table;
        let cols = self.cols;
        let results: Vec<Option<Chunk>> = std::thread::scope(|scope| {
            let handles: Vec<_> = pieces
                .iter()
                .skip(1)
                .map(|&piece| scope.spawn(move || parse_chunk(shared, table, piece, cols)))
                .collect();
            let first = pieces
                .first()
                .and_then(|&piece| parse_chunk(shared, table, piece, cols));
            let mut out = vec![first];
            out.extend(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            }));
            out
        });
        let Some(results) = results.into_iter().collect::<Option<Vec<Chunk>>>() else {
            return false;
        };
        let mut parsed = Vec::with_capacity(results.len());
        for chunk in results {
            let offset = self.next_line - 1;
            errors.extend(chunk.errors.into_iter().map(|mut e| {
                e.line += offset;
                e
            }));
            self.next_line += chunk.lines;
            parsed.push(chunk.parsed);
        }
        if errors.is_empty() {
            merge(builder, parsed);
        }
        true
    }

    /// The rest of the file, from the line `next_line`, through the csv
    /// crate (it has quotes, or is not UTF-8).
    fn fallback(
        &mut self,
        builder: &mut DatasetBuilder,
        rest: &[u8],
        errors: &mut Vec<InputError>,
    ) {
        let table = self.table.continuation(rest, self.next_line);
        let mut sink = Sink::new(builder, &table, 0);
        table.for_each(self.cols, errors, |line, row| sink.row(line, row));
        let parsed = sink.finish();
        if errors.is_empty() {
            merge(builder, vec![parsed]);
        }
    }
}

struct Chunk {
    parsed: Parsed,
    errors: Vec<InputError>,
    lines: u64,
}

/// `None` when the chunk is not plain text.
fn parse_chunk(
    builder: &DatasetBuilder,
    table: &Table<'_>,
    chunk: &[u8],
    cols: [usize; 3],
) -> Option<Chunk> {
    if chunk.contains(&b'"') {
        return None;
    }
    let text = std::str::from_utf8(chunk).ok()?;
    let mut sink = Sink::new(builder, table, chunk.len());
    let mut errors = Vec::new();
    let lines = plain_rows(table, text, 1, cols, &mut errors, &mut |line, row| {
        sink.row(line, row)
    });
    Some(Chunk {
        parsed: sink.finish(),
        errors,
        lines,
    })
}

/// `parts` pieces of about equal size, each but the last ending just after
/// a newline.
pub(super) fn split_at_lines(bytes: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(parts);
    let mut rest = bytes;
    for i in (1..parts).rev() {
        let target = rest.len() / (i + 1);
        match rest
            .get(target..)
            .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
        {
            Some(at) => {
                let (a, b) = rest.split_at(target + at + 1);
                out.push(a);
                rest = b;
            }
            None => break,
        }
    }
    out.push(rest);
    out
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
    /// The last row's account and its system.
    last: Option<(u32, u32)>,
    /// Guesses of the next account missed in a row, and accounts changed.
    misses: u32,
    changes: u32,
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
            misses: 0,
            changes: 0,
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
        let (index, sys) = match self.last {
            Some(last)
                if eq_bytes(account.as_bytes(), self.last_account.as_bytes())
                    && eq_bytes(system.as_bytes(), self.last_system.as_bytes()) =>
            {
                last
            }
            _ => {
                let Some(found) = self.find_account(system, account) else {
                    let reason =
                        format!("unknown account {system}:{account} (not in accounts.csv)");
                    return Err(self.table.error(line, Some("account_id"), reason));
                };
                self.last_system.clear();
                self.last_system.push_str(system);
                self.last_account.clear();
                self.last_account.push_str(account);
                self.last = Some(found);
                found
            }
        };
        if entitlement.is_empty() {
            let reason = "empty entitlement_id".to_owned();
            return Err(self.table.error(line, Some("entitlement_id"), reason));
        }
        let ent = match self.builder.catalogue.get_in(sys, entitlement) {
            Some(e) => e,
            None => self.local_id(sys, entitlement),
        };
        self.parsed.pairs.push((index, ent));
        Ok(())
    }

    /// An account other than the last row's, and its system.
    fn find_account(&mut self, system: &str, account: &str) -> Option<(u32, u32)> {
        let b = self.builder;
        let same_system = eq_bytes(system.as_bytes(), self.last_system.as_bytes());
        // Exports list accounts in the order of accounts.csv: try the one
        // after the last before the account index, while that keeps
        // working (in a shuffled file each try costs a cache miss).
        let guess = self.misses < GIVE_UP || self.changes.is_multiple_of(RETRY);
        self.changes = self.changes.wrapping_add(1);
        if guess && let Some((i, sys)) = self.last {
            let next = b.accounts.get(i as usize + 1).filter(|a| {
                eq_bytes(a.name.as_bytes(), account.as_bytes())
                    && (if same_system {
                        a.system == sys
                    } else {
                        eq_bytes(
                            b.catalogue.system_name(a.system).as_bytes(),
                            system.as_bytes(),
                        )
                    })
            });
            if let Some(a) = next {
                self.misses = 0;
                return Some((i + 1, a.system));
            }
            self.misses = self.misses.saturating_add(1);
        }
        let sys = match self.last {
            Some((_, sys)) if same_system => sys,
            _ => b.catalogue.system_id(system)?,
        };
        let index = b.account_index.get(sys as usize)?.get(account)?;
        Some((index, sys))
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
    builder.grants.reserve(total);
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
        builder.grants.extend(part.pairs);
    }
}
