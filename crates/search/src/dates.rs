//! Dates as people write them in queries: ISO-8601 instants or days, epoch milliseconds, and
//! Elasticsearch date math (`now-15m`, `now/d`, `2024-01-01||+1M/d`).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// An instant (microseconds since 1970) as a literal of `eventtime`'s type.
pub fn timestamp(micros: i64) -> datafusion::prelude::Expr {
    datafusion::prelude::lit(datafusion::common::ScalarValue::TimestampMicrosecond(
        Some(micros),
        Some("UTC".into()),
    ))
}

/// An instant with the precision it was written in: `2024-01-01` covers a whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub start: DateTime<Utc>,
    /// First instant after the written one at its precision (`start` + 1 day for a date).
    pub end: DateTime<Utc>,
}

/// Parses a date or date-math expression relative to `now`.
pub fn parse(text: &str, now: DateTime<Utc>) -> Option<Instant> {
    let text = text.trim();
    let (anchor, math) = if let Some(rest) = text.strip_prefix("now") {
        (point(now), rest)
    } else if let Some((a, m)) = text.split_once("||") {
        (parse_anchor(a)?, m)
    } else {
        return parse_anchor(text);
    };
    apply_math(anchor, math)
}

fn point(t: DateTime<Utc>) -> Instant {
    Instant {
        start: t,
        end: t + Duration::microseconds(1),
    }
}

fn parse_anchor(text: &str) -> Option<Instant> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(second_or_finer(t.with_timezone(&Utc), text));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, f) {
            return Some(second_or_finer(Utc.from_utc_datetime(&t), text));
        }
    }
    for (f, span) in [
        ("%Y-%m-%dT%H:%M", Duration::minutes(1)),
        ("%Y-%m-%d %H:%M", Duration::minutes(1)),
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, f) {
            let start = Utc.from_utc_datetime(&t);
            return Some(Instant {
                start,
                end: start + span,
            });
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?);
        return Some(Instant {
            start,
            end: start + Duration::days(1),
        });
    }
    // Epoch milliseconds, as Elasticsearch's `epoch_millis` format (what Kibana sends).
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() >= 10 {
        let ms: i64 = text.parse().ok()?;
        let start = Utc.timestamp_millis_opt(ms).single()?;
        return Some(Instant {
            start,
            end: start + Duration::milliseconds(1),
        });
    }
    None
}

fn second_or_finer(t: DateTime<Utc>, text: &str) -> Instant {
    let fractional = text.contains('.');
    let span = if fractional {
        Duration::microseconds(1)
    } else {
        Duration::seconds(1)
    };
    Instant {
        start: t,
        end: t + span,
    }
}

/// Applies `+1d`, `-15m`, `/d` steps in order.
fn apply_math(mut at: Instant, mut math: &str) -> Option<Instant> {
    while !math.is_empty() {
        let op = math.as_bytes()[0];
        math = &math[1..];
        match op {
            b'+' | b'-' => {
                let digits = math.bytes().take_while(u8::is_ascii_digit).count();
                let n: i64 = if digits == 0 { 1 } else { math[..digits].parse().ok()? };
                let unit = math[digits..].chars().next()?;
                math = &math[digits + unit.len_utf8()..];
                let n = if op == b'-' { -n } else { n };
                at.start = shift(at.start, n, unit)?;
                at.end = shift(at.end, n, unit)?;
            }
            b'/' => {
                let unit = math.chars().next()?;
                math = &math[unit.len_utf8()..];
                let start = round_down(at.start, unit)?;
                at = Instant {
                    start,
                    end: shift(start, 1, unit)?,
                };
            }
            _ => return None,
        }
    }
    Some(at)
}

fn shift(t: DateTime<Utc>, n: i64, unit: char) -> Option<DateTime<Utc>> {
    let months = |m: i64| {
        let months = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m >= 0 {
            t.checked_add_months(months)
        } else {
            t.checked_sub_months(months)
        }
    };
    match unit {
        'y' => months(n.checked_mul(12)?),
        'M' => months(n),
        'w' => t.checked_add_signed(Duration::try_weeks(n)?),
        'd' => t.checked_add_signed(Duration::try_days(n)?),
        'h' | 'H' => t.checked_add_signed(Duration::try_hours(n)?),
        'm' => t.checked_add_signed(Duration::try_minutes(n)?),
        's' => t.checked_add_signed(Duration::try_seconds(n)?),
        _ => None,
    }
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let day = t.date_naive();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|x| Utc.from_utc_datetime(&x));
    match unit {
        'y' => midnight(NaiveDate::from_ymd_opt(t.year(), 1, 1)?),
        'M' => midnight(NaiveDate::from_ymd_opt(t.year(), t.month(), 1)?),
        'w' => midnight(day - Duration::days(i64::from(t.weekday().num_days_from_monday()))),
        'd' => midnight(day),
        'h' | 'H' => t.with_nanosecond(0)?.with_second(0)?.with_minute(0),
        'm' => t.with_nanosecond(0)?.with_second(0),
        's' => t.with_nanosecond(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn forms() {
        let now = at("2024-03-15T10:20:30Z");
        let p = |s| parse(s, now).map(|i| (i.start.to_rfc3339(), i.end.to_rfc3339()));
        assert_eq!(
            p("2024-01-01"),
            Some(("2024-01-01T00:00:00+00:00".into(), "2024-01-02T00:00:00+00:00".into()))
        );
        assert_eq!(
            p("2024-01-01T05:06:07Z").map(|x| x.1),
            Some("2024-01-01T05:06:08+00:00".into())
        );
        assert_eq!(p("now-1d/d").map(|x| x.0), Some("2024-03-14T00:00:00+00:00".into()));
        assert_eq!(p("now-15m").map(|x| x.0), Some("2024-03-15T10:05:30+00:00".into()));
        assert_eq!(p("now/M").map(|x| x.1), Some("2024-04-01T00:00:00+00:00".into()));
        assert_eq!(
            p("2024-01-31||+1M").map(|x| x.0),
            Some("2024-02-29T00:00:00+00:00".into())
        );
        assert_eq!(
            p("1704067200000").map(|x| x.0),
            Some("2024-01-01T00:00:00+00:00".into())
        );
        assert_eq!(p("yesterday"), None);
        assert_eq!(p("now-1x"), None);
    }
}
