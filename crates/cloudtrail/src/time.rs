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
    let mut buf = [0u8; 20];
    match format_plain(micros, &mut buf) {
        Some(s) => s.to_string(),
        None => match chrono::DateTime::from_timestamp_micros(micros) {
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            None => micros.to_string(),
        },
    }
}

/// True when `text` is exactly how [`format_event_time`] writes `micros` (no allocation: this
/// runs for every record).
pub fn is_formatted_event_time(micros: i64, text: &str) -> bool {
    let mut buf = [0u8; 20];
    match format_plain(micros, &mut buf) {
        Some(s) => s == text,
        None => format_event_time(micros) == text,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for whole seconds in years 0–9999, written into `buf`.
fn format_plain(micros: i64, buf: &mut [u8; 20]) -> Option<&str> {
    if micros % 1_000_000 != 0 {
        return None;
    }
    let t = chrono::DateTime::from_timestamp_micros(micros)?;
    let (date, time) = (t.date_naive(), t.time());
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let mut put = |at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, date.month(), 2);
    put(8, date.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'Z';
    std::str::from_utf8(buf).ok()
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
        assert!(is_formatted_event_time(1_513_004_511_000_000, s));
        assert_eq!(format_event_time(1_513_004_511_250_000), "2017-12-11T15:01:51.250000Z");
        assert_eq!(format_event_time(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn days_before_epoch_round_down() {
        assert_eq!(epoch_days(-1), -1);
    }
}
