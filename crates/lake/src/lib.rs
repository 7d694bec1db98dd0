//! The Delta Lake table of CloudTrail events.
//!
//! Owns the table's physical shape (schema, partitioning by `eventdate`, Parquet settings) and
//! its life cycle: create or open, stream batches into Parquet files, commit a group of objects
//! atomically, compact (`optimize`) and vacuum. Knows nothing of where events come from.

mod location;
mod stats;

pub use location::Location;
pub use stats::{TableStats, partition_day};

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;

use arrow::record_batch::RecordBatch;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use thiserror::Error;
use trailscope_cloudtrail::schema;

pub use deltalake;

#[derive(Debug, Error)]
pub enum LakeError {
    #[error("cannot open or create the Delta table at {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: DeltaTableError,
    },
    #[error(
        "the table at {location} has a different schema than this version of trailscope writes (hint: use a new --data-dir, or the trailscope version that created it)"
    )]
    SchemaMismatch { location: String },
    #[error("writing Parquet data failed: {0}")]
    Write(#[source] DeltaTableError),
    #[error("committing to the Delta log failed: {0}")]
    Commit(#[source] DeltaTableError),
    #[error("maintenance ({operation}) failed: {source}")]
    Maintenance {
        operation: &'static str,
        #[source]
        source: DeltaTableError,
    },
    #[error("reading table metadata failed: {0}")]
    Read(#[source] DeltaTableError),
    #[error(
        "the store at {location} does not refuse a second create of one object ({detail}), so two writers could both write one table version and lose data; trailscope does not write there (use AWS S3, MinIO or another store with conditional writes)"
    )]
    NoConditionalPut { location: String, detail: String },
    #[error(
        "there is no trailscope table at {location} (ingest into it first; the table is the cloudtrail/ folder below the data directory)"
    )]
    NotFound { location: String },
    #[error("cannot write to the store at {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: deltalake::ObjectStoreError,
    },
}

/// Target size of the Parquet files ingest writes, and of the files `optimize` produces.
pub const INGEST_FILE_BYTES: u64 = 128 << 20;
pub const OPTIMIZE_FILE_BYTES: u64 = 256 << 20;

/// Columns that get min/max statistics, so DataFusion can skip files and row groups for the
/// filters users write most (time, service, action, caller, account, error).
const STATS_COLUMNS: &str = "eventtime,eventsource,eventname,awsregion,sourceipaddress,errorcode,eventid,eventtype,readonly,recipientaccountid,useridentity.arn,useridentity.type,useridentity.accountid,sourceobjectid";

/// What became of [`Lake::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// Nothing was staged.
    Empty,
    Committed(u64),
    /// Another writer committed these objects first; nothing was committed.
    Overlap(Vec<String>),
}

/// The commit-info key listing the object ids a commit holds.
pub const OBJECT_IDS: &str = "trailscope.object_ids";

/// Whether a commit failed only because another writer took the version first.
fn lost_race(e: &DeltaTableError) -> bool {
    use deltalake::kernel::transaction::TransactionError;
    matches!(
        e,
        DeltaTableError::VersionAlreadyExists(_)
            | DeltaTableError::Transaction {
                source: TransactionError::MaxCommitAttempts(_) | TransactionError::VersionAlreadyExists(_)
            }
    )
}

pub struct Lake {
    table: DeltaTable,
    location: Location,
    /// The objects committed up to a version, read once and then extended commit by commit.
    ledger: Option<Ledger>,
    /// Whether the store was seen to refuse a second create of one object (checked before the
    /// first commit to a store; a local directory always does).
    arbitrated: bool,
}

/// Every object with rows in the table as of `version`.
#[derive(Debug, Clone)]
struct Ledger {
    ids: HashSet<String>,
    version: u64,
}

/// What one log entry says about the ledger.
enum Entry {
    /// It lists the objects it adds (possibly none).
    Objects(Vec<String>),
    /// It moves rows already accounted for (a compaction) or changes no data.
    Nothing,
    /// It changes data without saying which objects (another tool, an older trailscope, a
    /// DELETE): only a full read of the ledger is safe.
    Unknown,
}

/// Whether a log entry's `commitInfo` carries `commit_id`.
fn entry_is_commit(bytes: &[u8], commit_id: &str) -> bool {
    bytes.split(|b| *b == b'\n').any(|line| {
        serde_json::from_slice::<serde_json::Value>(line).is_ok_and(|a| {
            a.get("commitInfo")
                .and_then(|i| i.get(COMMIT_ID))
                .and_then(|v| v.as_str())
                == Some(commit_id)
        })
    })
}

/// Reads one log entry (`_delta_log/<version>.json`, one action per line).
fn ledger_entry(bytes: &[u8]) -> Entry {
    let (mut listed, mut changes, mut optimize) = (None, false, false);
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(action) = serde_json::from_slice::<serde_json::Value>(line) else {
            return Entry::Unknown;
        };
        changes |= action.get("add").is_some() || action.get("remove").is_some();
        if let Some(info) = action.get("commitInfo") {
            optimize = info.get("operation").and_then(|o| o.as_str()) == Some("OPTIMIZE");
            if let Some(ids) = info.get(OBJECT_IDS).and_then(|v| v.as_array()) {
                listed = Some(ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect());
            }
        }
    }
    match listed {
        Some(ids) => Entry::Objects(ids),
        None if !changes || optimize => Entry::Nothing,
        None => Entry::Unknown,
    }
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("location", &self.location)
            .field("version", &self.table.version())
            .finish()
    }
}

/// Parquet settings: zstd level 3 (level 6 spent 11% of ingest CPU in its match finder for a
/// few percent of size), statistics per page so
/// pushdown filters can skip pages, and dictionary encoding (most columns repeat a lot).
pub fn writer_properties() -> WriterProperties {
    // Ids are unique per event: a dictionary only costs there.
    let unique = |name: &str| parquet::schema::types::ColumnPath::from(name);
    let access_key = parquet::schema::types::ColumnPath::new(vec!["useridentity".into(), "accesskeyid".into()]);
    WriterProperties::builder()
        .set_column_dictionary_enabled(unique("eventid"), false)
        .set_column_dictionary_enabled(unique("requestid"), false)
        .set_column_dictionary_enabled(unique("sharedeventid"), false)
        // Batches arrive sorted by time: deltas of a few seconds pack into a few bits.
        .set_column_dictionary_enabled(unique(schema::EVENT_TIME), false)
        .set_column_encoding(
            unique(schema::EVENT_TIME),
            parquet::basic::Encoding::DELTA_BINARY_PACKED,
        )
        // Bloom filters answer "is this value in the row group?" for the exact lookups of
        // LookupEvents (an event id, a rare event name or key): most row groups are skipped
        // unread. Sized for the distinct values one row group (64 Ki rows) can hold.
        .set_column_bloom_filter_enabled(unique("eventid"), true)
        .set_column_bloom_filter_max_ndv(unique("eventid"), 64 * 1024)
        .set_column_bloom_filter_enabled(unique("eventname"), true)
        .set_column_bloom_filter_max_ndv(unique("eventname"), 2_000)
        .set_column_bloom_filter_enabled(access_key.clone(), true)
        .set_column_bloom_filter_max_ndv(access_key, 20_000)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(64 * 1024))
        .set_data_page_size_limit(256 << 10)
        .build()
}

/// The commit-info key naming one commit attempt.
const COMMIT_ID: &str = "trailscope.commit_id";

/// An id no other commit attempt has: process, clock and a counter.
fn new_commit_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{nanos:x}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn denied(e: &deltalake::ObjectStoreError) -> bool {
    matches!(
        e,
        deltalake::ObjectStoreError::PermissionDenied { .. } | deltalake::ObjectStoreError::Unauthenticated { .. }
    ) || e.to_string().contains("AccessDenied")
}

/// Commits are arbitrated by the store refusing to create a log entry that exists
/// (`PutMode::Create`, `If-None-Match: *` on S3). A store that silently overwrites instead would
/// let two writers both "win" a version, losing one's rows: create a probe object twice, and
/// refuse to write unless the second is refused.
async fn probe_conditional_put(table: &DeltaTable, location: &Location) -> Result<(), LakeError> {
    use deltalake::logstore::object_store::{PutMode, PutOptions, PutPayload};
    if location.is_local() {
        return Ok(());
    }
    // Below `_`: not part of the table for Delta readers, and never vacuumed.
    let key = deltalake::Path::from("_trailscope/conditional-put-probe");
    let store = table.object_store();
    for _ in 0..2 {
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = PutPayload::from_static(b"trailscope: a second create of this object must fail\n");
        match store.put_opts(&key, payload, options).await {
            Ok(_) => {}
            Err(deltalake::ObjectStoreError::AlreadyExists { .. }) => return Ok(()),
            Err(deltalake::ObjectStoreError::NotImplemented { .. }) => {
                return Err(LakeError::NoConditionalPut {
                    location: location.to_string(),
                    detail: "conditional writes are switched off (AWS_CONDITIONAL_PUT=disabled?)".into(),
                });
            }
            Err(source) => {
                return Err(LakeError::Store {
                    location: location.to_string(),
                    source,
                });
            }
        }
    }
    Err(LakeError::NoConditionalPut {
        location: location.to_string(),
        detail: "the store overwrote an object written with If-None-Match: *".into(),
    })
}

/// Whether a Delta log exists at `location` (errors count as no).
async fn table_exists(location: &Location) -> bool {
    match build(location) {
        Ok(t) => t.verify_deltatable_existence().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// The (unloaded) table at `location`, its log store checked.
fn build(location: &Location) -> Result<DeltaTable, LakeError> {
    location
        .builder()
        .and_then(|b| b.build())
        .and_then(|t| location.check_log_store(t.log_store().as_ref()).map(|()| t))
        .map_err(open_err(&location.to_string()))
}

fn open_err(location: &str) -> impl FnOnce(DeltaTableError) -> LakeError + '_ {
    move |source| LakeError::Open {
        location: location.to_string(),
        source,
    }
}

impl Lake {
    /// Opens the table at `location`, creating it when absent. A writer's open: on an object
    /// store, it first checks that the store arbitrates commits (see [`Lake::commit`]).
    pub async fn open_or_create(location: impl Into<Location>) -> Result<Self, LakeError> {
        let location = location.into();
        let display = location.to_string();
        let mut table = build(&location)?;
        let arbitrated = match &location {
            Location::Local(_) => true,
            Location::Store { .. } => match probe_conditional_put(&table, &location).await {
                Ok(()) => true,
                // Credentials that may only read: nothing to arbitrate until they write, and a
                // write fails on the same denial.
                Err(LakeError::Store { source, .. }) if denied(&source) => false,
                Err(e) => return Err(e),
            },
        };
        // Loading a location without a log makes delta-rs log an error; look first.
        let table = if table.verify_deltatable_existence().await.map_err(open_err(&display))? {
            table.load().await.map_err(open_err(&display))?;
            table
        } else {
            match Self::create(table).await {
                Ok(t) => t,
                // Another writer created it meanwhile (both saw no log; its version 0 won).
                Err(e) if table_exists(&location).await => {
                    tracing::debug!(error = %e, "the table was created by another writer; opening it");
                    Self::load(&location, None).await?
                }
                Err(e) => return Err(open_err(&display)(e)),
            }
        };
        Self::opened(table, location, arbitrated)
    }

    /// Opens the existing table at `location`, for reading: nothing is created or written.
    pub async fn open(location: impl Into<Location>) -> Result<Self, LakeError> {
        let location = location.into();
        if !table_exists(&location).await {
            return Err(LakeError::NotFound {
                location: location.to_string(),
            });
        }
        let table = Self::load(&location, None).await?;
        let arbitrated = location.is_local();
        Self::opened(table, location, arbitrated)
    }

    /// A `Lake` over a loaded `table`, whose schema must be the one this version writes.
    fn opened(table: DeltaTable, location: Location, arbitrated: bool) -> Result<Self, LakeError> {
        let lake = Self {
            table,
            location,
            ledger: None,
            arbitrated,
        };
        lake.check_schema()?;
        Ok(lake)
    }

    async fn create(table: DeltaTable) -> Result<DeltaTable, DeltaTableError> {
        let arrow_schema = schema::table_schema();
        let kernel: StructType = arrow_schema.as_ref().try_into_kernel()?;
        table
            .create()
            .with_table_name("cloudtrail")
            .with_comment("AWS CloudTrail events (trailscope)")
            .with_columns(kernel.fields().cloned())
            .with_partition_columns([schema::EVENT_DATE])
            .with_configuration([
                ("delta.checkpointInterval", Some("20")),
                ("delta.dataSkippingStatsColumns", Some(STATS_COLUMNS)),
            ])
            .with_save_mode(SaveMode::Ignore)
            // Of two writers creating the table at once, the loser must fail (and open the
            // winner's table), not commit a second table definition as version 1.
            .with_commit_properties(
                CommitProperties::default()
                    .with_max_retries(0)
                    .with_cleanup_expired_logs(Some(false)),
            )
            .await
    }

    async fn load(location: &Location, version: Option<u64>) -> Result<DeltaTable, LakeError> {
        let display = location.to_string();
        let mut table = build(location)?;
        match version {
            Some(v) => table.load_version(v).await,
            None => table.load().await,
        }
        .map_err(open_err(&display))?;
        Ok(table)
    }

    /// The existing table at `location` as it was at `version`, for a reader that must see one
    /// version throughout (LookupEvents pages). Fails once `vacuum` removed that version's files.
    pub async fn open_version(location: impl Into<Location>, version: u64) -> Result<Self, LakeError> {
        let location = location.into();
        let table = Self::load(&location, Some(version)).await?;
        let arbitrated = location.is_local();
        Self::opened(table, location, arbitrated)
    }

    fn check_schema(&self) -> Result<(), LakeError> {
        let snapshot = self.table.snapshot().map_err(LakeError::Read)?;
        let names: Vec<String> = snapshot.schema().fields().map(|f| f.name().clone()).collect();
        let expected: Vec<String> = schema::table_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        if names != expected {
            return Err(LakeError::SchemaMismatch {
                location: self.location.to_string(),
            });
        }
        Ok(())
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn table(&self) -> &DeltaTable {
        &self.table
    }

    pub fn version(&self) -> Option<u64> {
        self.table.version()
    }

    /// A writer that streams batches into Parquet files under the table, committing nothing.
    pub fn writer(&self) -> Result<BatchWriter, LakeError> {
        let inner = RecordBatchWriter::for_table(&self.table)
            .map_err(LakeError::Write)?
            .with_writer_properties(writer_properties())
            .with_target_file_size(INGEST_FILE_BYTES);
        Ok(BatchWriter { inner, rows: 0 })
    }

    /// Commits files staged by one or more writers as one table version, holding the rows of
    /// `objects` (their ids go into the commit info, with `metadata`).
    ///
    /// Other writers may commit meanwhile (a second process on the same queue). Each attempt is
    /// made against one version *S* only (no retry inside delta-rs, which would rebase blindly),
    /// after checking `objects` against the ledger as of *S*. If one of them is there already,
    /// nothing is committed and [`Commit::Overlap`] says which: the caller redoes the group
    /// without them. So no two commits ever hold the same object, however many writers there are.
    pub async fn commit(
        &mut self,
        staged: Vec<Staged>,
        mut metadata: HashMap<String, serde_json::Value>,
        objects: &[String],
    ) -> Result<Commit, LakeError> {
        let actions: Vec<Action> = staged.into_iter().flat_map(|s| s.adds).map(Action::Add).collect();
        if actions.is_empty() {
            return Ok(Commit::Empty);
        }
        metadata.insert(OBJECT_IDS.to_string(), serde_json::Value::from(objects.to_vec()));
        let commit_id = new_commit_id();
        metadata.insert(COMMIT_ID.to_string(), serde_json::Value::from(commit_id.clone()));
        self.ensure_arbitrated().await?;
        loop {
            let ledger = self.sync_ledger().await?;
            let overlap: Vec<String> = objects.iter().filter(|o| ledger.ids.contains(*o)).cloned().collect();
            if !overlap.is_empty() {
                return Ok(Commit::Overlap(overlap));
            }
            let snapshot = self.table.snapshot().map_err(LakeError::Commit)?;
            let target = self.table.version().map_or(0, |v| v + 1);
            let operation = DeltaOperation::Write {
                mode: SaveMode::Append,
                partition_by: Some(vec![schema::EVENT_DATE.to_string()]),
                predicate: None,
            };
            // Expired log entries are deleted by `optimize` (whose user may delete), not by every
            // commit: a writer needs no s3:DeleteObject.
            let attempt = CommitBuilder::from(
                CommitProperties::default()
                    .with_metadata(metadata.clone())
                    .with_max_retries(0)
                    .with_cleanup_expired_logs(Some(false)),
            )
            .with_actions(actions.clone())
            .build(Some(snapshot), self.table.log_store(), operation)
            .await;
            let version = match attempt {
                Ok(finalized) => finalized.version(),
                // Our entry may have landed all the same: a PUT retried after its first attempt
                // was written (the retry then meets 412), or a failure after the write (the
                // checkpoint). The entry's commit id says.
                Err(e) if self.landed(target, &commit_id).await => {
                    if !lost_race(&e) {
                        tracing::warn!(error = %e, version = target, "committed, but what follows the commit failed");
                    }
                    target
                }
                Err(e) if lost_race(&e) => {
                    tracing::debug!("another writer committed first; checking its objects, then committing after it");
                    self.table.update_state().await.map_err(LakeError::Read)?;
                    continue;
                }
                Err(e) => return Err(LakeError::Commit(e)),
            };
            if let Some(l) = self.ledger.as_mut().filter(|l| l.version + 1 == version) {
                l.ids.extend(objects.iter().cloned());
                l.version = version;
            }
            self.table.update_state().await.map_err(LakeError::Commit)?;
            return Ok(Commit::Committed(version));
        }
    }

    /// Checks, once, that the store arbitrates commits (see [`probe_conditional_put`]).
    async fn ensure_arbitrated(&mut self) -> Result<(), LakeError> {
        if !self.arbitrated {
            probe_conditional_put(&self.table, &self.location).await?;
            self.arbitrated = true;
        }
        Ok(())
    }

    /// Whether log entry `version` is the commit `commit_id`.
    async fn landed(&self, version: u64, commit_id: &str) -> bool {
        match self.table.log_store().read_commit_entry(version).await {
            Ok(Some(bytes)) => entry_is_commit(&bytes, commit_id),
            _ => false,
        }
    }

    /// Brings the ledger to the table's current version: read whole the first time, then
    /// extended from each newer commit's list of objects.
    async fn sync_ledger(&mut self) -> Result<&Ledger, LakeError> {
        let current = self.table.version().unwrap_or_default();
        let mut ledger = match self.ledger.take() {
            Some(l) if l.version <= current => l,
            _ => self.read_ledger().await?,
        };
        let mut version = ledger.version;
        while version < current {
            version += 1;
            let entry = self
                .table
                .log_store()
                .read_commit_entry(version)
                .await
                .map_err(LakeError::Read)?;
            match entry.as_deref().map(ledger_entry) {
                Some(Entry::Objects(ids)) => ledger.ids.extend(ids),
                Some(Entry::Nothing) => {}
                // Cleaned up, or silent about its objects: read the ledger whole.
                None | Some(Entry::Unknown) => {
                    ledger = self.read_ledger().await?;
                    break;
                }
            }
        }
        ledger.version = ledger.version.max(version);
        Ok(self.ledger.insert(ledger))
    }

    /// Re-reads the table's log (after another process committed).
    pub async fn refresh(&mut self) -> Result<(), LakeError> {
        self.table.update_state().await.map_err(LakeError::Read)
    }

    /// Compacts small files into files of about [`OPTIMIZE_FILE_BYTES`].
    pub async fn optimize(&mut self) -> Result<OptimizeReport, LakeError> {
        self.ensure_arbitrated().await?;
        let table = self.table.clone();
        let (table, metrics) = table
            .optimize()
            .with_target_size(NonZeroU64::new(OPTIMIZE_FILE_BYTES).unwrap_or(NonZeroU64::MIN))
            .with_writer_properties(writer_properties())
            .with_max_concurrent_tasks(2)
            .await
            .map_err(|source| LakeError::Maintenance {
                operation: "optimize",
                source,
            })?;
        self.table = table;
        Ok(OptimizeReport {
            files_added: metrics.num_files_added,
            files_removed: metrics.num_files_removed,
            partitions_optimized: metrics.partitions_optimized,
        })
    }

    /// Deletes files no longer referenced by the table and older than the retention period
    /// (Delta's default, 7 days, unless `retention_hours` is given). Full mode, so files written
    /// by an ingest that was killed before its commit are removed too.
    pub async fn vacuum(&mut self, retention_hours: Option<u64>) -> Result<u64, LakeError> {
        self.ensure_arbitrated().await?;
        let table = self.table.clone();
        let mut builder = table
            .vacuum()
            .with_mode(deltalake::operations::vacuum::VacuumMode::Full);
        if let Some(hours) = retention_hours {
            builder = builder
                .with_retention_period(chrono::Duration::hours(i64::try_from(hours).unwrap_or(i64::MAX)))
                .with_enforce_retention_duration(false);
        }
        let (table, metrics) = builder.await.map_err(|source| LakeError::Maintenance {
            operation: "vacuum",
            source,
        })?;
        self.table = table;
        Ok(metrics.files_deleted.len() as u64)
    }
}

/// Result of [`Lake::optimize`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptimizeReport {
    pub files_added: u64,
    pub files_removed: u64,
    pub partitions_optimized: u64,
}

/// Streams batches (table schema) into Parquet files; [`Lake::commit`] makes them visible.
pub struct BatchWriter {
    inner: RecordBatchWriter,
    rows: u64,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter").field("rows", &self.rows).finish()
    }
}

impl BatchWriter {
    pub async fn write(&mut self, batch: RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        self.inner.write(batch).await.map_err(LakeError::Write)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes the files written so far; they become visible with [`Lake::commit`].
    pub async fn finish(mut self) -> Result<Staged, LakeError> {
        let adds = self.inner.flush().await.map_err(LakeError::Write)?;
        Ok(Staged { adds, rows: self.rows })
    }
}

/// Parquet files written but not yet committed.
pub struct Staged {
    adds: Vec<deltalake::kernel::Add>,
    rows: u64,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("files", &self.adds.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl Staged {
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl Lake {
    /// The ledger: identities of every object with rows in the table. An object's rows are
    /// always committed together, so presence means the whole object is in.
    pub async fn committed_objects(&mut self) -> Result<HashSet<String>, LakeError> {
        Ok(self.sync_ledger().await?.ids.clone())
    }

    /// The ledger read whole, from the rows: `SELECT DISTINCT sourceobjectid`.
    async fn read_ledger(&self) -> Result<Ledger, LakeError> {
        use deltalake::datafusion::arrow::array::{Array, AsArray};
        use deltalake::datafusion::prelude::SessionContext;
        let version = self.table.version().unwrap_or_default();
        let mut ids = HashSet::new();
        if self.table_stats()?.files == 0 {
            return Ok(Ledger { ids, version });
        }
        let ctx = SessionContext::new();
        let provider = self
            .table
            .table_provider()
            .await
            .map_err(|e| LakeError::Read(e.into()))?;
        ctx.register_table("t", provider)
            .map_err(|e| LakeError::Read(e.into()))?;
        let sql = format!("SELECT DISTINCT {} FROM t", schema::SOURCE_OBJECT_ID);
        let batches = ctx
            .sql(&sql)
            .await
            .map_err(|e| LakeError::Read(e.into()))?
            .collect()
            .await
            .map_err(|e| LakeError::Read(e.into()))?;
        for batch in batches {
            let col = deltalake::datafusion::arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)
                .map_err(|e| LakeError::Read(e.into()))?;
            let strings = col.as_string::<i32>();
            for i in 0..strings.len() {
                if strings.is_valid(i) {
                    ids.insert(strings.value(i).to_string());
                }
            }
        }
        Ok(Ledger { ids, version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_recognised_by_its_id_only() {
        let entry = format!(
            "{{\"add\":{{\"path\":\"a.parquet\"}}}}\n{{\"commitInfo\":{{\"operation\":\"WRITE\",\"{COMMIT_ID}\":\"1-2-3\",\"{OBJECT_IDS}\":[\"x\"]}}}}\n"
        );
        assert!(entry_is_commit(entry.as_bytes(), "1-2-3"));
        assert!(!entry_is_commit(entry.as_bytes(), "1-2-4"), "another writer's commit");
        assert!(
            !entry_is_commit(b"{\"commitInfo\":{}}\n", "1-2-3"),
            "a commit without an id"
        );
        assert!(!entry_is_commit(b"not json", "1-2-3"));
        assert_ne!(new_commit_id(), new_commit_id());
    }

    #[test]
    fn ledger_entries_say_what_they_add() {
        let listed = format!("{{\"add\":{{}}}}\n{{\"commitInfo\":{{\"{OBJECT_IDS}\":[\"a\",\"b\"]}}}}\n");
        assert!(matches!(ledger_entry(listed.as_bytes()), Entry::Objects(ids) if ids == ["a", "b"]));
        let optimize = b"{\"add\":{}}\n{\"remove\":{}}\n{\"commitInfo\":{\"operation\":\"OPTIMIZE\"}}\n";
        assert!(matches!(ledger_entry(optimize), Entry::Nothing));
        let silent = b"{\"add\":{}}\n{\"commitInfo\":{\"operation\":\"WRITE\"}}\n";
        assert!(matches!(ledger_entry(silent), Entry::Unknown));
    }
}
