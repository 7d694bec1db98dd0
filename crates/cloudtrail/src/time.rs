//! Parsing of CloudTrail timestamps into microseconds since the Unix epoch (UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses `eventTime`. CloudTrail writes `YYYY-MM-DDTHH:MM:SSZ`; that form takes a fast path,
/// anything else RFC 3339 (offsets, fractions) or a zone-less ISO form read as UTC.
pub fn parse_event_time(s: &str) -> Option<i64> {
    if let Some(us) = parse_plain_utc(s.as_bytes()) {
        return Some(us);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), fmt) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    None
}

fn parse_plain_utc(b: &[u8]) -> Option<i64> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let dt = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(dt.and_utc().timestamp_micros())
}

/// Formats µs since the epoch as CloudTrail writes `eventTime` (`2017-12-11T15:01:51Z`), with
/// a fraction only when there is one.
pub fn format_event_time(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) if micros % 1_000_000 == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => micros.to_string(),
    }
}

/// Days since the Unix epoch of a timestamp in microseconds (the `eventdate` partition value).
pub fn epoch_days(micros: i64) -> i32 {
    // Event times are within ±5.8 million years of 1970, so the division always fits in i32.
    i32::try_from(micros.div_euclid(86_400_000_000)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_form_matches_chrono() {
        let us = parse_event_time("2017-12-11T15:01:51Z");
        assert_eq!(us, Some(1_513_004_511_000_000));
        assert_eq!(epoch_days(1_513_004_511_000_000), 17_511);
    }

    #[test]
    fn other_forms() {
        assert_eq!(
            parse_event_time("2017-12-11T15:01:51.250Z"),
            Some(1_513_004_511_250_000)
        );
        assert_eq!(
            parse_event_time("2022-02-08T09:23:37+11:00"),
            parse_event_time("2022-02-07T22:23:37Z")
        );
        assert_eq!(parse_event_time("2017-12-11T15:01:51"), Some(1_513_004_511_000_000));
        assert_eq!(parse_event_time("2017-13-11T15:01:51Z"), None);
        assert_eq!(parse_event_time("yesterday"), None);
        assert_eq!(parse_event_time(""), None);
    }

    #[test]
    fn format_round_trips_the_plain_form() {
        let s = "2017-12-11T15:01:51Z";
        assert_eq!(parse_event_time(s).map(format_event_time).as_deref(), Some(s));
    }

    #[test]
    fn days_before_epoch_round_down() {
        assert_eq!(epoch_days(-1), -1);
    }
}
