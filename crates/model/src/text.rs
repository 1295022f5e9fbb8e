//! Free text from outside (descriptions, justifications, comments,
//! reasons, SCIM strings): bounded, and without the characters that hide or
//! reorder what a reader sees (control characters, bidirectional
//! overrides, zero-width marks). Paragraphs may hold line breaks and tabs;
//! lines may not.

use crate::identity::{escape, is_hidden};
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the {what} has {len} characters, more than {max}: shorten it")]
    TooLong {
        what: String,
        len: usize,
        max: usize,
    },
    #[error(
        "the {what} '{shown}' holds a control or invisible character (U+{code:04X}): write plain text"
    )]
    Hidden {
        what: String,
        shown: String,
        code: u32,
    },
}

fn check(what: &str, value: &str, max_chars: usize, breaks: bool) -> Result<(), TextError> {
    let len = value.chars().count();
    if len > max_chars {
        return Err(TextError::TooLong {
            what: what.to_owned(),
            len,
            max: max_chars,
        });
    }
    let allowed = |c: char| breaks && matches!(c, '\n' | '\t' | '\r');
    if let Some(c) = value.chars().find(|c| is_hidden(*c) && !allowed(*c)) {
        return Err(TextError::Hidden {
            what: what.to_owned(),
            shown: escape(value),
            code: c as u32,
        });
    }
    Ok(())
}

/// `text` as it may be shown on a terminal or in an error body: every
/// hidden character but the line break escaped (`\0`, `\u{202e}`), nothing
/// cut. Messages quote input; this keeps a value from hiding or reordering
/// what a reader sees, or from driving a terminal.
pub fn shown(text: &str) -> Cow<'_, str> {
    escape_hidden(text, |c| c != '\n')
}

/// As [`shown`], with line breaks escaped too: for one line of a report.
pub fn shown_on_one_line(text: &str) -> Cow<'_, str> {
    escape_hidden(text, |_| true)
}

/// `text` with every hidden character that `escaped` accepts written as
/// an escape.
fn escape_hidden(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden(c) && escaped(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&escape(c.encode_utf8(&mut buf)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Longest name, email, department, title or kind that enters an
/// inventory from outside.
pub const MAX_INVENTORY_LINE: usize = 512;
/// Longest description that enters an inventory from outside.
pub const MAX_INVENTORY_DESCRIPTION: usize = 4000;

/// A line of an inventory (a person's name, a department), if present.
pub fn check_inventory_line(what: &str, value: Option<&str>) -> Result<(), TextError> {
    value.map_or(Ok(()), |v| check_line(what, v, MAX_INVENTORY_LINE))
}

/// A description in an inventory, if present; line breaks allowed.
pub fn check_inventory_description(what: &str, value: Option<&str>) -> Result<(), TextError> {
    value.map_or(Ok(()), |v| {
        check_paragraph(what, v, MAX_INVENTORY_DESCRIPTION)
    })
}

/// One line of text: at most `max_chars`, nothing hidden.
pub fn check_line(what: &str, value: &str, max_chars: usize) -> Result<(), TextError> {
    check(what, value, max_chars, false)
}

/// A paragraph: as a line, but line breaks and tabs are allowed.
pub fn check_paragraph(what: &str, value: &str, max_chars: usize) -> Result<(), TextError> {
    check(what, value, max_chars, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_refused_and_shown_escaped() {
        for bad in [
            "a\0b",
            "pay\u{202e}lanoitan",
            "bell\u{7}",
            "zero\u{200b}width",
        ] {
            let e = check_line("description", bad, 100).unwrap_err().to_string();
            assert!(!e.contains('\0') && !e.contains('\u{202e}'), "{e}");
        }
        assert!(check_line("description", "two\nlines", 100).is_err());
        assert!(check_paragraph("justification", "two\nlines\twith a tab", 100).is_ok());
        assert!(check_paragraph("justification", "nul\0", 100).is_err());
        assert!(check_line("x", &"é".repeat(10), 10).is_ok());
        assert!(check_line("x", &"é".repeat(11), 10).is_err());
    }

    #[test]
    fn shown_escapes_all_but_line_breaks() {
        assert_eq!(shown("plain: text\nnext"), "plain: text\nnext");
        assert_eq!(
            shown("a\0b\u{202e}c\u{1b}[31m\t"),
            "a\\0b\\u{202e}c\\u{1b}[31m\\u{9}"
        );
        assert!(matches!(shown("é ok"), Cow::Borrowed(_)));
        assert_eq!(shown_on_one_line("a\nb\0"), "a\\u{a}b\\0");
    }
}
