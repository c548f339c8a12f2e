//! `Timestamp`: a UTC instant with microsecond precision, the one time type of the domain.
//!
//! Stored as microseconds since the Unix epoch so every backend keeps it exactly; shown and
//! serialized as RFC 3339 (`2026-05-08T12:00:00.000001Z`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Error;

/// A UTC instant, microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Timestamp((nanos / 1_000) as i64)
    }

    /// From microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// This instant plus `days` (negative goes back), saturating at the ends of the range.
    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_add(days.saturating_mul(MICROS_PER_DAY)))
    }

    /// This instant plus `micros` microseconds, saturating.
    pub fn plus_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }

    /// The earliest instant the domain accepts: 0001-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp(-62_135_596_800 * MICROS_PER_SECOND);
    /// The latest instant the domain accepts: 9999-12-31T23:59:59.999999Z (RFC 3339 has four
    /// year digits, so every accepted instant has exactly one text form).
    pub const MAX: Timestamp = Timestamp(253_402_300_800 * MICROS_PER_SECOND - 1);

    /// Rejects an instant outside [`Timestamp::MIN`]..=[`Timestamp::MAX`], naming `what`.
    pub fn validate(self, what: &str) -> Result<(), Error> {
        if self < Self::MIN || self > Self::MAX {
            return Err(Error::invalid_input(format!("{what} is outside the years 0001..=9999")));
        }
        Ok(())
    }

    fn to_datetime(self) -> OffsetDateTime {
        let clamped = self.0.clamp(Self::MIN.0, Self::MAX.0);
        OffsetDateTime::from_unix_timestamp_nanos(clamped as i128 * 1_000).expect("MIN..=MAX is representable")
    }

    /// The UTC calendar date, `YYYY-MM-DD` (names the daily JSONL log files).
    pub fn utc_date(self) -> String {
        let d = self.to_datetime().date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// Parses RFC 3339 (any offset; converted to UTC). Sub-microsecond digits are truncated.
    pub fn parse_rfc3339(text: &str) -> Result<Self, Error> {
        let dt = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
            Error::invalid_input(format!(
                "invalid timestamp {text:?}: expected RFC 3339 such as 2026-05-08T12:00:00Z ({e})"
            ))
        })?;
        let micros = dt.unix_timestamp_nanos().div_euclid(1_000);
        let t = i64::try_from(micros)
            .map(Timestamp)
            .map_err(|_| Error::invalid_input(format!("timestamp {text:?} is out of range")))?;
        t.validate(&format!("timestamp {text:?}"))?;
        Ok(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_datetime();
        let d = dt.date();
        let t = dt.time();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }
}

impl FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_microseconds() {
        let t = Timestamp::parse_rfc3339("2026-05-08T12:34:56.123456Z").unwrap();
        assert_eq!(t.to_string(), "2026-05-08T12:34:56.123456Z");
        assert_eq!(t.utc_date(), "2026-05-08");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = Timestamp::parse_rfc3339("2026-05-08T02:00:00+04:00").unwrap();
        assert_eq!(t.to_string(), "2026-05-07T22:00:00.000000Z");
    }

    #[test]
    fn the_bounds_print_and_parse_exactly() {
        assert_eq!(Timestamp::MIN.to_string(), "0001-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999Z");
        for t in [Timestamp::MIN, Timestamp::MAX, Timestamp::from_micros(-1)] {
            assert_eq!(Timestamp::parse_rfc3339(&t.to_string()).unwrap(), t);
        }
        assert!(Timestamp::MAX.plus_micros(1).validate("t").is_err());
        assert!(Timestamp::MIN.plus_micros(-1).validate("t").is_err());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = Timestamp::parse_rfc3339("yesterday").unwrap_err();
        assert!(e.message().contains("RFC 3339"), "{e}");
    }
}
