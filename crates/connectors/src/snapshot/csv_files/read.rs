//! Reading one table of a snapshot, CSV or JSON Lines, streamed and
//! bounded: a row is checked as soon as it is read.

#![allow(unused_imports)]
use super::*;

/// Reads `file`, or its JSON Lines twin, if present; `required` columns
/// must all be in the header, and no column outside `required` and
/// `optional` may be. Returns whether the table was present.
///
/// Both readers stream: a row is checked as soon as it is read, a problem
/// stops the reading there, and no line longer than [`MAX_LINE`] is held.
pub(super) fn read_table(
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
pub(crate) fn open(dir: &Path, file: &str) -> Result<std::fs::File, SnapshotError> {
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
pub(super) fn json_kind(value: &serde_json::Value) -> &'static str {
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
pub(super) fn read_jsonl(
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
pub(super) struct TooLong {
    pub(super) line: u64,
    /// A record over several lines (a quoted field left open), not one line.
    pub(super) record: bool,
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
pub(super) struct Bounded<R> {
    pub(super) inner: R,
    /// Bytes read so far.
    pub(super) read: u64,
    /// The line being read (from 1) and how much of it has been read.
    pub(super) line: u64,
    pub(super) line_len: usize,
    /// Where the record being parsed starts (byte offset and line): set
    /// after each record from the CSV reader's position.
    pub(super) record_start: Rc<Cell<(u64, u64)>>,
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
pub(super) fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// Checks the header of a CSV file and maps its columns to their places.
/// A column is named in an error only when it could be one
/// ([`plausible_name`]): a first line that is not a header of this file
/// (a link to some other file) is never repeated.
pub(super) fn header_columns(
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

pub(super) fn read_csv(
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
