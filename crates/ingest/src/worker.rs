//! A worker of a commit group: reads objects, skips the ones already done, parses, enriches,
//! orders by time and writes its own Parquet files. Runs on a blocking-pool thread.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;
use trailscope_cloudtrail::{Buffers, EventBatchBuilder, ObjectParser, ObjectSummary, Source};
use trailscope_enrich::Enricher;
use xxhash_rust::xxh3::Xxh3;

use object_store::ObjectStoreExt;

use crate::discover::{Candidate, Remote};
use crate::error::IngestError;
use crate::pipeline::{Counters, FetchFailure, Msg, ObjectOutcome, Seen};

pub(crate) struct Worker {
    pub(crate) queue: Arc<Mutex<VecDeque<Candidate>>>,
    pub(crate) done: Arc<Mutex<HashSet<String>>>,
    pub(crate) claimed: Arc<Mutex<HashSet<String>>>,
    pub(crate) tx: mpsc::Sender<Msg>,
    pub(crate) enricher: Enricher,
    pub(crate) parser: ObjectParser,
    pub(crate) counters: Arc<Counters>,
    pub(crate) buffers: Buffers,
    /// Rows not yet written; shared by the objects this worker reads in a group.
    pub(crate) builder: EventBatchBuilder,
    /// This worker's Parquet files of the group.
    pub(crate) writer: trailscope_lake::BatchWriter,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Bytes of this group's remote objects, being fetched ahead (see `pipeline::prefetch`).
    pub(crate) prefetched: Arc<Mutex<Prefetched>>,
}

/// A remote object's bytes on their way, by the object's name.
pub(crate) type Prefetched =
    std::collections::HashMap<std::path::PathBuf, tokio::sync::oneshot::Receiver<Result<Vec<u8>, object_store::Error>>>;

/// Objects up to this size are read into memory once; larger ones are read twice (hash, then
/// parse) so memory stays bounded.
pub(crate) const IN_MEMORY_OBJECT: u64 = 64 << 20;

impl Worker {
    pub(crate) fn run(mut self) {
        loop {
            let next = self.queue.lock().ok().and_then(|mut q| q.pop_front());
            let Some(candidate) = next else { break };
            match self.one(&candidate) {
                Ok(()) => {}
                // One unreadable object does not stop the others; the caller decides whether
                // to retry it (a rerun, the next poll) or give up on it.
                Err(IngestError::Fetch { path, source }) => {
                    let failure = FetchFailure {
                        object: path,
                        error: Arc::new(source),
                    };
                    if self.tx.blocking_send(Msg::Unreadable(failure)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.tx.blocking_send(Msg::Failed(e));
                    return;
                }
            }
            self.counters.files_done.fetch_add(1, Ordering::Relaxed);
            self.counters.bytes_done.fetch_add(candidate.size, Ordering::Relaxed);
        }
        // The group's last rows: a batch spans objects, and the group commits only after every
        // worker has finished its files, so objects stay whole per commit.
        let mut batch_writer = BatchSink {
            enricher: &mut self.enricher,
            writer: &mut self.writer,
            runtime: &self.runtime,
            counters: &self.counters,
        };
        if !self.builder.is_empty()
            && let Err(e) = batch_writer.write(&mut self.builder)
        {
            let _ = self.tx.blocking_send(Msg::Failed(e));
            return;
        }
        let Worker {
            writer, runtime, tx, ..
        } = self;
        let msg = match runtime.block_on(writer.finish()) {
            Ok(staged) => Msg::Staged(staged),
            Err(e) => Msg::Failed(e.into()),
        };
        let _ = tx.blocking_send(msg);
    }

    fn one(&mut self, c: &Candidate) -> Result<(), IngestError> {
        let walk = |source| IngestError::Walk {
            path: c.path.clone(),
            source,
        };
        // Where a large object is read from: the local file, or a download of the remote one
        // (kept until this function returns).
        let mut download = None;
        let (id, bytes) = match &c.remote {
            Some(r) if c.size <= IN_MEMORY_OBJECT => {
                let ahead = self.prefetched.lock().ok().and_then(|mut m| m.remove(&c.path));
                let fetched = match ahead {
                    Some(rx) => match self.runtime.block_on(rx) {
                        Ok(result) => result,
                        // The prefetch task is gone: fetch it here.
                        Err(_) => self.runtime.block_on(fetch(r)),
                    },
                    None => self.runtime.block_on(fetch(r)),
                };
                let bytes = fetched
                    .and_then(|b| check_length(b.len() as u64, c.size).map(|()| b))
                    .map_err(|source| IngestError::Fetch {
                        path: c.path.clone(),
                        source,
                    })?;
                (object_id_of(&bytes), Some(bytes))
            }
            Some(r) => {
                let file = self
                    .runtime
                    .block_on(fetch_to_file(r, c.size))
                    .map_err(|source| IngestError::Fetch {
                        path: c.path.clone(),
                        source,
                    })?;
                let id = object_id(BufReader::new(file.reopen().map_err(walk)?)).map_err(walk)?;
                download = Some(file);
                (id, None)
            }
            None if c.size <= IN_MEMORY_OBJECT => {
                let bytes = std::fs::read(&c.path).map_err(walk)?;
                (object_id_of(&bytes), Some(bytes))
            }
            None => (
                object_id(BufReader::new(File::open(&c.path).map_err(walk)?)).map_err(walk)?,
                None,
            ),
        };
        let seen = if self.done.lock().map(|d| d.contains(&id)).unwrap_or(false) {
            Seen::Committed
        } else if !self.claimed.lock().map(|mut c| c.insert(id.clone())).unwrap_or(false) {
            Seen::Duplicate
        } else {
            Seen::New
        };
        if seen != Seen::New {
            let outcome = ObjectOutcome {
                seen,
                path: c.path.clone(),
                id,
                summary: ObjectSummary::default(),
                compressed: 0,
            };
            return self.send(Msg::Done(Box::new(outcome)));
        }
        let name = c.path.display().to_string();
        let source = Source { name: &name, id: &id };
        let builder = &mut self.builder;
        let mut sink = BatchSink {
            enricher: &mut self.enricher,
            writer: &mut self.writer,
            runtime: &self.runtime,
            counters: &self.counters,
        };
        let mut flush = |b: &mut EventBatchBuilder| -> Result<(), IngestError> { sink.write(b) };
        let buffers = &mut self.buffers;
        let summary = match bytes {
            Some(bytes) => self
                .parser
                .parse_with(buffers, &bytes[..], &source, builder, &mut flush)?,
            None => {
                let file = match &download {
                    Some(d) => d.reopen().map_err(walk)?,
                    None => File::open(&c.path).map_err(walk)?,
                };
                self.parser
                    .parse_with(buffers, BufReader::new(file), &source, builder, &mut flush)?
            }
        };
        self.counters
            .json_bytes
            .fetch_add(summary.decompressed_bytes, Ordering::Relaxed);
        self.counters.rejected.fetch_add(summary.rejected, Ordering::Relaxed);
        self.send(Msg::Done(Box::new(ObjectOutcome {
            seen: Seen::New,
            path: c.path.clone(),
            id,
            summary,
            compressed: c.size,
        })))
    }

    fn send(&self, msg: Msg) -> Result<(), IngestError> {
        self.tx
            .blocking_send(msg)
            .map_err(|_| IngestError::Worker("the writer stopped".into()))
    }
}

/// Where a worker's full builders go: enriched, ordered, and encoded into its Parquet files.
struct BatchSink<'a> {
    enricher: &'a mut Enricher,
    writer: &'a mut trailscope_lake::BatchWriter,
    runtime: &'a tokio::runtime::Handle,
    counters: &'a Counters,
}

impl BatchSink<'_> {
    fn write(&mut self, b: &mut EventBatchBuilder) -> Result<(), IngestError> {
        let parsed = b.finish()?;
        let rows = parsed.num_rows() as u64;
        let enriched = sort_by_time(&self.enricher.enrich(&parsed)?)?;
        // A blocking-pool thread may wait on the runtime; the writer's I/O is local files.
        self.runtime.block_on(self.writer.write(enriched))?;
        self.counters.events.fetch_add(rows, Ordering::Relaxed);
        Ok(())
    }
}

/// Orders a batch by `eventtime`: files within a commit group interleave regions and accounts;
/// time-ordered rows delta-encode to a few bits per timestamp and give tight row-group
/// statistics for time-range queries. (Ordering by eventsource/eventname first was measured:
/// 1% smaller overall, but time deltas grow and time pruning suffers.)
fn sort_by_time(batch: &RecordBatch) -> Result<RecordBatch, IngestError> {
    let Some(time) = batch.column_by_name(trailscope_cloudtrail::schema::EVENT_TIME) else {
        return Ok(batch.clone());
    };
    let times = time.as_any().downcast_ref::<arrow::array::TimestampMicrosecondArray>();
    if times.is_some_and(|t| t.values().windows(2).all(|w| w[0] <= w[1])) {
        return Ok(batch.clone());
    }
    let order = arrow::compute::sort_to_indices(time, None, None)?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c.as_ref(), &order, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// A remote object's bytes (objects up to [`IN_MEMORY_OBJECT`]).
pub(crate) async fn fetch(r: &Remote) -> Result<Vec<u8>, object_store::Error> {
    Ok(r.store.get(&r.location).await?.bytes().await?.to_vec())
}

/// Whether `got` bytes are the whole object listed with `size`: a body cut short by a proxy that also shortened
/// its length would otherwise reach the parser as a truncated (corrupt-looking) file.
fn check_length(got: u64, size: u64) -> Result<(), object_store::Error> {
    if got == size {
        return Ok(());
    }
    Err(object_store::Error::Generic {
        store: "S3",
        source: format!(
            "the body has {got} bytes but the object's listing says {size}: it was cut short or replaced while being read"
        )
        .into(),
    })
}

/// A remote object streamed into a temporary file, so a large one never sits in memory.
async fn fetch_to_file(r: &Remote, size: u64) -> Result<tempfile::NamedTempFile, object_store::Error> {
    use futures::StreamExt;
    use std::io::Write;
    let local = |e: std::io::Error| object_store::Error::Generic {
        store: "local temporary file",
        source: Box::new(e),
    };
    let mut file = tempfile::NamedTempFile::new().map_err(local)?;
    let mut stream = r.store.get(&r.location).await?.into_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        written += chunk.len() as u64;
        file.write_all(&chunk).map_err(local)?;
    }
    file.flush().map_err(local)?;
    check_length(written, size)?;
    Ok(file)
}

/// [`object_id`] of bytes in memory.
pub(crate) fn object_id_of(bytes: &[u8]) -> String {
    format!("xxh3:{:032x}:{}", xxhash_rust::xxh3::xxh3_128(bytes), bytes.len())
}

/// The ledger identity of an object's bytes: its 128-bit xxh3 hash and length, so the same
/// content under another name or path is recognised as done.
pub(crate) fn object_id(mut r: impl Read) -> std::io::Result<String> {
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok(format!("xxh3:{:032x}:{len}", h.digest128()))
}
