//! Durations as people write them in a policies document: `30m`, `8h`,
//! `7d`, `1h 30m`.

use std::time::Duration;

/// The longest duration a document may give (one year): anything longer is
/// a typo for a shorter unit, and keeps seconds far from overflow.
pub(crate) const MAX_SECS: u64 = 366 * 24 * 3600;

/// Seconds in a duration written like `30m`, `8h`, `7d` or `1h 30m`.
///
/// humantime does the reading; this adds what a policy needs: whole
/// seconds, more than zero, at most a year.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("an empty duration; write one like \"30m\", \"8h\" or \"7d\"".into());
    }
    if trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "\"{text}\" has no unit; write \"{trimmed}s\", \"{trimmed}m\", \"{trimmed}h\" or \"{trimmed}d\""
        ));
    }
    let d = humantime::parse_duration(trimmed).map_err(|e| {
        format!("\"{text}\" is not a duration ({e}); write one like \"30m\", \"8h\" or \"7d\"")
    })?;
    if d.subsec_nanos() != 0 {
        return Err(format!("\"{text}\" is not a whole number of seconds"));
    }
    match d.as_secs() {
        0 => Err(format!("\"{text}\" is zero; a duration must be positive")),
        s if s > MAX_SECS => Err(format!(
            "\"{text}\" is longer than a year; use a shorter duration"
        )),
        s => Ok(s),
    }
}

/// `8h`, `1day 12h`: the compact form for messages.
pub fn format_duration(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("8h"), Ok(8 * 3600));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
        assert_eq!(parse_duration("1h 30m"), Ok(5400));
        assert_eq!(parse_duration(" 45s "), Ok(45));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
    }

    #[test]
    fn refusals_say_what_to_write() {
        for (text, says) in [
            ("", "empty"),
            ("8", "no unit"),
            ("8 hourz", "not a duration"),
            ("h", "not a duration"),
            ("0h", "zero"),
            ("400d", "longer than a year"),
            ("1500ms", "whole number of seconds"),
            ("-1h", "not a duration"),
        ] {
            let e = parse_duration(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(8 * 3600), "8h");
        assert_eq!(format_duration(5400), "1h 30m");
    }

    proptest! {
        #[test]
        fn format_and_parse_round_trip(secs in 1u64..=MAX_SECS) {
            prop_assert_eq!(parse_duration(&format_duration(secs)), Ok(secs));
        }
    }
}
