//! One source's poll: find what is new under its prefix, ingest it, and record per object what
//! happened, so the next poll neither misses nor repeats an object.
//!
//! ```text
//! discover region folders ─► per folder: list after the last key ─┐
//!                             per folder: list the recent days ───┼─► not seen ─► ingest ─► mark seen
//!                             objects that failed before ─────────┘                 └─► failing / quarantined
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use object_store::aws::AmazonS3;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tracing::{info, warn};
use trailscope_ingest::{Discovery, IngestReport, Ingestor, QuarantineEntry};

use crate::SourceError;
use crate::config::Source;
use crate::layout::{self, Folder};
use crate::state::{Failed, Mark, SourceState, StreamState, retry_request_path, state_path};

/// Region folders are looked for again every this many polls (new regions, new accounts).
const REDISCOVER_EVERY: u64 = 30;
/// Folders explored below the source's prefix before giving up on finding the layout.
const MAX_DEPTH: usize = 6;
/// Rates are averaged over this window.
const RATE_WINDOW: Duration = Duration::from_secs(300);

/// A prefix listed as a unit: a region folder (keys in time order), or the source's own prefix
/// when no CloudTrail layout is found below it (then every key is compared with the state).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stream {
    prefix: String,
    ordered: bool,
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollOutcome {
    /// Objects listed that were not handled before.
    pub pending: usize,
    pub report: IngestReport,
    /// Objects that could not be read this time (retried next poll).
    pub failed: Vec<String>,
    /// Objects given up on in this poll.
    pub quarantined: Vec<String>,
}

pub struct Poller {
    pub source: Source,
    store: Arc<AmazonS3>,
    /// SQS mode: the queue the bucket's notifications arrive on.
    sqs: Option<Arc<crate::sqs::Queue>>,
    /// SQS mode: why objects of this poll could not be read, for the quarantine list.
    fetch_errors: std::collections::HashMap<String, String>,
    dir: PathBuf,
    state: SourceState,
    streams: Vec<Stream>,
    discovered_at: Option<u64>,
    /// (when, objects, events) per poll, for the rates.
    history: VecDeque<(Instant, u64, u64)>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").field("source", &self.source.name).finish()
    }
}

fn now_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn unchanged(mark: Option<&Mark>, meta: &ObjectMeta) -> bool {
    mark.is_some_and(|m| m.size == meta.size && m.etag == meta.e_tag)
}

impl Poller {
    /// A poller for `source`, its state kept in `dir` (`<data-dir>/_trailscope/sources`).
    pub async fn new(source: Source, dir: &Path) -> Result<Self, SourceError> {
        let store = Arc::new(source.connection.store(&source.url.bucket).await?);
        let state = SourceState::load(&state_path(dir, &source.name))?;
        let sqs = match &source.queue {
            Some(q) => Some(Arc::new(crate::sqs::Queue::connect(q, &source.connection).await)),
            None => None,
        };
        Ok(Self {
            source,
            store,
            sqs,
            fetch_errors: std::collections::HashMap::new(),
            dir: dir.to_path_buf(),
            state,
            streams: Vec::new(),
            discovered_at: None,
            history: VecDeque::new(),
        })
    }

    pub fn state(&self) -> &SourceState {
        &self.state
    }

    /// Gives quarantined objects another chance on the next poll (all, or the one `key`).
    pub fn retry(&mut self, key: Option<&str>) -> Result<usize, SourceError> {
        let n = self.state.retry(key);
        self.state.save(&state_path(&self.dir, &self.source.name))?;
        Ok(n)
    }

    /// Applies a retry request left by `trailscope sources retry` (a file holding a key, or
    /// nothing for all).
    fn take_retry_request(&mut self) {
        let path = retry_request_path(&self.dir, &self.source.name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let key = text.trim();
            let n = self.state.retry(Some(key).filter(|k| !k.is_empty()));
            info!(source = %self.source.name, objects = n, "retrying quarantined objects as asked");
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Polls once: everything new is ingested (or recorded as failing) before this returns, and
    /// the state is saved.
    pub async fn poll(&mut self, ingestor: &mut Ingestor<'_>) -> Result<PollOutcome, SourceError> {
        self.take_retry_request();
        let started = Utc::now();
        let result = self.poll_inner(ingestor, started).await;
        let s = &mut self.state.status;
        s.last_poll = Some(now_text(started));
        s.totals.polls += 1;
        match &result {
            Ok(_) => {
                s.health = "ok".into();
                s.last_success = s.last_poll.clone();
                s.consecutive_errors = 0;
            }
            Err(e) => {
                s.health = "error".into();
                s.last_error = Some(format!("{}: {e}", now_text(started)));
                s.consecutive_errors += 1;
                s.totals.errors += 1;
            }
        }
        s.failing_objects = self.state.failing.len();
        s.quarantined_objects = self.state.quarantined.len();
        self.update_rates();
        self.state.save(&state_path(&self.dir, &self.source.name))?;
        result
    }

    async fn poll_inner(
        &mut self,
        ingestor: &mut Ingestor<'_>,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, SourceError> {
        // Another writer (a second process, `trailscope ingest`) may have committed meanwhile.
        ingestor.lake.refresh().await?;
        self.fetch_errors.clear();
        let mut outcome = PollOutcome::default();
        let (mut pending, listing, mut batch) = match self.sqs.clone() {
            Some(queue) => {
                let (pending, batch) = self.receive(&queue).await?;
                (pending, None, Some(batch))
            }
            None => {
                let (pending, listing) = self.list_new(now).await?;
                (pending, Some(listing), None)
            }
        };
        for key in self.state.failing.keys().cloned().collect::<Vec<_>>() {
            if pending.contains_key(&key) {
                continue;
            }
            match self.store.head(&key.as_str().into()).await {
                Ok(meta) => {
                    pending.insert(key, meta);
                }
                Err(object_store::Error::NotFound { .. }) => {
                    warn!(source = %self.source.name, key = %key, "an object that failed before is gone from S3");
                    self.state.failing.remove(&key);
                }
                Err(e) => {
                    if self.failed(&key, None, &e, now, ingestor)? {
                        outcome.quarantined.push(key);
                    } else {
                        outcome.failed.push(key);
                    }
                }
            }
        }
        outcome.pending = pending.len();
        let unread = self.ingest_pending(&pending, now, ingestor, &mut outcome).await?;
        if let Some(listing) = listing {
            self.advance(listing);
        }
        if let Some(batch) = batch.take() {
            self.settle(batch, &pending, &unread, now, ingestor, &mut outcome).await;
        }
        self.history.push_back((
            Instant::now(),
            outcome.report.files_ingested,
            outcome.report.events_ingested,
        ));
        Ok(outcome)
    }

    /// Listing mode: what is new under the region folders since the last poll.
    async fn list_new(&mut self, now: DateTime<Utc>) -> Result<(BTreeMap<String, ObjectMeta>, Listing), SourceError> {
        let polls = self.state.status.totals.polls;
        if self.streams.is_empty() || self.discovered_at.is_none_or(|at| polls >= at + REDISCOVER_EVERY) {
            self.streams = self.discover().await?;
            self.discovered_at = Some(polls);
            info!(source = %self.source.name, folders = self.streams.len(), "found the folders to poll");
        }
        let today = now.date_naive();
        let first_day = today - chrono::Days::new(u64::from(self.source.revisit_days - 1));
        let first_day = self.source.since.map_or(first_day, |s| first_day.max(s));
        let mut pending: BTreeMap<String, ObjectMeta> = BTreeMap::new();
        let mut after = Vec::new();
        for stream in self.streams.clone() {
            let listed = self.list_stream(&stream, first_day, today).await?;
            if stream.ordered
                && let Some(last) = listed.new.last()
            {
                after.push((stream.prefix.clone(), last.location.to_string()));
            }
            for meta in listed.new.into_iter().chain(listed.revisited) {
                let key = meta.location.to_string();
                let seen = self.state.streams.get(&stream.prefix).and_then(|s| s.seen.get(&key));
                if unchanged(seen, &meta) || self.still_quarantined(&key, &meta) {
                    continue;
                }
                pending.insert(key, meta);
            }
        }
        Ok((pending, Listing { after, first_day }))
    }

    /// Whether `key` was given up on and has not changed since (a replaced object is new).
    fn still_quarantined(&mut self, key: &str, meta: &ObjectMeta) -> bool {
        let Some(q) = self.state.quarantined.get(key) else {
            return false;
        };
        if q.size == meta.size && q.etag == meta.e_tag {
            return true;
        }
        self.state.quarantined.remove(key);
        false
    }

    /// Listing mode, after the ingest: the next listings start after the keys handled now, and
    /// marks of days no longer revisited are dropped.
    fn advance(&mut self, listing: Listing) {
        for (prefix, after) in listing.after {
            let st = self.state.streams.entry(prefix).or_insert_with(|| StreamState {
                ordered: true,
                ..StreamState::default()
            });
            if st.after.as_ref().is_none_or(|a| *a < after) {
                st.after = Some(after);
            }
        }
        for st in self.state.streams.values_mut().filter(|s| s.ordered) {
            st.seen
                .retain(|key, _| layout::key_day(key).is_none_or(|d| d >= listing.first_day));
        }
    }

    /// Ingests `pending` and records each object's fate: marked as seen, or failing (then
    /// quarantined after `max_attempts`). Returns the keys that could not be read.
    async fn ingest_pending(
        &mut self,
        pending: &BTreeMap<String, ObjectMeta>,
        now: DateTime<Utc>,
        ingestor: &mut Ingestor<'_>,
        outcome: &mut PollOutcome,
    ) -> Result<Vec<String>, SourceError> {
        let mut unread = Vec::new();
        if pending.is_empty() {
            return Ok(unread);
        }
        let base = format!("s3://{}", self.source.url.bucket);
        let mut discovery = Discovery::default();
        let store: Arc<dyn ObjectStore> = Arc::clone(&self.store) as Arc<dyn ObjectStore>;
        discovery.add_listing(&store, &base, pending.values().cloned().collect());
        ingestor.config.fetch_concurrency = self.source.fetch_concurrency;
        let report = ingestor.ingest(discovery).await?;
        let committed = Utc::now();
        let mut newest: Option<&ObjectMeta> = None;
        for (key, meta) in pending {
            let path = PathBuf::from(format!("{base}/{key}"));
            if let Some(f) = report.fetch_failures.iter().find(|f| f.object == path) {
                let error = Arc::clone(&f.error);
                unread.push(key.clone());
                if self.sqs.is_some() && !self.state.failing.contains_key(key) {
                    // Its message is not deleted: SQS delivers it again (to any consumer), and
                    // after `max_receives` it is quarantined (see `settle`).
                    warn!(source = %self.source.name, key = %key, error = %error, "cannot read object; its message will be received again");
                    let reason = trailscope_s3::explain_error(&error, &self.source.url, "GetObject", Some(key));
                    self.fetch_errors.insert(key.clone(), reason);
                    outcome.failed.push(key.clone());
                    continue;
                }
                if self.failed(key, Some(meta), &error, now, ingestor)? {
                    outcome.quarantined.push(key.clone());
                } else {
                    outcome.failed.push(key.clone());
                }
                continue;
            }
            self.state.failing.remove(key);
            if self.sqs.is_none()
                && let Some(stream) = self.stream_of(key).cloned()
            {
                let mark = Mark {
                    size: meta.size,
                    etag: meta.e_tag.clone(),
                };
                self.state
                    .streams
                    .entry(stream.prefix.clone())
                    .or_insert_with(|| StreamState {
                        ordered: stream.ordered,
                        ..StreamState::default()
                    })
                    .seen
                    .insert(key.clone(), mark);
            }
            if newest.is_none_or(|n| (meta.last_modified, &meta.location) > (n.last_modified, &n.location)) {
                newest = Some(meta);
            }
        }
        let s = &mut self.state.status;
        if report.files_ingested > 0
            && let Some(n) = newest
        {
            s.last_object = Some(format!("{base}/{}", n.location));
            s.last_commit = Some(now_text(committed));
            s.lag_seconds = Some((committed - n.last_modified).num_milliseconds().max(0) as f64 / 1000.0);
        }
        s.totals.objects += report.files_ingested;
        s.totals.events += report.events_ingested;
        s.totals.bytes += report.compressed_bytes;
        outcome.report = report;
        Ok(unread)
    }

    /// SQS mode: receives the waiting messages and finds the objects they name (of this
    /// source's bucket and prefix), keeping the messages invisible to other consumers meanwhile.
    async fn receive(
        &mut self,
        queue: &crate::sqs::Queue,
    ) -> Result<(BTreeMap<String, ObjectMeta>, crate::sqs::Batch), SourceError> {
        let mut batch = queue.receive(&self.source).await?;
        let mut pending = BTreeMap::new();
        let bucket = self.source.url.bucket.clone();
        let prefix = self.source.url.prefix.clone();
        for m in &mut batch.messages {
            let crate::sqs::Verdict::Objects(refs) = &m.verdict else {
                continue;
            };
            for r in refs.clone() {
                if r.bucket != bucket || !r.key.starts_with(&prefix) {
                    warn!(
                        source = %self.source.name,
                        object = %format!("s3://{}/{}", r.bucket, r.key),
                        "a notification names an object outside this source's location; acknowledged without reading it"
                    );
                    continue;
                }
                let location = object_store::path::Path::from(r.key.as_str());
                let meta = match r.size {
                    Some(size) => ObjectMeta {
                        location,
                        last_modified: m.sent,
                        size,
                        e_tag: r.etag.clone(),
                        version: None,
                    },
                    // CloudTrail's own notifications name keys only.
                    None => match self.store.head(&location).await {
                        Ok(meta) => ObjectMeta {
                            last_modified: m.sent,
                            ..meta
                        },
                        Err(object_store::Error::NotFound { .. }) => {
                            warn!(source = %self.source.name, key = %r.key, "a notified object is gone from S3");
                            continue;
                        }
                        Err(e) => {
                            warn!(source = %self.source.name, key = %r.key, error = %e, "cannot look the notified object up; its message will be received again");
                            let reason = trailscope_s3::explain_error(&e, &self.source.url, "HeadObject", Some(&r.key));
                            m.unreachable.push((r.key.clone(), reason));
                            continue;
                        }
                    },
                };
                if self.still_quarantined(&r.key, &meta) {
                    continue;
                }
                m.keys.push(r.key.clone());
                pending.insert(r.key, meta);
            }
        }
        Ok((pending, batch))
    }

    /// SQS mode, after the ingest: deletes each message whose objects are all committed (or
    /// that names nothing to read); leaves the others to be received again, until a message
    /// has been received `max_receives` times: then what it names is quarantined, and it is
    /// deleted.
    async fn settle(
        &mut self,
        mut batch: crate::sqs::Batch,
        pending: &BTreeMap<String, ObjectMeta>,
        unread: &[String],
        now: DateTime<Utc>,
        ingestor: &Ingestor<'_>,
        outcome: &mut PollOutcome,
    ) {
        let Some(queue) = self.sqs.clone() else { return };
        // From here on the messages' invisibility is decided below, not by the heartbeat.
        batch.stop_heartbeat();
        let max = queue.max_receives;
        let mut done = Vec::new();
        let mut again = Vec::new();
        let mut entries = Vec::new();
        for m in &batch.messages {
            let mut missing: Vec<(&String, Option<&String>)> = m
                .keys
                .iter()
                .filter(|k| unread.contains(k))
                .map(|k| (k, None))
                .collect();
            missing.extend(m.unreachable.iter().map(|(k, why)| (k, Some(why))));
            let trouble = match &m.verdict {
                crate::sqs::Verdict::Ignore(reason) => {
                    info!(source = %self.source.name, message = %m.id, reason = %reason, "acknowledged a notification with nothing to read");
                    None
                }
                crate::sqs::Verdict::Bad(reason) => Some(format!("the message cannot be read: {reason}")),
                crate::sqs::Verdict::Objects(_) if !missing.is_empty() => {
                    Some(format!("{} of its objects could not be read", missing.len()))
                }
                crate::sqs::Verdict::Objects(_) => None,
            };
            let Some(trouble) = trouble else {
                done.push(m);
                continue;
            };
            if m.receives < max {
                warn!(source = %self.source.name, message = %m.id, receives = m.receives, reason = %trouble, "leaving the message to be received again");
                again.push(m);
                continue;
            }
            // Poison: given up on, with the reason, and retried on request.
            let when = now_text(now);
            if matches!(m.verdict, crate::sqs::Verdict::Bad(_)) || missing.is_empty() {
                let excerpt: String = m.body.chars().take(500).collect();
                entries.push(QuarantineEntry {
                    v: trailscope_ingest::quarantine::FORMAT_VERSION,
                    time: when.clone(),
                    object: format!("{}#{}", queue.url, m.id),
                    object_id: format!("sqs:{}", m.id),
                    index: None,
                    offset: None,
                    reason: format!("{trouble}; received {} times; its body: {excerpt}", m.receives),
                });
            }
            for (key, why) in missing {
                let reason = why
                    .cloned()
                    .or_else(|| self.fetch_errors.get(key).cloned())
                    .unwrap_or_else(|| "it could not be read".into());
                let object = format!("s3://{}/{key}", self.source.url.bucket);
                entries.push(QuarantineEntry {
                    v: trailscope_ingest::quarantine::FORMAT_VERSION,
                    time: when.clone(),
                    object_id: object.clone(),
                    object,
                    index: None,
                    offset: None,
                    reason: format!(
                        "its notification was received {} times and it could not be read: {reason} (retry with: trailscope sources retry {})",
                        m.receives, self.source.name
                    ),
                });
                let meta = pending.get(key);
                self.state.quarantined.insert(
                    key.clone(),
                    Failed {
                        size: meta.map_or(0, |m| m.size),
                        etag: meta.and_then(|m| m.e_tag.clone()),
                        attempts: m.receives,
                        first_failed: when.clone(),
                        last_failed: when.clone(),
                        reason,
                    },
                );
                outcome.quarantined.push(key.clone());
            }
            done.push(m);
        }
        // Quarantine before deleting: a crash in between receives the message again, and a
        // duplicate quarantine line is dropped on read.
        if let Err(e) = ingestor.quarantine.append(&entries) {
            warn!(source = %self.source.name, error = %e, "cannot write the quarantine list; the messages stay");
            return;
        }
        queue.delete(&done).await;
        queue.retry_soon(&again).await;
    }

    /// Records a failed read of `key`; after `max_attempts` polls the object is quarantined (and
    /// listed by `trailscope quarantine`). Returns whether it was.
    fn failed(
        &mut self,
        key: &str,
        meta: Option<&ObjectMeta>,
        error: &object_store::Error,
        now: DateTime<Utc>,
        ingestor: &Ingestor<'_>,
    ) -> Result<bool, SourceError> {
        let url = &self.source.url;
        let reason = trailscope_s3::explain_error(error, url, "GetObject", Some(key));
        let when = now_text(now);
        let entry = self.state.failing.entry(key.to_string()).or_insert_with(|| Failed {
            size: meta.map_or(0, |m| m.size),
            etag: meta.and_then(|m| m.e_tag.clone()),
            attempts: 0,
            first_failed: when.clone(),
            last_failed: when.clone(),
            reason: String::new(),
        });
        entry.attempts += 1;
        entry.last_failed = when.clone();
        entry.reason = reason.clone();
        if let Some(m) = meta {
            entry.size = m.size;
            entry.etag = m.e_tag.clone();
        }
        warn!(source = %self.source.name, key = %key, attempts = entry.attempts, reason = %reason, "cannot read object");
        if entry.attempts < self.source.max_attempts {
            return Ok(false);
        }
        let attempts = entry.attempts;
        if let Some(f) = self.state.failing.remove(key) {
            let object = format!("s3://{}/{key}", url.bucket);
            ingestor.quarantine.append(&[QuarantineEntry {
                v: trailscope_ingest::quarantine::FORMAT_VERSION,
                time: when,
                object_id: format!("{object}@{}", f.etag.clone().unwrap_or_default()),
                object,
                index: None,
                offset: None,
                reason: format!(
                    "could not be read in {attempts} polls: {reason} (retry with: trailscope sources retry {})",
                    self.source.name
                ),
            }])?;
            self.state.quarantined.insert(key.to_string(), f);
        }
        Ok(true)
    }

    /// The objects of a stream to consider: those after the last key handled, and (ordered
    /// streams) every object of the revisited days up to that key.
    async fn list_stream(
        &self,
        stream: &Stream,
        first_day: NaiveDate,
        today: NaiveDate,
    ) -> Result<Listed, SourceError> {
        let list_error = |e: object_store::Error| self.list_error(&stream.prefix, &e);
        let st = self.state.streams.get(&stream.prefix);
        if !stream.ordered {
            let new = trailscope_s3::list_after(&self.store, &stream.prefix, None)
                .await
                .map_err(list_error)?;
            return Ok(Listed {
                new,
                revisited: Vec::new(),
            });
        }
        let region = layout::region_folder(&stream.prefix);
        let after = st.and_then(|s| s.after.clone());
        let start = after.clone().or_else(|| {
            let day = self.source.since?;
            // The day's folder sorts just before its first key.
            Some(layout::day_folder(region.as_deref()?, day))
        });
        let new = trailscope_s3::list_after(&self.store, &stream.prefix, start.as_deref())
            .await
            .map_err(list_error)?;
        let mut revisited = Vec::new();
        if let (Some(after), Some(region)) = (after, region) {
            let mut day = first_day;
            while day <= today {
                let folder = layout::day_folder(&region, day);
                let prefix = if folder.starts_with(&stream.prefix) {
                    Some(folder)
                } else {
                    stream.prefix.starts_with(&folder).then(|| stream.prefix.clone())
                };
                if let Some(prefix) = prefix.filter(|p| p.as_str() <= after.as_str()) {
                    let listed = trailscope_s3::list_after(&self.store, &prefix, None)
                        .await
                        .map_err(list_error)?;
                    revisited.extend(listed.into_iter().filter(|m| m.location.as_ref() <= after.as_str()));
                }
                day = day.succ_opt().unwrap_or(today + chrono::Days::new(1));
            }
        }
        Ok(Listed { new, revisited })
    }

    /// The folders to poll below the source's prefix: every region folder of every account (and
    /// organization) found, or the prefix itself when it holds no CloudTrail layout.
    async fn discover(&self) -> Result<Vec<Stream>, SourceError> {
        let mut root = self.source.url.prefix.clone();
        if !root.is_empty() && !root.ends_with('/') && layout::folder(&root) == Folder::Explore {
            root.push('/');
        }
        let mut found = Vec::new();
        let mut frontier = vec![(root.clone(), 0)];
        while let Some((prefix, depth)) = frontier.pop() {
            match layout::folder(&prefix) {
                Folder::Ordered => found.push(Stream { prefix, ordered: true }),
                Folder::Skip => {}
                Folder::Explore if depth < MAX_DEPTH => {
                    let folders = trailscope_s3::list_folders(&self.store, &prefix)
                        .await
                        .map_err(|e| self.list_error(&prefix, &e))?;
                    frontier.extend(folders.into_iter().map(|f| (f, depth + 1)));
                }
                Folder::Explore => {}
            }
        }
        if found.is_empty() {
            found.push(Stream {
                prefix: root,
                ordered: false,
            });
        }
        found.sort_by(|a, b| a.prefix.cmp(&b.prefix));
        Ok(found)
    }

    /// A failed listing of `prefix`, in the access check's words.
    fn list_error(&self, prefix: &str, e: &object_store::Error) -> SourceError {
        SourceError::List {
            url: format!("s3://{}/{prefix}", self.source.url.bucket),
            reason: trailscope_s3::explain_error(e, &self.source.url, "ListBucket", None),
        }
    }

    /// The stream a key belongs to: the longest prefix that holds it.
    fn stream_of(&self, key: &str) -> Option<&Stream> {
        self.streams
            .iter()
            .filter(|s| key.starts_with(&s.prefix))
            .max_by_key(|s| s.prefix.len())
    }

    fn update_rates(&mut self) {
        let now = Instant::now();
        while self
            .history
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            self.history.pop_front();
        }
        let minutes = RATE_WINDOW.as_secs_f64() / 60.0;
        let (objects, events) = self.history.iter().fold((0, 0), |(o, e), (_, no, ne)| (o + no, e + ne));
        self.state.status.objects_per_minute = objects as f64 / minutes;
        self.state.status.events_per_minute = events as f64 / minutes;
    }
}

struct Listed {
    new: Vec<ObjectMeta>,
    revisited: Vec<ObjectMeta>,
}

/// What a listing poll leaves for after its ingest.
struct Listing {
    /// Per ordered folder, its greatest key listed now.
    after: Vec<(String, String)>,
    /// The first day revisited.
    first_day: NaiveDate,
}
