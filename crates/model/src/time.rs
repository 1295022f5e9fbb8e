//! Ledger time: UTC with exactly microsecond precision, so that SQLite and
//! PostgreSQL store it exactly and its text form sorts chronologically.

use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(DateTime<Utc>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not an RFC 3339 time (e.g. 2026-03-31T17:00:00Z) or date (2026-03-31)")]
pub struct TimeError {
    pub value: String,
}

/// The latest instant the ledger's text form holds (a four-digit year).
fn latest() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(253_402_300_799_999_999)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The earliest: 0000-01-01T00:00:00Z.
fn earliest() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(-62_167_219_200_000_000)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z: the start of every window with no start.
    pub const EPOCH: Self = Self(DateTime::UNIX_EPOCH);

    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t.trunc_subsecs(6))
    }

    /// Accepts RFC 3339 with any offset (normalised to UTC) or a full date
    /// (midnight UTC), in the years 0000 to 9999.
    pub fn parse(value: &str) -> Result<Self, TimeError> {
        let parsed = if let Ok(t) = DateTime::parse_from_rfc3339(value) {
            Some(Self::from_datetime(t.with_timezone(&Utc)))
        } else if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            && let Some(t) = d.and_hms_opt(0, 0, 0)
        {
            Some(Self(t.and_utc()))
        } else {
            None
        };
        parsed
            .filter(|t| (earliest()..=latest()).contains(&t.0))
            .ok_or_else(|| TimeError {
                value: value.to_owned(),
            })
    }

    /// As `parse`, except that a full date means the end of that day
    /// (23:59:59.999999 UTC): "as of 31 March" is the close of the 31st.
    pub fn parse_end_of_day(value: &str) -> Result<Self, TimeError> {
        let start = Self::parse(value)?;
        if NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
            let end = start
                .0
                .checked_add_signed(chrono::Duration::days(1) - chrono::Duration::microseconds(1))
                .unwrap_or_else(latest);
            return Ok(Self(end.min(latest())));
        }
        Ok(start)
    }

    /// `secs` later, or the latest instant the ledger holds (9999-12-31):
    /// a duration from outside never overflows the clock.
    pub fn saturating_add_secs(self, secs: u64) -> Self {
        let delta = i64::try_from(secs)
            .ok()
            .and_then(chrono::Duration::try_seconds);
        Self(
            delta
                .and_then(|d| self.0.checked_add_signed(d))
                .map_or_else(latest, |t| t.min(latest())),
        )
    }

    /// `secs` earlier, or the earliest instant the ledger holds.
    pub fn saturating_sub_secs(self, secs: u64) -> Self {
        let delta = i64::try_from(secs)
            .ok()
            .and_then(chrono::Duration::try_seconds);
        Self(
            delta
                .and_then(|d| self.0.checked_sub_signed(d))
                .map_or_else(earliest, |t| t.max(earliest())),
        )
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    /// The ledger's canonical text: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn to_canonical(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical())
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimeError;
    fn try_from(value: String) -> Result<Self, TimeError> {
        Self::parse(&value)
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_canonical()
    }
}

/// A calendar date (`YYYY-MM-DD`), as HR systems report hire and termination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(NaiveDate);

impl Date {
    pub fn parse(value: &str) -> Result<Self, TimeError> {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| TimeError {
                value: value.to_owned(),
            })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl TryFrom<String> for Date {
    type Error = TimeError;
    fn try_from(value: String) -> Result<Self, TimeError> {
        Self::parse(&value)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_has_microseconds_and_z() {
        let t = Timestamp::parse("2026-03-31T19:00:00.1234567+02:00").unwrap();
        assert_eq!(t.to_canonical(), "2026-03-31T17:00:00.123456Z");
        assert_eq!(
            Timestamp::parse("2026-03-31").unwrap().to_canonical(),
            "2026-03-31T00:00:00.000000Z"
        );
        assert!(Timestamp::parse("31/03/2026").is_err());
    }

    #[test]
    fn canonical_text_round_trips() {
        let t = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        assert_eq!(Timestamp::parse(&t.to_canonical()).unwrap(), t);
    }
}
