//! CloudTrail's key layout, as pure functions on keys:
//! `[prefix/]AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<id>.json.gz`.
//!
//! Below a region prefix keys sort by time (date folders, then the file name's timestamp), which
//! is what lets a poller resume with S3's `StartAfter`.

use chrono::{NaiveDate, NaiveDateTime};

/// What a folder is, as far as polling goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// A region's folder (`…/CloudTrail/<region>/`) or one below it: keys sort by time.
    Ordered,
    /// Above the regions: look inside.
    Explore,
    /// Digests and Insights events: not management events, never read.
    Skip,
}

pub fn folder(prefix: &str) -> Folder {
    let segments: Vec<&str> = prefix.trim_end_matches('/').split('/').collect();
    if segments
        .iter()
        .any(|s| matches!(*s, "CloudTrail-Digest" | "CloudTrail-Insight"))
    {
        return Folder::Skip;
    }
    match segments.iter().position(|s| *s == "CloudTrail") {
        Some(i) if segments.len() > i + 1 => Folder::Ordered,
        _ => Folder::Explore,
    }
}

/// The region folder (`…/CloudTrail/<region>/`) a key or prefix lies in.
pub fn region_folder(key: &str) -> Option<String> {
    let segments: Vec<&str> = key.split('/').collect();
    let i = segments.iter().position(|s| *s == "CloudTrail")?;
    let region = segments.get(i + 1).filter(|r| !r.is_empty())?;
    Some(format!("{}/{region}/", segments[..=i].join("/")))
}

/// The day of a key in the layout (`…/YYYY/MM/DD/…`): the last such triple of folders.
pub fn key_day(key: &str) -> Option<NaiveDate> {
    let segments: Vec<&str> = key.split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    segments.windows(3).rev().find_map(|w| {
        if !(digits(w[0], 4) && digits(w[1], 2) && digits(w[2], 2)) {
            return None;
        }
        NaiveDate::from_ymd_opt(w[0].parse().ok()?, w[1].parse().ok()?, w[2].parse().ok()?)
    })
}

/// The folder of one day below a region folder: `…/CloudTrail/<region>/YYYY/MM/DD/`.
pub fn day_folder(region_folder: &str, day: NaiveDate) -> String {
    format!("{region_folder}{}/", day.format("%Y/%m/%d"))
}

/// The delivery time CloudTrail writes into a log file's name (`…_20240131T2355Z_…`), UTC.
pub fn key_time(key: &str) -> Option<NaiveDateTime> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        let stamp = part.strip_suffix('Z')?;
        (stamp.len() == 13)
            .then(|| NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M").ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/01/31/111122223333_CloudTrail_eu-west-1_20240131T2355Z_AbCd.json.gz";

    #[test]
    fn folders() {
        assert_eq!(folder(""), Folder::Explore);
        assert_eq!(folder("AWSLogs/"), Folder::Explore);
        assert_eq!(folder("AWSLogs/111122223333/CloudTrail/"), Folder::Explore);
        assert_eq!(folder("AWSLogs/111122223333/CloudTrail/us-east-1/"), Folder::Ordered);
        assert_eq!(folder("x/AWSLogs/o-1/2/CloudTrail/us-east-1/2024/"), Folder::Ordered);
        assert_eq!(folder("AWSLogs/111122223333/CloudTrail-Digest/"), Folder::Skip);
        assert_eq!(folder("AWSLogs/111122223333/CloudTrail-Insight/"), Folder::Skip);
    }

    #[test]
    fn parts_of_a_key() {
        assert_eq!(
            region_folder(KEY).as_deref(),
            Some("AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/")
        );
        assert_eq!(
            region_folder("AWSLogs/1/CloudTrail/us-east-1/2024/").as_deref(),
            Some("AWSLogs/1/CloudTrail/us-east-1/")
        );
        assert_eq!(region_folder("AWSLogs/1/CloudTrail/"), None);
        assert_eq!(key_day(KEY), NaiveDate::from_ymd_opt(2024, 1, 31));
        assert_eq!(key_day("AWSLogs/1/CloudTrail/us-east-1/2024/13/01/x.json"), None);
        assert_eq!(
            key_time(KEY),
            NaiveDate::from_ymd_opt(2024, 1, 31).and_then(|d| d.and_hms_opt(23, 55, 0))
        );
        assert_eq!(key_time("a/b/c.json"), None);
        let day = NaiveDate::from_ymd_opt(2024, 2, 1).expect("date");
        assert_eq!(day_folder("R/", day), "R/2024/02/01/");
    }

    #[test]
    fn keys_below_a_region_sort_by_time() {
        let mut keys = [
            "R/2024/02/01/1_CloudTrail_r_20240201T0005Z_b.json.gz",
            "R/2024/01/31/1_CloudTrail_r_20240131T2355Z_z.json.gz",
            "R/2024/01/31/1_CloudTrail_r_20240131T0005Z_a.json.gz",
        ];
        keys.sort();
        let times: Vec<_> = keys.iter().map(|k| key_time(k)).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }
}
