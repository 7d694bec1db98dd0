//! Parses one object (file or S3 object) into an [`EventBatchBuilder`], accounting for every
//! element: events, digests, and rejections with their position.

use std::io::Read;

use crate::builder::{EventBatchBuilder, Source};
use crate::classify::{Classified, classify};
use crate::error::{ReadError, RecordError};
use crate::framing::{Buffers, ElementReader, Limits};

/// Rejections kept per object; the rest are only counted (a file of a million bad lines must
/// not turn into a million-line report).
const MAX_KEPT_REJECTIONS: usize = 100;

/// One element that did not become an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Ordinal of the element among the object's records (0-based), when it is one.
    pub index: Option<u64>,
    /// Decompressed byte offset, when known.
    pub offset: Option<u64>,
    pub reason: String,
}

/// What parsing one object produced.
#[derive(Debug, Default)]
pub struct ObjectSummary {
    pub events: u64,
    pub digests: u64,
    pub rejected: u64,
    /// The first rejections, with positions.
    pub rejections: Vec<Rejection>,
    /// Set when reading stopped early (corrupt gzip, broken JSON structure, cap exceeded…).
    pub fatal: Option<ReadError>,
    /// True when the object held JSON but nothing in it was CloudTrail.
    pub not_cloudtrail: bool,
    pub decompressed_bytes: u64,
}

impl ObjectSummary {
    /// True when the object was read to its end and every element was accounted as good.
    pub fn is_clean(&self) -> bool {
        self.fatal.is_none() && self.rejected == 0 && !self.not_cloudtrail
    }

    fn reject(&mut self, index: Option<u64>, offset: Option<u64>, err: &RecordError) {
        self.rejected += 1;
        if self.rejections.len() < MAX_KEPT_REJECTIONS {
            self.rejections.push(Rejection {
                index,
                offset,
                reason: err.to_string(),
            });
        }
    }
}

/// Parses objects with fixed limits, flushing the builder whenever it holds `flush_rows` rows so
/// memory stays bounded however large one object is.
#[derive(Debug, Clone, Copy)]
pub struct ObjectParser {
    pub limits: Limits,
    pub flush_rows: usize,
}

impl ObjectParser {
    /// Reads `reader` to its end (or to a fatal error), appending events to `builder` with
    /// `source` as their `sourceobject`. `flush` is called whenever the builder is full; its
    /// error aborts parsing and is returned.
    pub fn parse<R: Read, E>(
        &self,
        reader: R,
        source: &Source<'_>,
        builder: &mut EventBatchBuilder,
        flush: &mut dyn FnMut(&mut EventBatchBuilder) -> Result<(), E>,
    ) -> Result<ObjectSummary, E> {
        self.parse_with(&mut Buffers::default(), reader, source, builder, flush)
    }

    /// [`ObjectParser::parse`] reusing `buffers` from object to object.
    pub fn parse_with<R: Read, E>(
        &self,
        buffers: &mut Buffers,
        reader: R,
        source: &Source<'_>,
        builder: &mut EventBatchBuilder,
        flush: &mut dyn FnMut(&mut EventBatchBuilder) -> Result<(), E>,
    ) -> Result<ObjectSummary, E> {
        let mut run = Run {
            source,
            builder,
            summary: ObjectSummary::default(),
            ordinal: 0,
            only_foreign: true,
        };
        let mut elements = ElementReader::with_buffers(reader, self.limits, std::mem::take(buffers));
        loop {
            let element = match elements.next_element() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    run.summary.fatal = Some(e);
                    break;
                }
            };
            let offset = Some(element.offset);
            match classify(element.bytes) {
                Classified::Nested(items) => {
                    for item in items {
                        run.element(item.as_bytes(), offset);
                    }
                }
                other => run.classified(other, offset),
            }
            if run.builder.len() >= self.flush_rows
                && let Err(e) = flush(run.builder)
            {
                *buffers = elements.into_buffers();
                return Err(e);
            }
        }
        let mut summary = run.summary;
        summary.decompressed_bytes = elements.bytes_read();
        *buffers = elements.into_buffers();
        if summary.events == 0 && summary.digests == 0 && summary.rejected > 0 && run.only_foreign {
            summary.not_cloudtrail = true;
        }
        Ok(summary)
    }
}

/// The state of parsing one object.
struct Run<'r, 's> {
    source: &'r Source<'s>,
    builder: &'r mut EventBatchBuilder,
    summary: ObjectSummary,
    /// Position of the next record in the object.
    ordinal: u64,
    /// True while every rejection says "not CloudTrail" (then the object is foreign JSON).
    only_foreign: bool,
}

impl Run<'_, '_> {
    fn element(&mut self, bytes: &[u8], offset: Option<u64>) {
        self.classified(classify(bytes), offset);
    }

    fn classified(&mut self, classified: Classified<'_>, offset: Option<u64>) {
        match classified {
            Classified::Event { event, raw, event_time } => {
                let index = i64::try_from(self.ordinal).unwrap_or(i64::MAX);
                self.builder.push(&event, raw, event_time, self.source, index);
                self.summary.events += 1;
                self.ordinal += 1;
            }
            // A LookupEvents entry: the record is the embedded string.
            Classified::Embedded(json) => self.element(json.as_bytes(), offset),
            Classified::Digest => self.summary.digests += 1,
            Classified::Nested(_) => {
                // Records nested twice deep are not a shape CloudTrail or its tools write.
                let err = RecordError::NotCloudTrail {
                    keys: "Records (nested twice)".into(),
                };
                self.reject(offset, &err);
            }
            Classified::Rejected(err) => {
                if !matches!(err, RecordError::NotCloudTrail { .. }) {
                    self.only_foreign = false;
                }
                self.reject(offset, &err);
            }
        }
    }

    fn reject(&mut self, offset: Option<u64>, err: &RecordError) {
        self.summary.reject(Some(self.ordinal), offset, err);
        self.ordinal += 1;
    }
}
