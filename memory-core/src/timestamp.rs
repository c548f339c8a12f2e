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
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

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

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000).unwrap_or(if self.0 < 0 {
            OffsetDateTime::UNIX_EPOCH
        } else {
            far_future()
        })
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
        i64::try_from(micros)
            .map(Timestamp)
            .map_err(|_| Error::invalid_input(format!("timestamp {text:?} is out of range")))
    }
}

fn far_future() -> OffsetDateTime {
    // 9999-12-31T23:59:59Z: the largest instant RFC 3339 can spell with four year digits.
    OffsetDateTime::from_unix_timestamp(253_402_300_799).expect("valid constant")
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
    fn garbage_is_a_clear_error() {
        let e = Timestamp::parse_rfc3339("yesterday").unwrap_err();
        assert!(e.message().contains("RFC 3339"), "{e}");
    }
}
