//! Directory times: Windows FILETIME (AD's `lastLogonTimestamp`) and LDAP
//! GeneralizedTime, converted exactly to the ledger's microsecond time.

use chrono::{DateTime, NaiveDate, Utc};
use soxctl_model::time::Timestamp;

/// FILETIME ticks (100 ns) from 1601-01-01 to 1970-01-01 UTC.
pub const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// A FILETIME value: `Ok(None)` for 0 and `i64::MAX` (AD's "never"), else
/// the instant, truncated from 100 ns to the ledger's microseconds.
pub fn from_filetime(value: &str) -> Result<Option<Timestamp>, String> {
    let ticks: i64 = value.trim().parse().map_err(|_| {
        format!("'{value}' is not a Windows FILETIME (an integer count of 100 ns ticks since 1601)")
    })?;
    if ticks == 0 || ticks == i64::MAX {
        return Ok(None);
    }
    if ticks < 0 {
        return Err(format!("'{value}' is a negative FILETIME"));
    }
    let since_unix = ticks - FILETIME_UNIX_EPOCH;
    // Floor division: an instant before 1970 keeps its microsecond.
    let micros = since_unix.div_euclid(10);
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| Some(Timestamp::from_datetime(t)))
        .ok_or_else(|| format!("FILETIME '{value}' is out of range"))
}

/// GeneralizedTime (RFC 4517 3.3.13): `YYYYMMDDHH[MM[SS]][(.|,)fraction]`
/// then `Z` or `±HH[MM]`. A fraction applies to the last unit given.
pub fn from_generalized_time(value: &str) -> Result<Timestamp, String> {
    let bad = || format!("'{value}' is not an LDAP GeneralizedTime (e.g. 20260330081200Z)");
    let v = value.trim();
    let (body, offset_seconds) = if let Some(b) = v.strip_suffix('Z') {
        (b, 0i64)
    } else {
        let at = v.rfind(['+', '-']).ok_or_else(bad)?;
        let (b, off) = v.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits = &off[1..];
        if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let hours: i64 = digits[..2].parse().map_err(|_| bad())?;
        let minutes: i64 = if digits.len() == 4 {
            digits[2..].parse().map_err(|_| bad())?
        } else {
            0
        };
        if hours > 23 || minutes > 59 {
            return Err(bad());
        }
        (b, sign * (hours * 3600 + minutes * 60))
    };
    let (whole, fraction) = match body.find(['.', ',']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if !matches!(whole.len(), 10 | 12 | 14) || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| whole[r].parse::<u32>().map_err(|_| bad());
    let date =
        NaiveDate::from_ymd_opt(num(0..4)? as i32, num(4..6)?, num(6..8)?).ok_or_else(bad)?;
    let hour = num(8..10)?;
    let minute = if whole.len() >= 12 { num(10..12)? } else { 0 };
    let second = if whole.len() == 14 { num(12..14)? } else { 0 };
    // A leap second (60) is folded into the next one.
    let base = date
        .and_hms_opt(hour, minute, second.min(59))
        .ok_or_else(bad)?
        .and_utc()
        .timestamp_micros()
        + if second == 60 { 1_000_000 } else { 0 };
    // The unit the fraction applies to, in microseconds.
    let unit: i64 = match whole.len() {
        10 => 3_600_000_000,
        12 => 60_000_000,
        _ => 1_000_000,
    };
    let fraction_micros = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => {
            // unit × 0.f, truncated to the microsecond, without floats.
            let mut micros: i128 = 0;
            let mut scale: i128 = i128::from(unit);
            for digit in f.bytes().take(18) {
                scale /= 10;
                micros += i128::from(digit - b'0') * scale;
                if scale == 0 {
                    break;
                }
            }
            i64::try_from(micros).map_err(|_| bad())?
        }
        Some(_) => return Err(bad()),
    };
    let micros = base + fraction_micros - offset_seconds * 1_000_000;
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(Timestamp::from_datetime)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn filetime_converts_exactly() {
        // The Unix epoch itself.
        assert_eq!(
            from_filetime("116444736000000000").unwrap(),
            Some(ts("1970-01-01T00:00:00Z"))
        );
        // 2024-04-18T16:00:00Z, counted in Python from 1601-01-01.
        assert_eq!(
            from_filetime("133579296000000000").unwrap(),
            Some(ts("2024-04-18T16:00:00Z"))
        );
        // Sub-second ticks: 1234567 ticks = 0.1234567 s, truncated to 123456 µs.
        assert_eq!(
            from_filetime("133579296001234567").unwrap(),
            Some(ts("2024-04-18T16:00:00.123456Z"))
        );
        // 1601-01-01 plus one tick is before 1970: floor, not towards zero.
        assert_eq!(
            from_filetime("10").unwrap(),
            Some(ts("1601-01-01T00:00:00.000001Z"))
        );
        assert_eq!(from_filetime("0").unwrap(), None);
        assert_eq!(from_filetime("9223372036854775807").unwrap(), None);
        assert!(from_filetime("-5").is_err());
        assert!(from_filetime("yesterday").unwrap_err().contains("FILETIME"));
    }

    #[test]
    fn generalized_time_with_offsets_and_fractions() {
        assert_eq!(
            from_generalized_time("20260330081200Z").unwrap(),
            ts("2026-03-30T08:12:00Z")
        );
        assert_eq!(
            from_generalized_time("20260330081200.5Z").unwrap(),
            ts("2026-03-30T08:12:00.5Z")
        );
        assert_eq!(
            from_generalized_time("202603300812Z").unwrap(),
            ts("2026-03-30T08:12:00Z")
        );
        // A fraction of an hour: 0.25 h = 15 min.
        assert_eq!(
            from_generalized_time("2026033008.25Z").unwrap(),
            ts("2026-03-30T08:15:00Z")
        );
        assert_eq!(
            from_generalized_time("20260330101200+0200").unwrap(),
            ts("2026-03-30T08:12:00Z")
        );
        assert_eq!(
            from_generalized_time("20260330031200-05").unwrap(),
            ts("2026-03-30T08:12:00Z")
        );
        for bad in [
            "",
            "2026",
            "20261330081200Z",
            "20260330081200",
            "20260330081200.Z",
            "2026033008120Z",
        ] {
            assert!(from_generalized_time(bad).is_err(), "{bad}");
        }
    }
}
