//! Newest-first reads in time windows, for questions that want the newest N matching events
//! (Discover's first page, LookupEvents pages) and would otherwise sort every match.
//!
//! Files keep rows in time order within a day's partition, so `eventtime` statistics skip most
//! row groups of a short window. The first window is the newest 3 hours that hold data; each
//! next one doubles, skips days without data, and is resized by what the last one found
//! ([`Windows::observed`]): nothing means a rare value, so the rest is read at once; a few rows
//! give the rate at which matches come. The caller stops once it has enough rows: windows are
//! disjoint in time and come newest first, so their results concatenate in time order.

use chrono::DateTime;
use datafusion::prelude::Expr;
use trailscope_cloudtrail::{epoch_days, schema};

use crate::compile::Compiler;
use crate::error::SearchError;

pub const DAY_US: i64 = 86_400_000_000;
/// The first window's length.
pub const FIRST_WINDOW_US: i64 = 3 * 3_600_000_000;

/// A time range `[lo, hi)` in microseconds since 1970, read by one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub lo: i64,
    pub hi: i64,
}

/// The rows of `w`: an `eventtime` range, which also bounds the `eventdate` partitions.
pub fn bounds(w: Window) -> Result<Expr, SearchError> {
    let c = Compiler::default();
    let time = c.field(schema::EVENT_TIME)?;
    let at = |micros: i64| {
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| SearchError::BadRequest(format!("{micros} µs is not a representable time")))
    };
    Ok(c.time_range(&time, Some((at(w.lo)?, true)), Some((at(w.hi)?, false))))
}

/// Reads `windows` newest first, asking `read` for at most the rows still wanted from each,
/// until `want` rows are found; rows come in the order of the windows.
pub async fn read_newest<T, E, Fut>(
    mut windows: Windows,
    want: usize,
    mut read: impl FnMut(Window, usize) -> Fut,
) -> Result<Vec<T>, E>
where
    Fut: std::future::Future<Output = Result<Vec<T>, E>>,
{
    let mut found = Vec::new();
    while let Some(w) = windows.next() {
        let rows = read(w, want - found.len()).await?;
        let n = rows.len();
        found.extend(rows);
        if found.len() >= want {
            break;
        }
        windows.observed(w, n, want - found.len());
    }
    Ok(found)
}

/// The windows of one read, newest first.
#[derive(Debug, Clone)]
pub struct Windows {
    /// Days that may hold matching rows, descending.
    days: Vec<i32>,
    hi: i64,
    floor: i64,
    width: i64,
}

impl Windows {
    /// Windows over the partitions `days` (ascending, as the table lists them), within
    /// `[floor, ceiling)` when given; `first` is the first window's length.
    pub fn new(days: &[i32], floor: Option<i64>, ceiling: Option<i64>, first: i64) -> Windows {
        let floor = floor.unwrap_or(i64::MIN);
        let hi = ceiling.unwrap_or(i64::MAX);
        let (lo_day, hi_day) = (epoch_days(floor), epoch_days(hi.saturating_sub(1)));
        Windows {
            days: days
                .iter()
                .rev()
                .copied()
                .filter(|d| (lo_day..=hi_day).contains(d))
                .collect(),
            hi,
            floor,
            width: first,
        }
    }

    /// Adapts the next window to what the last one (`w`) found: `rows` of it, with `missing`
    /// still wanted.
    pub fn observed(&mut self, w: Window, rows: usize, missing: usize) {
        let span = w.hi - w.lo;
        self.width = if rows == 0 {
            i64::MAX
        } else {
            let needed = (span as f64 / rows as f64 * missing as f64 * 1.5) as i64;
            needed.max(self.width)
        };
    }
}

impl Iterator for Windows {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        // Skip to the newest day with data below `hi`.
        let hi_day = epoch_days(self.hi.saturating_sub(1));
        self.days.retain(|d| *d <= hi_day);
        let newest = *self.days.first()?;
        let hi = self.hi.min((i64::from(newest) + 1) * DAY_US);
        let oldest_start = i64::from(*self.days.last()?) * DAY_US;
        let lo = hi.saturating_sub(self.width).max(self.floor).max(oldest_start);
        if lo >= hi {
            return None;
        }
        self.hi = lo;
        self.width = self.width.saturating_mul(2);
        Some(Window { lo, hi })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    fn plan(days: &[i32], floor: Option<i64>, ceiling: Option<i64>, first: i64) -> Vec<(i64, i64)> {
        Windows::new(days, floor, ceiling, first)
            .map(|w| (w.lo, w.hi))
            .collect()
    }

    #[test]
    fn windows_double_from_the_end_of_the_newest_day() {
        // Days 10 and 11: 3 h, 6 h, 12 h, 24 h, then what is left of day 10.
        let end = 12 * DAY_US;
        assert_eq!(
            plan(&[10, 11], None, None, 3 * H),
            vec![
                (end - 3 * H, end),
                (end - 9 * H, end - 3 * H),
                (end - 21 * H, end - 9 * H),
                (end - 45 * H, end - 21 * H),
                (10 * DAY_US, end - 45 * H),
            ]
        );
    }

    #[test]
    fn windows_skip_days_without_data_and_respect_the_range() {
        // Day 20 is newest; day 5 is far back: the gap between is never read.
        assert_eq!(
            plan(&[5, 20], None, None, DAY_US),
            vec![(20 * DAY_US, 21 * DAY_US), (5 * DAY_US, 6 * DAY_US)]
        );
        let (floor, ceiling) = (20 * DAY_US + H, 20 * DAY_US + 2 * H);
        assert_eq!(
            plan(&[5, 20], Some(floor), Some(ceiling), 3 * H),
            vec![(floor, ceiling)]
        );
        assert_eq!(
            plan(&[5, 20], None, Some(20 * DAY_US + 5 * H), 3 * H)[0],
            (20 * DAY_US + 2 * H, 20 * DAY_US + 5 * H)
        );
        assert!(plan(&[], None, None, 3 * H).is_empty());
        assert_eq!(plan(&[5, 20], None, None, i64::MAX), vec![(5 * DAY_US, 21 * DAY_US)]);
        assert_eq!((epoch_days(-1), epoch_days(0), epoch_days(DAY_US)), (-1, 0, 1));
    }

    #[test]
    fn windows_adapt_to_how_often_matches_come() {
        let days: Vec<i32> = (1..=30).collect();
        let end = 31 * DAY_US;
        // Nothing in the first 3 hours: the rest of the 30 days in one read.
        let mut w = Windows::new(&days, None, None, 3 * H);
        let first = w.next().expect("a window");
        w.observed(first, 0, 51);
        assert_eq!(
            w.next(),
            Some(Window {
                lo: DAY_US,
                hi: end - 3 * H
            })
        );
        // 10 rows in 3 hours, 41 missing: about 18.5 hours more.
        let mut w = Windows::new(&days, None, None, 3 * H);
        let first = w.next().expect("a window");
        w.observed(first, 10, 41);
        let next = w.next().expect("a window");
        assert_eq!(next.hi, end - 3 * H);
        assert_eq!(next.hi - next.lo, (3.0 * H as f64 / 10.0 * 41.0 * 1.5) as i64);
    }
}
