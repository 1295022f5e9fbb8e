//! Random instants and the interchange format's time encodings.
//!
//! Everything is derived from the caller's `as_of`; reading the clock here
//! would make two runs with the same seed differ.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;

pub(crate) fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

/// Uniform instant in `[start, end)`, whole seconds; `start` when the range is
/// empty so callers need not special-case people hired moments ago.
pub(crate) fn between(rng: &mut StdRng, start: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
    let span = (end - start).num_seconds();
    if span <= 1 {
        return start;
    }
    start + TimeDelta::seconds(rng.gen_range(0..span))
}

/// A working-hours instant on `date` (UTC), when provisioning tickets get done.
pub(crate) fn business_time(rng: &mut StdRng, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN).and_utc();
    midnight + TimeDelta::seconds(rng.gen_range(8 * 3600..18 * 3600))
}

pub(crate) fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub(crate) fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn between_stays_in_range() {
        let mut rng = StdRng::seed_from_u64(1);
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let end = start + days(3);
        for _ in 0..100 {
            let t = between(&mut rng, start, end);
            assert!(t >= start && t < end);
        }
        assert_eq!(between(&mut rng, end, start), end);
    }

    #[test]
    fn formats_match_interchange() {
        let t = DateTime::from_timestamp(1_700_000_000, 500).unwrap_or_default();
        assert_eq!(fmt_ts(t), "2023-11-14T22:13:20Z");
        assert_eq!(fmt_date(t.date_naive()), "2023-11-14");
    }
}
