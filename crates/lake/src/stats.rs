//! Table-level numbers read from the Delta log alone (no data scan).

use serde::Serialize;

use trailscope_cloudtrail::schema;

use crate::{Lake, LakeError};

/// Files, bytes and rows of the current table version.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableStats {
    pub version: Option<u64>,
    pub files: u64,
    pub bytes: u64,
    /// Sum of per-file record counts from the log's statistics.
    pub rows: u64,
    pub partitions: u64,
}

impl Lake {
    pub fn table_stats(&self) -> Result<TableStats, LakeError> {
        let snapshot = self.table.snapshot().map_err(LakeError::Read)?;
        let mut stats = TableStats {
            version: self.table.version(),
            ..TableStats::default()
        };
        let mut partitions = std::collections::HashSet::new();
        for file in snapshot.log_data() {
            stats.files += 1;
            stats.bytes += u64::try_from(file.size()).unwrap_or(0);
            stats.rows += file.num_records().unwrap_or(0) as u64;
            partitions.insert(format!("{:?}", file.partition_values_map()));
        }
        stats.partitions = partitions.len() as u64;
        Ok(stats)
    }
}

/// A data file's `eventdate` partition value as days since 1970 (`None` when absent or not a
/// date).
pub fn partition_day(values: &std::collections::HashMap<String, Option<String>>) -> Option<i32> {
    let text = values.get(schema::EVENT_DATE)?.as_deref()?;
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((day - epoch).num_days()).ok()
}

impl Lake {
    /// The `eventdate` partitions of the current version, as days since 1970, ascending.
    /// Read from the log alone; a partition value that is not a date is skipped.
    pub fn days(&self) -> Result<Vec<i32>, LakeError> {
        let snapshot = self.table.snapshot().map_err(LakeError::Read)?;
        let mut days: Vec<i32> = snapshot
            .log_data()
            .into_iter()
            .filter_map(|f| partition_day(&f.partition_values_map()))
            .collect();
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }
}
