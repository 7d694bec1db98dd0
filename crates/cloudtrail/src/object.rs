//! Parses one object (file or S3 object) into an [`EventBatchBuilder`], accounting for every
//! element: events, digests, and rejections with their position.

use std::io::Read;

use crate::builder::{EventBatchBuilder, Source};
use crate::classify::{Classified, classify};
use crate::error::{ReadError, RecordError};
use crate::framing::{ElementReader, Limits};

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
        let mut summary = ObjectSummary::default();
        let mut elements = ElementReader::new(reader, self.limits);
        let mut ordinal: u64 = 0;
        let mut only_foreign = true;
        loop {
            let element = match elements.next_element() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    summary.fatal = Some(e);
                    break;
                }
            };
            let offset = element.offset;
            let mut pending: Vec<(Option<u64>, String)> = Vec::new();
            match classify(element.bytes) {
                Classified::Nested(items) => {
                    for item in items {
                        self.one(
                            item.as_bytes(),
                            Some(offset),
                            source,
                            &mut ordinal,
                            builder,
                            &mut summary,
                            &mut only_foreign,
                            &mut pending,
                        );
                    }
                }
                other => self.handle(
                    other,
                    Some(offset),
                    source,
                    &mut ordinal,
                    builder,
                    &mut summary,
                    &mut only_foreign,
                    &mut pending,
                ),
            }
            for (offset, embedded) in pending {
                self.one(
                    embedded.as_bytes(),
                    offset,
                    source,
                    &mut ordinal,
                    builder,
                    &mut summary,
                    &mut only_foreign,
                    &mut Vec::new(),
                );
            }
            if builder.len() >= self.flush_rows {
                flush(builder)?;
            }
        }
        summary.decompressed_bytes = elements.bytes_read();
        if summary.events == 0 && summary.digests == 0 && summary.rejected > 0 && only_foreign {
            summary.not_cloudtrail = true;
        }
        Ok(summary)
    }

    #[allow(clippy::too_many_arguments)]
    fn one(
        &self,
        bytes: &[u8],
        offset: Option<u64>,
        source: &Source<'_>,
        ordinal: &mut u64,
        builder: &mut EventBatchBuilder,
        summary: &mut ObjectSummary,
        only_foreign: &mut bool,
        pending: &mut Vec<(Option<u64>, String)>,
    ) {
        let classified = classify(bytes);
        self.handle(
            classified,
            offset,
            source,
            ordinal,
            builder,
            summary,
            only_foreign,
            pending,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn handle(
        &self,
        classified: Classified<'_>,
        offset: Option<u64>,
        source: &Source<'_>,
        ordinal: &mut u64,
        builder: &mut EventBatchBuilder,
        summary: &mut ObjectSummary,
        only_foreign: &mut bool,
        pending: &mut Vec<(Option<u64>, String)>,
    ) {
        match classified {
            Classified::Event { event, raw, event_time } => {
                builder.push(
                    &event,
                    raw,
                    event_time,
                    source,
                    i64::try_from(*ordinal).unwrap_or(i64::MAX),
                );
                summary.events += 1;
                *ordinal += 1;
            }
            Classified::Embedded(json) => pending.push((offset, json)),
            Classified::Digest => summary.digests += 1,
            Classified::Nested(items) => {
                // Records nested twice deep are not a shape CloudTrail or its tools write.
                let _ = items;
                summary.reject(
                    Some(*ordinal),
                    offset,
                    &RecordError::NotCloudTrail {
                        keys: "Records (nested twice)".into(),
                    },
                );
                *ordinal += 1;
            }
            Classified::Rejected(err) => {
                if !matches!(err, RecordError::NotCloudTrail { .. }) {
                    *only_foreign = false;
                }
                summary.reject(Some(*ordinal), offset, &err);
                *ordinal += 1;
            }
        }
    }
}
