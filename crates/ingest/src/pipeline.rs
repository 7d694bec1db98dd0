//! The ingest pipeline for local files.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tracing::{debug, warn};
use trailscope_cloudtrail::{Buffers, EventBatchBuilder, Limits, ObjectParser, ObjectSummary};
use trailscope_enrich::Enricher;
use trailscope_lake::{Commit, Lake};

use crate::discover::{Candidate, Discovery, discover};
use crate::error::IngestError;
use crate::quarantine::{Entry, FORMAT_VERSION, QuarantineLog};
use crate::worker::Worker;
use crate::worker::{IN_MEMORY_OBJECT, Prefetched, fetch};

/// Tuning of one ingest run.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub limits: Limits,
    /// Rows per Arrow batch a worker enriches, sorts and encodes at once.
    pub batch_rows: usize,
    /// Compressed input bytes per commit group; one group is one table version.
    pub group_bytes: u64,
    /// Parse/enrich threads.
    pub workers: usize,
    /// Objects of a store (S3) fetched at once, ahead of the workers; a store answers each
    /// request after a round trip, so many are kept in flight.
    pub fetch_concurrency: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            batch_rows: 16 * 1024,
            group_bytes: 32 << 20,
            workers: 2,
            fetch_concurrency: 16,
        }
    }
}

/// Live counters, shared with a progress display.
#[derive(Debug, Default)]
pub struct Counters {
    pub files_total: AtomicU64,
    pub files_done: AtomicU64,
    pub bytes_total: AtomicU64,
    pub bytes_done: AtomicU64,
    pub json_bytes: AtomicU64,
    pub events: AtomicU64,
    pub rejected: AtomicU64,
}

/// What one run did. Every object and record is in exactly one bucket.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IngestReport {
    pub files_seen: u64,
    pub files_ingested: u64,
    pub files_already_ingested: u64,
    /// Same content as another file of this run (counted once).
    pub files_duplicate: u64,
    pub files_skipped_not_logs: u64,
    pub digest_files: u64,
    pub files_quarantined: u64,
    pub events_ingested: u64,
    pub records_quarantined: u64,
    pub digest_records: u64,
    pub compressed_bytes: u64,
    pub json_bytes: u64,
    pub commits: u64,
    pub table_version: Option<u64>,
    pub seconds: f64,
    /// Objects that could not be read from their store (after the client's retries). Nothing
    /// of them is in the table; the rest of the run is committed.
    pub fetch_failures: Vec<FetchFailure>,
}

/// An object its store would not give us.
#[derive(Debug, Clone)]
pub struct FetchFailure {
    /// The object as reports name it (`s3://bucket/key`).
    pub object: PathBuf,
    pub error: Arc<object_store::Error>,
}

impl serde::Serialize for FetchFailure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("FetchFailure", 2)?;
        st.serialize_field("object", &self.object)?;
        st.serialize_field("error", &self.error.to_string())?;
        st.end()
    }
}

impl IngestReport {
    /// True when something was quarantined (the CLI exits non-zero then).
    pub fn has_quarantine(&self) -> bool {
        self.files_quarantined > 0 || self.records_quarantined > 0
    }

    /// Adds a commit group's figures to the run's.
    fn absorb(&mut self, part: IngestReport) {
        self.files_ingested += part.files_ingested;
        self.files_already_ingested += part.files_already_ingested;
        self.files_duplicate += part.files_duplicate;
        self.files_quarantined += part.files_quarantined;
        self.events_ingested += part.events_ingested;
        self.records_quarantined += part.records_quarantined;
        self.digest_records += part.digest_records;
        self.compressed_bytes += part.compressed_bytes;
        self.json_bytes += part.json_bytes;
        self.commits += part.commits;
        self.fetch_failures.extend(part.fetch_failures);
    }

    /// Whether `object` (as reports name it) could not be fetched in this run.
    pub fn fetch_failed(&self, object: &std::path::Path) -> bool {
        self.fetch_failures.iter().any(|f| f.object == object)
    }
}

/// A group whose workers are running.
struct Running {
    rx: mpsc::Receiver<Msg>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// A group whose rows are in Parquet files, waiting for its commit.
struct Drained {
    staged: Vec<trailscope_lake::Staged>,
    entries: Vec<Entry>,
    objects: Vec<String>,
}

pub(crate) enum Msg {
    /// A worker's finished Parquet files (its last message of a group).
    Staged(trailscope_lake::Staged),
    Done(Box<ObjectOutcome>),
    /// An object its store would not give; the group goes on without it.
    Unreadable(FetchFailure),
    Failed(IngestError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    New,
    /// Its rows are in the table already.
    Committed,
    /// Another file of this run has the same bytes.
    Duplicate,
}

pub(crate) struct ObjectOutcome {
    pub(crate) seen: Seen,
    pub(crate) path: PathBuf,
    pub(crate) id: String,
    pub(crate) summary: ObjectSummary,
    pub(crate) compressed: u64,
}

/// Runs ingests into one lake.
pub struct Ingestor<'a> {
    pub lake: &'a mut Lake,
    pub enricher: Enricher,
    pub quarantine: QuarantineLog,
    pub config: IngestConfig,
    pub counters: Arc<Counters>,
}

impl Ingestor<'_> {
    /// Ingests files and folders.
    pub async fn ingest_paths(&mut self, inputs: &[PathBuf]) -> Result<IngestReport, IngestError> {
        let found = discover(inputs)?;
        self.ingest(found).await
    }

    /// Ingests what a discovery found: local files and objects in stores alike.
    pub async fn ingest(&mut self, found: Discovery) -> Result<IngestReport, IngestError> {
        let started = Instant::now();
        let mut report = IngestReport {
            files_seen: found.candidates.len() as u64,
            files_skipped_not_logs: found.skipped_not_logs.len() as u64,
            digest_files: found.digest_files.len() as u64,
            ..IngestReport::default()
        };
        for p in &found.skipped_not_logs {
            debug!(path = %p.display(), "skipping file that is not a log");
        }
        self.counters
            .files_total
            .store(found.candidates.len() as u64, Ordering::Relaxed);
        self.counters
            .bytes_total
            .store(found.candidates.iter().map(|c| c.size).sum(), Ordering::Relaxed);
        let done = Arc::new(Mutex::new(self.lake.committed_objects().await?));
        let claimed = Arc::new(Mutex::new(HashSet::new()));
        // The next group's workers start before the current group commits, so parsing goes on
        // while the last Parquet files are finished and the commit is written.
        let groups = groups(&found.candidates, self.config.group_bytes);
        let mut next = groups
            .first()
            .map(|g| self.start_group(g, &done, &claimed))
            .transpose()?;
        for (i, group) in groups.iter().enumerate() {
            let Some(running) = next.take() else { break };
            let mut part = IngestReport::default();
            let mut drained = self.drain(running, &mut part).await?;
            next = groups
                .get(i + 1)
                .map(|g| self.start_group(g, &done, &claimed))
                .transpose()?;
            loop {
                let ours = drained.objects.clone();
                let Some(overlap) = self.commit_group(drained, &done, &mut part).await? else {
                    break;
                };
                // Another writer committed some of these objects first: the group is redone
                // without them (its files are left unreferenced, for vacuum).
                warn!(
                    objects = overlap.len(),
                    "another writer committed some of these objects first; redoing the group without them"
                );
                if let (Ok(mut d), Ok(mut c)) = (done.lock(), claimed.lock()) {
                    for o in &ours {
                        c.remove(o);
                    }
                    d.extend(overlap);
                }
                part = IngestReport::default();
                let running = self.start_group(group, &done, &claimed)?;
                drained = self.drain(running, &mut part).await?;
            }
            report.absorb(part);
        }
        report.table_version = self.lake.version();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Starts the workers of one commit group; they fill a bounded channel and block.
    fn start_group(
        &self,
        group: &[Candidate],
        done: &Arc<Mutex<HashSet<String>>>,
        claimed: &Arc<Mutex<HashSet<String>>>,
    ) -> Result<Running, IngestError> {
        let (tx, rx) = mpsc::channel::<Msg>(64);
        let queue = Arc::new(Mutex::new(
            group.iter().cloned().collect::<std::collections::VecDeque<_>>(),
        ));
        let prefetched = prefetch(group, self.config.fetch_concurrency.max(1));
        let mut handles = Vec::new();
        for _ in 0..self.config.workers.max(1) {
            let worker = Worker {
                queue: Arc::clone(&queue),
                done: Arc::clone(done),
                claimed: Arc::clone(claimed),
                tx: tx.clone(),
                enricher: self.enricher.clone(),
                parser: ObjectParser {
                    limits: self.config.limits,
                    flush_rows: self.config.batch_rows,
                },
                counters: Arc::clone(&self.counters),
                buffers: Buffers::default(),
                builder: EventBatchBuilder::with_capacity(self.config.batch_rows),
                writer: self.lake.writer()?,
                runtime: tokio::runtime::Handle::current(),
                prefetched: Arc::clone(&prefetched),
            };
            handles.push(tokio::task::spawn_blocking(move || worker.run()));
        }
        Ok(Running { rx, handles })
    }

    /// Waits for a group's workers, which write their own Parquet files (not yet committed):
    /// encoding runs in parallel on every worker instead of one writer thread.
    async fn drain(&mut self, mut running: Running, report: &mut IngestReport) -> Result<Drained, IngestError> {
        let mut staged = Vec::new();
        let mut entries = Vec::new();
        let mut objects = Vec::new();
        let mut failure = None;
        while let Some(msg) = running.rx.recv().await {
            match msg {
                Msg::Staged(files) => staged.push(files),
                Msg::Failed(e) => {
                    failure = Some(e);
                    break;
                }
                Msg::Done(outcome) => self.account(*outcome, report, &mut entries, &mut objects),
                Msg::Unreadable(failure) => {
                    warn!(object = %failure.object.display(), error = %failure.error, "cannot read object");
                    report.fetch_failures.push(failure);
                }
            }
        }
        drop(running.rx);
        for h in running.handles {
            h.await.map_err(|e| IngestError::Worker(e.to_string()))?;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(Drained {
            staged,
            entries,
            objects,
        })
    }

    /// Makes a drained group visible: quarantine entries, then one Delta commit. Returns the
    /// objects another writer committed first, when that stopped the commit.
    async fn commit_group(
        &mut self,
        group: Drained,
        done: &Arc<Mutex<HashSet<String>>>,
        report: &mut IngestReport,
    ) -> Result<Option<Vec<String>>, IngestError> {
        // Quarantine first: if we die between the two, the object is redone and the duplicate
        // quarantine lines are dropped on read; the other order could lose them.
        self.quarantine.append(&group.entries)?;
        let mut metadata = HashMap::new();
        metadata.insert(
            "trailscope.objects".to_string(),
            serde_json::Value::from(group.objects.len()),
        );
        let rows: u64 = group.staged.iter().map(trailscope_lake::Staged::rows).sum();
        metadata.insert("trailscope.rows".to_string(), serde_json::Value::from(rows));
        match self.lake.commit(group.staged, metadata, &group.objects).await? {
            Commit::Overlap(overlap) => return Ok(Some(overlap)),
            Commit::Committed(version) => {
                report.commits += 1;
                debug!(version, objects = group.objects.len(), "committed");
            }
            Commit::Empty => {}
        }
        if let Ok(mut set) = done.lock() {
            set.extend(group.objects);
        }
        Ok(None)
    }

    fn account(
        &self,
        o: ObjectOutcome,
        report: &mut IngestReport,
        entries: &mut Vec<Entry>,
        objects: &mut Vec<String>,
    ) {
        match o.seen {
            Seen::Committed => return report.files_already_ingested += 1,
            Seen::Duplicate => return report.files_duplicate += 1,
            Seen::New => {}
        }
        let s = &o.summary;
        let object = o.path.display().to_string();
        let now = chrono_now();
        report.compressed_bytes += o.compressed;
        report.json_bytes += s.decompressed_bytes;
        report.events_ingested += s.events;
        report.digest_records += s.digests;
        let entry = |index: Option<u64>, offset: Option<u64>, reason: String| Entry {
            v: FORMAT_VERSION,
            time: now.clone(),
            object: object.clone(),
            object_id: o.id.clone(),
            index,
            offset,
            reason,
        };
        if s.events > 0 {
            report.files_ingested += 1;
            objects.push(o.id.clone());
        }
        if s.not_cloudtrail {
            report.files_quarantined += 1;
            let first = s.rejections.first().map(|r| r.reason.clone()).unwrap_or_default();
            warn!(file = %object, reason = %first, "not CloudTrail JSON, quarantined");
            entries.push(entry(
                None,
                None,
                format!("not CloudTrail JSON ({} elements): {first}", s.rejected),
            ));
            return;
        }
        if s.events == 0 && s.fatal.is_some() {
            report.files_quarantined += 1;
        }
        report.records_quarantined += s.rejected;
        for r in &s.rejections {
            warn!(file = %object, index = r.index, reason = %r.reason, "record quarantined");
            entries.push(entry(r.index, r.offset, r.reason.clone()));
        }
        if s.rejected > s.rejections.len() as u64 {
            entries.push(entry(
                None,
                None,
                format!(
                    "{} more rejected records not listed",
                    s.rejected - s.rejections.len() as u64
                ),
            ));
        }
        if let Some(fatal) = &s.fatal {
            let reason = if s.events > 0 {
                format!("{fatal} (the {} events before it were ingested)", s.events)
            } else {
                fatal.to_string()
            };
            warn!(file = %object, reason = %reason, "object quarantined");
            entries.push(entry(None, None, reason));
        }
    }
}

/// Starts fetching a group's small remote objects, `concurrency` at a time, in the group's order
/// (the order the workers take them). Memory stays bounded by the group's size. Each worker
/// takes its object's bytes from the returned map, waiting for them if they are still coming.
fn prefetch(group: &[Candidate], concurrency: usize) -> Arc<Mutex<Prefetched>> {
    let mut map = Prefetched::new();
    let mut jobs = Vec::new();
    for c in group {
        if let Some(r) = c.remote.as_ref().filter(|_| c.size <= IN_MEMORY_OBJECT) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            map.insert(c.path.clone(), rx);
            jobs.push((tx, r.clone()));
        }
    }
    if !jobs.is_empty() {
        tokio::spawn(async move {
            use futures::StreamExt;
            futures::stream::iter(jobs)
                .for_each_concurrent(concurrency, |(tx, r)| async move {
                    // A worker that gave up (the run failed) no longer listens.
                    let _ = tx.send(fetch(&r).await);
                })
                .await;
        });
    }
    Arc::new(Mutex::new(map))
}

fn chrono_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Splits candidates into commit groups of about `group_bytes` of input.
fn groups(candidates: &[Candidate], group_bytes: u64) -> Vec<&[Candidate]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = 0;
    for (i, c) in candidates.iter().enumerate() {
        acc += c.size.max(1);
        if acc >= group_bytes {
            out.push(&candidates[start..=i]);
            start = i + 1;
            acc = 0;
        }
    }
    if start < candidates.len() {
        out.push(&candidates[start..]);
    }
    out
}
