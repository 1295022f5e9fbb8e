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
    let bytes = text.as_bytes();
    let mut line = first_line;
    let mut pos = 0;
    // One pass over the bytes: commas split fields, a newline ends the row.
    // Both are ASCII, so every cut is on a character boundary.
    while pos < bytes.len() {
        let mut picked = [""; K];
        let mut field = 0;
        let mut field_start = pos;
        let mut end = bytes.len();
        while let Some(&b) = bytes.get(pos) {
            if b == b',' {
                if let Some(&slot) = slot_of.get(field)
                    && let Some(out) = picked.get_mut(slot)
                {
                    *out = text.get(field_start..pos).unwrap_or("");
                }
                field += 1;
                field_start = pos + 1;
            } else if b == b'\n' {
                end = pos;
                break;
            }
            pos += 1;
        }
        pos = end + 1;
        let mut last_end = end;
        if last_end > field_start && bytes.get(last_end - 1) == Some(&b'\r') {
            last_end -= 1;
        }
        if let Some(&slot) = slot_of.get(field)
            && let Some(out) = picked.get_mut(slot)
        {
            *out = text.get(field_start..last_end).unwrap_or("");
        }
        let this = line;
        line += 1;
        // An empty row (or a lone \r) is skipped, as a blank line.
        if field == 0 && last_end == field_start {
            continue;
        }
        let width = field + 1;
        let result = if width == table.width() {
            f(this, picked)
        } else {
            Err(table.wrong_width(this, width))
        };
        if let Err(e) = result {
            errors.push(e);
            if errors.len() >= MAX_ERRORS {
                return line - first_line;
            }
        }
    }
    line - first_line
}
