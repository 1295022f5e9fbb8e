//! Syntax of the string fields of an entry.

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: one spelling per instant, so equal times hash equally.
pub(super) fn is_valid_time(time: &str) -> bool {
    let b = time.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd.ddddddZ";
    let shape_ok = b.len() == shape.len()
        && b.iter().zip(shape).all(|(&c, &s)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
    if !shape_ok {
        return false;
    }
    let num = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        // Leap seconds (:60) are refused: clocks in practice smear them, and one
        // instant must keep one spelling.
        && second < 60
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `person:<id>`, `token:<id>` or `system:<component>`, where the id is printable ASCII
/// without spaces so that it cannot be confused with anything around it in a report.
pub(super) fn is_valid_actor(actor: &str) -> bool {
    let Some((kind, id)) = actor.split_once(':') else {
        return false;
    };
    matches!(kind, "person" | "token" | "system")
        && !id.is_empty()
        && id.bytes().all(|c| c.is_ascii_graphic())
}

/// Dotted lowercase, at least two segments: `grant.added`, `access_review.completed`.
pub(super) fn is_valid_kind(kind: &str) -> bool {
    let mut segments = kind.split('.');
    let segment_ok = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    };
    kind.contains('.') && segments.all(segment_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for ok in [
            "2024-02-29T23:59:59.999999Z",
            "2000-02-29T00:00:00.000000Z",
            "2025-12-31T12:00:00.123456Z",
        ] {
            assert!(is_valid_time(ok), "{ok}");
        }
        for bad in [
            "2023-02-29T00:00:00.000000Z", // not a leap year
            "1900-02-29T00:00:00.000000Z", // century, not a leap year
            "2024-04-31T00:00:00.000000Z",
            "2024-13-01T00:00:00.000000Z",
            "2024-00-01T00:00:00.000000Z",
            "2024-01-00T00:00:00.000000Z",
            "2024-01-01T24:00:00.000000Z",
            "2024-01-01T00:60:00.000000Z",
            "2024-01-01T00:00:60.000000Z",
            "2024-01-01T00:00:00.00000Z",
            "2024-01-01T00:00:00.0000000Z",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000000+00:00",
            "2024-01-01t00:00:00.000000z",
            "2024-01-01 00:00:00.000000Z",
            "２024-01-01T00:00:00.000000Z",
            "",
        ] {
            assert!(!is_valid_time(bad), "{bad}");
        }
    }

    #[test]
    fn actors() {
        for ok in [
            "person:alice@example.com",
            "token:tok_123",
            "system:scheduler",
            "system:a:b",
        ] {
            assert!(is_valid_actor(ok), "{ok}");
        }
        for bad in [
            "person:",
            "person",
            "robot:x",
            "Person:x",
            "person:a b",
            "token:é",
            ":x",
            "system:\n",
        ] {
            assert!(!is_valid_actor(bad), "{bad}");
        }
    }

    #[test]
    fn kinds() {
        for ok in ["grant.added", "access_review.completed", "a.b.c", "v2.x1"] {
            assert!(is_valid_kind(ok), "{ok}");
        }
        for bad in [
            "grant",
            "Grant.added",
            "grant..added",
            ".grant",
            "grant.",
            "grant.1x",
            "grant-added.x",
            "",
        ] {
            assert!(!is_valid_kind(bad), "{bad}");
        }
    }
}
