//! One CSV file: its header, and its rows as the columns asked for.

use super::{InputError, MAX_ERRORS};

pub(super) struct Table<'a> {
    pub file: &'static str,
    header: Vec<String>,
    body: &'a [u8],
    /// The line number of the first line of `body`.
    first_line: u64,
}

impl<'a> Table<'a> {
    pub fn open(file: &'static str, bytes: &'a [u8]) -> Result<Self, InputError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let header_end = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        let (head, body) = bytes.split_at(header_end);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(head);
        let mut record = csv::StringRecord::new();
        let header_error = |reason: String| InputError {
            file,
            line: 1,
            column: None,
            reason,
        };
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                return Err(header_error(
                    "the file is empty; it needs a header row".into(),
                ));
            }
            Err(e) => return Err(header_error(format!("unreadable header row: {e}"))),
        }
        let header: Vec<String> = record.iter().map(|h| h.trim().to_owned()).collect();
        for (i, name) in header.iter().enumerate() {
            if header[..i].contains(name) {
                return Err(header_error(format!(
                    "column {name} appears twice in the header"
                )));
            }
        }
        Ok(Self {
            file,
            header,
            body,
            first_line: 2,
        })
    }

    /// Where each named column is; every one must be present.
    pub fn columns<const K: usize>(&self, names: [&str; K]) -> Result<[usize; K], InputError> {
        let mut at = [0; K];
        for (slot, name) in at.iter_mut().zip(names) {
            *slot = self
                .header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| InputError {
                    file: self.file,
                    line: 1,
                    column: None,
                    reason: format!(
                        "missing column {name}; the header must name {} (in any order)",
                        names.join(", ")
                    ),
                })?;
        }
        Ok(at)
    }

    pub fn error(&self, line: u64, column: Option<&str>, reason: String) -> InputError {
        InputError {
            file: self.file,
            line,
            column: column.map(str::to_owned),
            reason,
        }
    }

    pub fn width(&self) -> usize {
        self.header.len()
    }

    /// The same header without a body.
    pub fn detached(&self) -> Table<'static> {
        Table {
            file: self.file,
            header: self.header.clone(),
            body: &[],
            first_line: self.first_line,
        }
    }

    /// The same header over `body`, whose first line is `first_line`.
    pub fn continuation<'b>(&self, body: &'b [u8], first_line: u64) -> Table<'b> {
        Table {
            file: self.file,
            header: self.header.clone(),
            body,
            first_line,
        }
    }

    /// The bytes after the header row.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    pub fn first_line(&self) -> u64 {
        self.first_line
    }

    /// The rows as text, when the fast path applies: no quote anywhere and
    /// valid UTF-8, so every `,` and newline is a separator.
    pub fn plain_body(&self) -> Option<&'a str> {
        if self.body.contains(&b'"') {
            return None;
        }
        std::str::from_utf8(self.body).ok()
    }

    /// Calls `f` with the asked-for columns of every row, collecting errors.
    pub fn for_each<const K: usize>(
        &self,
        cols: [usize; K],
        errors: &mut Vec<InputError>,
        mut f: impl FnMut(u64, [&str; K]) -> Result<(), InputError>,
    ) {
        match self.plain_body() {
            Some(text) => {
                plain_rows(self, text, self.first_line, cols, errors, &mut f);
            }
            None => self.quoted_rows(cols, errors, &mut f),
        }
    }

    fn quoted_rows<const K: usize>(
        &self,
        cols: [usize; K],
        errors: &mut Vec<InputError>,
        f: &mut impl FnMut(u64, [&str; K]) -> Result<(), InputError>,
    ) {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.body);
        let mut record = csv::ByteRecord::new();
        while errors.len() < MAX_ERRORS {
            let line = self.first_line + reader.position().line().saturating_sub(1);
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    errors.push(self.error(line, None, format!("unreadable row: {e}")));
                    break;
                }
            }
            let line = record
                .position()
                .map_or(line, |p| self.first_line + p.line().saturating_sub(1));
            if record.len() != self.width() {
                errors.push(self.wrong_width(line, record.len()));
                continue;
            }
            let mut picked = [""; K];
            let mut bad = None;
            for (slot, &col) in picked.iter_mut().zip(&cols) {
                let bytes = record.get(col).unwrap_or_default();
                match std::str::from_utf8(bytes) {
                    Ok(text) => *slot = text,
                    Err(_) => bad = Some(col),
                }
            }
            let result = match bad {
                Some(col) => Err(self.error(
                    line,
                    self.header.get(col).map(String::as_str),
                    "not valid UTF-8".into(),
                )),
                None => f(line, picked),
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
    }

    pub fn wrong_width(&self, line: u64, found: usize) -> InputError {
        self.error(
            line,
            None,
            format!("{found} fields, but the header has {}", self.width()),
        )
    }
}

/// The fast path over plain rows (see [`Table::plain_body`]); `first_line`
/// is the line number of the first row of `text`. Returns how many lines
/// `text` has (a last line without a newline counts).
///
/// Separators are found eight bytes at a time: a word's bytes equal to `,`
/// or a newline are flagged with the zero-byte trick, each flag checked
/// against the byte itself (the trick may flag a byte above a true match).
/// Both are ASCII, so every cut is on a character boundary.
pub(super) fn plain_rows<'t, const K: usize>(
    table: &Table<'_>,
    text: &'t str,
    first_line: u64,
    cols: [usize; K],
    errors: &mut Vec<InputError>,
    f: &mut impl FnMut(u64, [&'t str; K]) -> Result<(), InputError>,
) -> u64 {
    // Which output slot each column feeds, if any.
    let mut slot_of = vec![usize::MAX; table.width()];
    for (slot, &col) in cols.iter().enumerate() {
        if let Some(s) = slot_of.get_mut(col) {
            *s = slot;
        }
    }
    let mut rows = Rows {
        table,
        text,
        slot_of: &slot_of,
        picked: [""; K],
        field: 0,
        field_start: 0,
        line: first_line,
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let mut flags = match bytes.get(at..at + 8) {
            Some(word) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                separators(u64::from_le_bytes(w))
            }
            None => bytes
                .get(at..)
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .filter(|(_, b)| matches!(b, b',' | b'\n'))
                .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i)),
        };
        while flags != 0 {
            let p = at + flags.trailing_zeros() as usize / 8;
            flags &= flags - 1;
            match bytes.get(p) {
                Some(b',') => rows.comma(p),
                Some(b'\n') if rows.end_row(p, errors, f) => {
                    // Enough errors: the lines still count, for the parts
                    // of the file after this one.
                    let rest = bytes.get(p + 1..).unwrap_or(&[]);
                    let more = rest.iter().filter(|&&b| b == b'\n').count()
                        + usize::from(!rest.is_empty() && !rest.ends_with(b"\n"));
                    return rows.line - first_line + more as u64;
                }
                _ => {}
            }
        }
        at += 8;
    }
    if rows.field > 0 || rows.field_start < bytes.len() {
        rows.end_row(bytes.len(), errors, f);
    }
    rows.line - first_line
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that may be `,` or a newline.
#[inline]
fn separators(word: u64) -> u64 {
    let comma = word ^ (LO * u64::from(b','));
    let newline = word ^ (LO * u64::from(b'\n'));
    ((comma.wrapping_sub(LO) & !comma) | (newline.wrapping_sub(LO) & !newline)) & HI
}

/// The row being cut.
struct Rows<'a, 't, const K: usize> {
    table: &'a Table<'a>,
    text: &'t str,
    slot_of: &'a [usize],
    picked: [&'t str; K],
    field: usize,
    field_start: usize,
    line: u64,
}

impl<'t, const K: usize> Rows<'_, 't, K> {
    #[inline]
    fn take(&mut self, end: usize) {
        if let Some(&slot) = self.slot_of.get(self.field)
            && let Some(out) = self.picked.get_mut(slot)
        {
            *out = self.text.get(self.field_start..end).unwrap_or("");
        }
    }

    #[inline]
    fn comma(&mut self, at: usize) {
        self.take(at);
        self.field += 1;
        self.field_start = at + 1;
    }

    /// Ends the row at `end` (its newline, or the end of the text); whether
    /// enough errors were collected to stop.
    #[inline]
    fn end_row(
        &mut self,
        end: usize,
        errors: &mut Vec<InputError>,
        f: &mut impl FnMut(u64, [&'t str; K]) -> Result<(), InputError>,
    ) -> bool {
        let mut last_end = end;
        if last_end > self.field_start && self.text.as_bytes().get(last_end - 1) == Some(&b'\r') {
            last_end -= 1;
        }
        self.take(last_end);
        let line = self.line;
        let width = self.field + 1;
        // An empty row (or a lone \r) is skipped, as a blank line.
        let blank = self.field == 0 && last_end == self.field_start;
        let picked = std::mem::replace(&mut self.picked, [""; K]);
        self.line += 1;
        self.field = 0;
        self.field_start = end + 1;
        if blank {
            return false;
        }
        let result = if width == self.table.width() {
            f(line, picked)
        } else {
            Err(self.table.wrong_width(line, width))
        };
        if let Err(e) = result {
            errors.push(e);
            return errors.len() >= MAX_ERRORS;
        }
        false
    }
}
