//! Tests of reading snapshot tables.

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
