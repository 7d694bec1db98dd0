//! Calendar arithmetic for date histograms: intervals, time zones (IANA names or fixed offsets),
//! bucket keys as Elasticsearch formats them, and the start of the next calendar bucket.

use chrono::{DateTime, FixedOffset, Months, NaiveDateTime, Offset, TimeZone, Utc};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Interval {
    Fixed(i64),
    Calendar(Unit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub(super) fn trunc_name(self) -> &'static str {
        match self {
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Quarter => "quarter",
            Unit::Year => "year",
        }
    }
}

/// A `time_zone`: an IANA name or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Zone {
    Utc,
    Named(chrono_tz::Tz),
    Fixed(FixedOffset),
}

pub(super) fn fixed_interval(s: &str) -> Option<i64> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = s[..digits].parse().ok()?;
    let ms = match &s[digits..] {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    // Bucket keys are microseconds: the width must fit as such too.
    n.checked_mul(ms).filter(|v| *v > 0 && v.checked_mul(1000).is_some())
}

pub(super) fn calendar_unit(s: &str) -> Option<Unit> {
    Some(match s {
        "1m" | "minute" => Unit::Minute,
        "1h" | "hour" => Unit::Hour,
        "1d" | "day" => Unit::Day,
        "1w" | "week" => Unit::Week,
        "1M" | "month" => Unit::Month,
        "1q" | "quarter" => Unit::Quarter,
        "1y" | "year" => Unit::Year,
        _ => return None,
    })
}

pub(super) fn parse_zone(z: &str) -> Option<Zone> {
    if z.eq_ignore_ascii_case("utc") || z == "Z" || z == "+00:00" {
        return Some(Zone::Utc);
    }
    if let Ok(tz) = z.parse::<chrono_tz::Tz>() {
        return Some(Zone::Named(tz));
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
    let secs = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
    FixedOffset::east_opt(secs).map(Zone::Fixed)
}

impl Zone {
    pub(super) fn name(self) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Fixed(o) => o.to_string(),
        }
    }

    pub(super) fn offset_at(self, ms: i64) -> FixedOffset {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Utc => FixedOffset::east_opt(0).unwrap_or_else(|| Utc.fix()),
            Zone::Named(tz) => tz.offset_from_utc_datetime(&utc.naive_utc()).fix(),
            Zone::Fixed(o) => o,
        }
    }

    /// Elasticsearch's default `key_as_string`: ISO-8601 with milliseconds and the offset.
    pub(super) fn format(self, ms: i64) -> String {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        if self == Zone::Utc {
            return utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        }
        utc.with_timezone(&self.offset_at(ms))
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }

    /// The start of the calendar bucket after the one starting at `ms`.
    pub(super) fn next(self, ms: i64, unit: Unit) -> Option<i64> {
        match unit {
            // Sub-day units step in absolute time so DST changes neither skip nor repeat.
            Unit::Minute => return Some(ms + 60_000),
            Unit::Hour => return Some(ms + 3_600_000),
            _ => {}
        }
        let offset = self.offset_at(ms);
        let local: NaiveDateTime = DateTime::<Utc>::from_timestamp_millis(ms)?
            .with_timezone(&offset)
            .naive_local();
        let next = match unit {
            Unit::Minute | Unit::Hour | Unit::Day => local + chrono::Duration::days(1),
            Unit::Week => local + chrono::Duration::weeks(1),
            Unit::Month => local.checked_add_months(Months::new(1))?,
            Unit::Quarter => local.checked_add_months(Months::new(3))?,
            Unit::Year => local.checked_add_months(Months::new(12))?,
        };
        let utc = match self {
            Zone::Named(tz) => tz.from_local_datetime(&next).earliest()?.with_timezone(&Utc),
            _ => offset.from_local_datetime(&next).single()?.with_timezone(&Utc),
        };
        Some(utc.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_and_intervals() {
        assert_eq!(fixed_interval("90s"), Some(90_000));
        assert_eq!(fixed_interval("1h"), Some(3_600_000));
        assert_eq!(fixed_interval("1M"), None);
        assert_eq!(calendar_unit("1M"), Some(Unit::Month));
        let paris = parse_zone("Europe/Paris").unwrap_or(Zone::Utc);
        // 2024-03-30T23:00:00Z is midnight in Paris; the next day is 23 hours long (DST).
        let start = 1_711_839_600_000;
        assert_eq!(paris.format(start), "2024-03-31T00:00:00.000+01:00");
        assert_eq!(paris.next(start, Unit::Day), Some(start + 23 * 3_600_000));
        assert_eq!(parse_zone("-05:30").map(|z| z.name()), Some("-05:30".into()));
        assert_eq!(parse_zone("Mars/Olympus"), None);
    }
}
