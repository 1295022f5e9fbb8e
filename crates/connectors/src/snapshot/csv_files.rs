//! Reading the CSV files of a snapshot into an `Inventory`.

use super::SnapshotError;
use super::validate::{LineIndex, jsonl_name};
use soxctl_model::identity::{escape, is_hidden};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::time::{Date, Timestamp};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{BufRead, Read};
use std::path::Path;
use std::rc::Rc;

/// The longest line (and CSV record) a snapshot file may hold: far more
/// than any row of the format needs, and little enough memory that one
/// line of a file that is not a snapshot (a NUL-filled sparse file, a
/// device) cannot exhaust it.
pub(super) const MAX_LINE: usize = 1 << 20;

/// The most one read asks of a file, so that a chunk never holds a whole
/// line longer than [`MAX_LINE`] between two of its newlines.
const READ_CHUNK: usize = 64 << 10;

fn too_long_reason() -> String {
    "is longer than 1 MiB, the most a line of a snapshot file may hold; \
     is this the file it should be?"
        .to_owned()
}

/// `message`, about `value`, as it may be shown: the value escaped where
/// the message quotes it (control and bidi characters as `\u{…}`, a NUL as
/// `\0`, cut at 80 characters), and no hidden character elsewhere.
pub(super) fn quoting(value: &str, message: String) -> String {
    let escaped = escape(value);
    let message = if escaped == value || value.is_empty() {
        message
    } else {
        message.replace(value, &escaped)
    };
    shown(&message)
}

/// `text` with its hidden characters escaped, not cut.
pub(super) fn shown(text: &str) -> String {
    if !text.chars().any(is_hidden) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if is_hidden(c) {
            out.push_str(&escape(c.encode_utf8(&mut buf)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A column name that may be repeated in a message: one that could be a
/// column of the format. Anything else in a header is quoted from a file
/// that is not this table (a symlink to `/etc/passwd`), so never shown.
pub(super) fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ')
}

/// One data row with its position, so every error can say where it is.
pub(super) struct Row<'a> {
    file: &'static str,
    line: u64,
    columns: &'a BTreeMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn error(&self, column: &str, reason: impl Into<String>) -> SnapshotError {
        SnapshotError {
            file: self.file.to_owned(),
            line: Some(self.line),
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }

    fn opt(&self, column: &str) -> Option<&str> {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .filter(|v| !v.is_empty())
    }

    fn req(&self, column: &str) -> Result<&str, SnapshotError> {
        self.opt(column)
            .ok_or_else(|| self.error(column, "is empty, but a value is required"))
    }

    fn parse<T, E: Display>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, SnapshotError> {
        let value = self.req(column)?;
        f(value).map_err(|e| self.error(column, quoting(value, e.to_string())))
    }

    fn parse_opt<T, E: Display>(
        &self,
        column: &str,
        f: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, SnapshotError> {
        self.opt(column)
            .map(|v| f(v).map_err(|e| self.error(column, quoting(v, e.to_string()))))
            .transpose()
    }

    fn boolean(&self, column: &str) -> Result<Option<bool>, SnapshotError> {
        self.parse_opt(column, |v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("'{other}' is not a boolean: use true or false")),
        })
    }

    /// Free text on one line (a name, a title): nothing hidden, bounded.
    fn text(&self, column: &str) -> Result<Option<String>, SnapshotError> {
        let value = self.opt(column);
        soxctl_model::text::check_inventory_line(column, value)
            .map_err(|e| self.error(column, e.to_string()))?;
        Ok(value.map(str::to_owned))
    }

    /// A description: as [`Row::text`], but longer and line breaks allowed.
    fn description(&self, column: &str) -> Result<Option<String>, SnapshotError> {
        let value = self.opt(column);
        soxctl_model::text::check_inventory_description(column, value)
            .map_err(|e| self.error(column, e.to_string()))?;
        Ok(value.map(str::to_owned))
    }
}

fn person(v: &str) -> Result<PersonId, soxctl_model::ids::IdError> {
    PersonId::parse_new(v)
}

/// Reads `file`, or its JSON Lines twin, if present; `required` columns
/// must all be in the header, and no column outside `required` and
/// `optional` may be. Returns whether the table was present.
///
/// Both readers stream: a row is checked as soon as it is read, a problem
/// stops the reading there, and no line longer than [`MAX_LINE`] is held.
fn read_table(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    jsonl_tables: &mut std::collections::BTreeSet<&'static str>,
    mut each: impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<bool, SnapshotError> {
    let jsonl = jsonl_name(file);
    let (csv_present, jsonl_present) = (dir.join(file).exists(), dir.join(jsonl).exists());
    if csv_present && jsonl_present {
        return Err(SnapshotError::file(
            file,
            format!("{file} and {jsonl} are both present; keep one of them"),
        ));
    }
    if jsonl_present {
        jsonl_tables.insert(file);
        return read_jsonl(dir, jsonl, required, optional, &mut each).map(|()| true);
    }
    read_csv(dir, file, required, optional, &mut each)
}

/// Opens a file of the snapshot, which must be a regular file (or a link
/// to one): a device or a pipe could be read forever.
pub(super) fn open(dir: &Path, file: &str) -> Result<std::fs::File, SnapshotError> {
    let unreadable = |e: std::io::Error| SnapshotError::file(file, format!("cannot be read: {e}"));
    let not_a_file = || {
        SnapshotError::file(
            file,
            "is not a regular file (a directory, device or pipe); a snapshot holds files",
        )
    };
    // Before opening: opening a pipe waits for a writer.
    let path = dir.join(file);
    if !std::fs::metadata(&path).map_err(unreadable)?.is_file() {
        return Err(not_a_file());
    }
    let opened = std::fs::File::open(&path).map_err(unreadable)?;
    if !opened.metadata().map_err(unreadable)?.is_file() {
        return Err(not_a_file());
    }
    Ok(opened)
}

/// What a JSON value is, for a message that must not quote it.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        serde_json::Value::Number(_) => "a number with a fraction or exponent",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// One JSON object per line with the CSV columns as fields: strings,
/// booleans, integers or null (= empty). Blank lines are skipped.
fn read_jsonl(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    each: &mut impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    let names: Vec<&str> = [required, optional].concat();
    let columns: BTreeMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).to_owned(), i))
        .collect();
    let mut reader = std::io::BufReader::new(open(dir, file)?);
    let mut record = csv::StringRecord::new();
    let mut bytes = Vec::new();
    let mut line = 0u64;
    loop {
        line += 1;
        let at = |column: Option<&str>, reason: String| SnapshotError {
            file: file.to_owned(),
            line: Some(line),
            column: column.map(str::to_owned),
            reason,
        };
        bytes.clear();
        // At most one byte more than a line may hold: a longer line is
        // refused without being read whole.
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| at(None, format!("cannot be read: {e}")))?;
        if read == 0 {
            break;
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        } else if bytes.len() > MAX_LINE {
            return Err(at(None, too_long_reason()));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| at(None, "is not valid UTF-8; save the file as UTF-8".into()))?;
        if text.trim().is_empty() {
            continue;
        }
        // serde_json's messages may quote the line (`invalid type: string
        // "…"`): say what is wrong without them.
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Eof => "it ends before the object does".to_owned(),
                _ => format!("invalid JSON at column {}", e.column()),
            };
            at(
                None,
                format!("is not a JSON object ({what}); write one object per line"),
            )
        })?;
        let serde_json::Value::Object(object) = value else {
            return Err(at(
                None,
                format!(
                    "is not a JSON object but {}; write one object per line",
                    json_kind(&value)
                ),
            ));
        };
        let mut values = vec![String::new(); names.len()];
        for (key, value) in object {
            let Some(&i) = columns.get(&key) else {
                let fields = names.join(",");
                return Err(if plausible_name(&key) {
                    at(
                        Some(&key),
                        format!("unknown field; the fields are {fields}"),
                    )
                } else {
                    at(
                        None,
                        format!(
                            "has a field that is not one of this file's fields; the fields are {fields}"
                        ),
                    )
                });
            };
            let slot = values
                .get_mut(i)
                .ok_or_else(|| at(Some(&key), "unknown field".into()))?;
            *slot = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(v) => v,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                other => {
                    return Err(at(
                        Some(&key),
                        format!(
                            "must be a string, a boolean, an integer or null, not {}",
                            json_kind(&other)
                        ),
                    ));
                }
            };
        }
        if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
            return Err(at(Some(missing), "required field is missing".into()));
        }
        record.clear();
        for v in &values {
            record.push_field(v);
        }
        each(&Row {
            file,
            line,
            columns: &columns,
            record: &record,
        })?;
    }
    Ok(())
}

/// A line or record of a CSV file longer than [`MAX_LINE`], raised by
/// [`Bounded`] through the CSV reader.
#[derive(Debug)]
struct TooLong {
    line: u64,
    /// A record over several lines (a quoted field left open), not one line.
    record: bool,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} is longer than 1 MiB", self.line)
    }
}

impl std::error::Error for TooLong {}

/// A reader that refuses a line, or a record, longer than [`MAX_LINE`]
/// before the CSV reader has buffered it: the CSV reader itself would hold
/// a whole line of a 1 GB file with no newline.
struct Bounded<R> {
    inner: R,
    /// Bytes read so far.
    read: u64,
    /// The line being read (from 1) and how much of it has been read.
    line: u64,
    line_len: usize,
    /// Where the record being parsed starts (byte offset and line): set
    /// after each record from the CSV reader's position.
    record_start: Rc<Cell<(u64, u64)>>,
}

impl<R: Read> Bounded<R> {
    fn too_long(line: u64, record: bool) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, TooLong { line, record })
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // The CSV reader asks for more only once it has parsed all it was
        // given: everything since the record's start belongs to it.
        let (start, start_line) = self.record_start.get();
        if self.read.saturating_sub(start) > MAX_LINE as u64 {
            return Err(Self::too_long(start_line, true));
        }
        let len = buf.len().min(READ_CHUNK);
        let chunk = buf.get_mut(..len).unwrap_or_default();
        let n = self.inner.read(chunk)?;
        let chunk = chunk.get(..n).unwrap_or_default();
        match chunk.iter().position(|&b| b == b'\n') {
            None => self.line_len += n,
            Some(first) => {
                if self.line_len + first > MAX_LINE {
                    return Err(Self::too_long(self.line, false));
                }
                let last = chunk.iter().rposition(|&b| b == b'\n').unwrap_or(first);
                let newlines = count_newlines(chunk);
                self.line += u64::try_from(newlines).unwrap_or(u64::MAX);
                self.line_len = n - last - 1;
            }
        }
        if self.line_len > MAX_LINE {
            return Err(Self::too_long(self.line, false));
        }
        self.read += u64::try_from(n).unwrap_or(u64::MAX);
        Ok(n)
    }
}

/// The newlines in `bytes`, counted in blocks of 255 so that the compiler
/// counts many bytes at once: this runs over every byte of a snapshot.
fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// Checks the header of a CSV file and maps its columns to their places.
/// A column is named in an error only when it could be one
/// ([`plausible_name`]): a first line that is not a header of this file
/// (a link to some other file) is never repeated.
fn header_columns(
    file: &'static str,
    headers: &csv::StringRecord,
    required: &[&str],
    optional: &[&str],
) -> Result<BTreeMap<String, usize>, SnapshotError> {
    let expected = [required, optional].concat();
    let listed = expected.join(",");
    let at = |column: Option<&str>, reason: String| SnapshotError {
        file: file.to_owned(),
        line: Some(1),
        column: column.map(str::to_owned),
        reason,
    };
    if headers.iter().all(str::is_empty) {
        return Err(at(
            None,
            format!("has no header row; the first line must name the columns {listed}"),
        ));
    }
    if !headers.iter().any(|name| expected.contains(&name)) {
        return Err(at(
            None,
            format!("the first line is not a CSV header of this file's columns; they are {listed}"),
        ));
    }
    let mut columns = BTreeMap::new();
    let mut unknown = Vec::new();
    for (i, name) in headers.iter().enumerate() {
        if !expected.contains(&name) {
            if !plausible_name(name) {
                return Err(at(
                    None,
                    format!(
                        "the first line is not a CSV header of this file's columns \
                         (its field {} is not a column name); the columns are {listed}",
                        i + 1
                    ),
                ));
            }
            unknown.push(name);
        } else if columns.insert(name.to_owned(), i).is_some() {
            return Err(at(Some(name), "appears twice in the header".into()));
        }
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    let list = |names: &[&str]| names.join(", ");
    if let Some((first, others)) = unknown.split_first() {
        let also = if others.is_empty() {
            String::new()
        } else {
            format!(" (also unknown: {})", list(others))
        };
        let missing = if missing.is_empty() {
            String::new()
        } else {
            format!("; missing: {}", list(&missing))
        };
        return Err(at(
            Some(first),
            format!("unknown column{also}{missing}; the columns are {listed}"),
        ));
    }
    if let Some((first, others)) = missing.split_first() {
        let also = if others.is_empty() {
            String::new()
        } else {
            format!(" (also missing: {})", list(others))
        };
        return Err(at(
            Some(first),
            format!("required column is missing from the header{also}; the columns are {listed}"),
        ));
    }
    Ok(columns)
}

fn read_csv(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    optional: &[&str],
    each: &mut impl FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<bool, SnapshotError> {
    if !dir.join(file).exists() {
        return Ok(false);
    }
    let record_start = Rc::new(Cell::new((0, 1)));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(Bounded {
            inner: open(dir, file)?,
            read: 0,
            line: 1,
            line_len: 0,
            record_start: Rc::clone(&record_start),
        });
    let csv_error = |e: csv::Error| {
        let mut line = e.position().map(|p| p.line());
        let reason = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8; save the file as UTF-8".to_owned(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("has {len} fields but the header has {expected_len}")
            }
            csv::ErrorKind::Io(io) => {
                match io.get_ref().and_then(|e| e.downcast_ref::<TooLong>()) {
                    Some(too_long) => {
                        line = Some(too_long.line);
                        if too_long.record {
                            "starts a record longer than 1 MiB (a quoted field that is never closed?)"
                                .to_owned()
                        } else {
                            too_long_reason()
                        }
                    }
                    None => format!("cannot be read: {io}"),
                }
            }
            // Not raised by reading records into strings; never quoting
            // the file all the same.
            _ => "cannot be read as CSV".to_owned(),
        };
        SnapshotError {
            file: file.to_owned(),
            line,
            column: None,
            reason,
        }
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let columns = header_columns(file, &headers, required, optional)?;
    let mut record = csv::StringRecord::new();
    loop {
        let position = reader.position();
        record_start.set((position.byte(), position.line()));
        let more = reader.read_record(&mut record).map_err(|e| {
            // Name where the row goes wrong: its first missing, or first extra, field.
            let column = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => Some(
                    usize::try_from(*len)
                        .ok()
                        .and_then(|i| headers.get(i))
                        .map_or_else(
                            || format!("{} (beyond the header)", expected_len + 1),
                            str::to_owned,
                        ),
                ),
                _ => None,
            };
            SnapshotError {
                column,
                ..csv_error(e)
            }
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        each(&Row {
            file,
            line,
            columns: &columns,
            record: &record,
        })?;
    }
    Ok(true)
}

fn insert_unique<K: Ord + Display + Clone, V>(
    map: &mut BTreeMap<K, V>,
    lines: &mut BTreeMap<K, u64>,
    row: &Row<'_>,
    key_column: &str,
    key: K,
    value: V,
) -> Result<(), SnapshotError> {
    if let Some(first) = lines.get(&key) {
        return Err(row.error(
            key_column,
            format!(
                "duplicate key {} (first on line {first})",
                escape(&key.to_string())
            ),
        ));
    }
    lines.insert(key.clone(), row.line);
    map.insert(key, value);
    Ok(())
}

struct Pair<'a, A, B>(&'a A, &'a B);
impl<A: Display, B: Display> Display for Pair<'_, A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.0, self.1)
    }
}

pub(super) fn read_all(dir: &Path, lines: &mut LineIndex) -> Result<Inventory, SnapshotError> {
    let mut inv = Inventory::default();
    read_table(
        dir,
        "people.csv",
        &[
            "person_id",
            "name",
            "email",
            "manager_id",
            "department",
            "title",
            "status",
            "hire_date",
            "termination_date",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let mut p = Person {
                person_id: row.parse("person_id", person)?,
                name: row.text("name")?,
                email: row.text("email")?,
                manager_id: row.parse_opt("manager_id", person)?,
                department: row.text("department")?,
                title: row.text("title")?,
                status: row.parse("status", str::parse)?,
                hire_date: row.parse_opt("hire_date", Date::parse)?,
                termination_date: row.parse_opt("termination_date", Date::parse)?,
            };
            // Their own manager would route their requests to themselves.
            if p.manager_id.as_ref() == Some(&p.person_id) {
                p.manager_id = None;
                lines.self_managers.insert(p.person_id.clone(), row.line);
            }
            insert_unique(
                &mut inv.people,
                &mut lines.people,
                row,
                "person_id",
                p.person_id.clone(),
                p,
            )
        },
    )?;
    read_table(
        dir,
        "systems.csv",
        &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
        &[],
        &mut lines.jsonl,
        |row| {
            let s = System {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                name: row
                    .text("name")?
                    .ok_or_else(|| row.error("name", "is empty, but a value is required"))?,
                kind: row.text("kind")?,
                owner_id: row.parse_opt("owner_id", person)?,
                sox_in_scope: row.boolean("sox_in_scope")?.unwrap_or(true),
            };
            insert_unique(
                &mut inv.systems,
                &mut lines.systems,
                row,
                "system_id",
                s.system_id.clone(),
                s,
            )
        },
    )?;
    read_table(
        dir,
        "entitlements.csv",
        &[
            "system_id",
            "entitlement_id",
            "name",
            "privileged",
            "owner_id",
            "description",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let e = Entitlement {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
                name: row.text("name")?,
                privileged: row.boolean("privileged")?.unwrap_or(false),
                owner_id: row.parse_opt("owner_id", person)?,
                description: row.description("description")?,
            };
            let key = e.key();
            if let Some(first) = lines.entitlements.get(&key) {
                let shown = escape(&Pair(&key.0, &key.1).to_string());
                return Err(row.error(
                    "entitlement_id",
                    format!("duplicate key {shown} (first on line {first})"),
                ));
            }
            lines.entitlements.insert(key.clone(), row.line);
            inv.entitlements.insert(key, e);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "accounts.csv",
        &[
            "system_id",
            "account_id",
            "person_id",
            "kind",
            "status",
            "last_login",
            "mfa",
        ],
        &["owner_id", "credential_rotated_at"],
        &mut lines.jsonl,
        |row| {
            let a = Account {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse_new(v))?,
                person_id: row.parse_opt("person_id", person)?,
                kind: row.parse("kind", str::parse)?,
                status: row.parse("status", str::parse)?,
                last_login: row.parse_opt("last_login", Timestamp::parse)?,
                mfa: row.boolean("mfa")?,
                owner_id: row.parse_opt("owner_id", person)?,
                credential_rotated_at: row.parse_opt("credential_rotated_at", Timestamp::parse)?,
            };
            let key = a.key();
            if let Some(first) = lines.accounts.get(&key) {
                let shown = escape(&Pair(&key.0, &key.1).to_string());
                return Err(row.error(
                    "account_id",
                    format!("duplicate key {shown} (first on line {first})"),
                ));
            }
            lines.accounts.insert(key.clone(), row.line);
            inv.accounts.insert(key, a);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "grants.csv",
        &[
            "system_id",
            "account_id",
            "entitlement_id",
            "granted_at",
            "source",
        ],
        &[],
        &mut lines.jsonl,
        |row| {
            let g = Grant {
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                account_id: row.parse("account_id", |v| AccountId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
                granted_at: row.parse_opt("granted_at", Timestamp::parse)?,
                source: row
                    .parse_opt("source", str::parse)?
                    .unwrap_or(soxctl_model::inventory::GrantSource::Direct),
            };
            let key = g.key();
            if let Some(first) = lines.grants.get(&key) {
                return Err(row.error(
                    "entitlement_id",
                    format!(
                        "duplicate grant {}/{} → {} (first on line {first})",
                        escape(key.0.as_str()),
                        escape(key.1.as_str()),
                        escape(key.2.as_str())
                    ),
                ));
            }
            lines.grants.insert(key.clone(), row.line);
            inv.grants.insert(key, g);
            Ok(())
        },
    )?;
    read_table(
        dir,
        "roles.csv",
        &["role_id", "name", "owner_id"],
        &[],
        &mut lines.jsonl,
        |row| {
            let r = Role {
                role_id: row.parse("role_id", |v| RoleId::parse_new(v))?,
                name: row.text("name")?,
                owner_id: row.parse_opt("owner_id", person)?,
            };
            insert_unique(
                &mut inv.roles,
                &mut lines.roles,
                row,
                "role_id",
                r.role_id.clone(),
                r,
            )
        },
    )?;
    read_table(
        dir,
        "role_entitlements.csv",
        &["role_id", "system_id", "entitlement_id"],
        &[],
        &mut lines.jsonl,
        |row| {
            let r = RoleEntitlement {
                role_id: row.parse("role_id", |v| RoleId::parse_new(v))?,
                system_id: row.parse("system_id", |v| SystemId::parse_new(v))?,
                entitlement_id: row.parse("entitlement_id", |v| EntitlementId::parse_new(v))?,
            };
            let key = r.key();
            if let Some(first) = lines.role_entitlements.get(&key) {
                return Err(row.error(
                    "entitlement_id",
                    format!(
                        "duplicate role entitlement {} → {}:{} (first on line {first})",
                        escape(key.0.as_str()),
                        escape(key.1.as_str()),
                        escape(key.2.as_str())
                    ),
                ));
            }
            lines.role_entitlements.insert(key.clone(), row.line);
            inv.role_entitlements.insert(key, r);
            Ok(())
        },
    )?;
    Ok(inv)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;

    /// Hands its bytes out a few at a time, as a slow file would.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            let (head, tail) = self.0.split_at(n);
            buf[..n].copy_from_slice(head);
            self.0 = tail;
            Ok(n)
        }
    }

    /// Every record of `text` through the bounded CSV reader, or the line
    /// and kind of the first too long.
    fn records(text: &[u8], step: usize) -> Result<usize, (u64, bool)> {
        let start = Rc::new(Cell::new((0, 1)));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Bounded {
                inner: Trickle(text, step),
                read: 0,
                line: 1,
                line_len: 0,
                record_start: Rc::clone(&start),
            });
        let mut record = csv::ByteRecord::new();
        let mut count = 0;
        loop {
            let position = reader.position();
            start.set((position.byte(), position.line()));
            match reader.read_byte_record(&mut record) {
                Ok(true) => count += 1,
                Ok(false) => return Ok(count),
                Err(e) => match e.kind() {
                    csv::ErrorKind::Io(io) => {
                        let too_long = io.get_ref().unwrap().downcast_ref::<TooLong>().unwrap();
                        return Err((too_long.line, too_long.record));
                    }
                    other => panic!("{other:?}"),
                },
            }
        }
    }

    #[test]
    fn a_line_is_bounded_whatever_the_reads() {
        let fits = "a".repeat(MAX_LINE);
        let over = "b".repeat(MAX_LINE + 1);
        for step in [1, 7, 4096, READ_CHUNK, usize::MAX] {
            // A byte at a time: short lines only, to stay quick.
            if step == 1 {
                let small = format!("x\ny\n{}\nz", "c".repeat(5000));
                assert_eq!(records(small.as_bytes(), step), Ok(4));
                continue;
            }
            let text = format!("h\n{fits}\nnext\n");
            assert_eq!(records(text.as_bytes(), step), Ok(3), "step {step}");
            let text = format!("h\nr\n\n{over}\nnext\n");
            assert_eq!(
                records(text.as_bytes(), step),
                Err((4, false)),
                "step {step}"
            );
            let text = format!("h\nr\n{over}");
            assert_eq!(
                records(text.as_bytes(), step),
                Err((3, false)),
                "step {step}"
            );
            // A quoted field over many short lines is one record.
            let text = format!("h\n\"{}", "x\n".repeat(MAX_LINE));
            assert_eq!(
                records(text.as_bytes(), step),
                Err((2, true)),
                "step {step}"
            );
        }
    }

    #[test]
    fn newlines_are_counted_past_a_block() {
        for len in [0, 1, 254, 255, 256, 1000, 70_000] {
            let all = vec![b'\n'; len];
            assert_eq!(count_newlines(&all), len);
            let some: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 { b'\n' } else { b'x' })
                .collect();
            assert_eq!(count_newlines(&some), len.div_ceil(3));
        }
    }

    #[test]
    fn a_header_is_named_only_by_plausible_names() {
        let header = |names: &[&str]| csv::StringRecord::from(names.to_vec());
        let check = |names: &[&str]| header_columns("t.csv", &header(names), &["a", "b"], &["c"]);
        assert_eq!(check(&["b", "a"]).unwrap().get("a"), Some(&1));
        let err = check(&["a", "b", "b"]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("b"));
        let err = check(&["a", "x y", "z_1"]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("x y"));
        assert_eq!(
            err.reason,
            "unknown column (also unknown: z_1); missing: b; the columns are a,b,c"
        );
        let err = check(&["a"]).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("b"));
        assert!(err.reason.starts_with("required column is missing"));
        for secret in ["pass:word", "tab\tbed", "é", &"n".repeat(64), "nul\0"] {
            let err = check(&["a", "b", secret]).unwrap_err();
            assert_eq!(err.column, None, "{secret:?}");
            assert!(!err.reason.contains(secret), "{err}");
            assert!(
                err.reason.contains("its field 3 is not a column name"),
                "{err}"
            );
        }
        // Nothing of this file's columns: not its header at all, plausible or not.
        let err = check(&["hunter2 is my password"]).unwrap_err();
        assert!(!err.reason.contains("hunter2"), "{err}");
        assert!(err.reason.starts_with("the first line is not a CSV header"));
        let err = check(&[]).unwrap_err();
        assert!(err.reason.starts_with("has no header row"), "{err}");
    }

    #[test]
    fn quoted_values_are_escaped() {
        assert_eq!(quoting("a\0b", "'a\0b' is bad".into()), r"'a\0b' is bad");
        assert_eq!(
            quoting("x", "'x' \u{202e} elsewhere".into()),
            r"'x' \u{202e} elsewhere"
        );
        let long = "z".repeat(200);
        let shown = quoting(&long, format!("'{long}' is too long"));
        assert!(shown.len() < 120, "{shown}");
    }
}
