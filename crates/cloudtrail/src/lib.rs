//! CloudTrail records → Arrow.
//!
//! ```text
//! bytes (gzip or plain) ─► decode ─► framing (JSON elements) ─► classify ─► builder (Arrow)
//! ```
//!
//! Synchronous and free of I/O beyond a caller-supplied [`std::io::Read`], so it is fast to
//! test, benchmark and fuzz. [`ObjectParser`] ties the stages together for one object and reports
//! each element's outcome, so the caller can count every record.

mod builder;
mod classify;
mod decode;
mod error;
mod framing;
mod model;
mod object;
pub mod schema;
pub mod template;
mod time;

pub use builder::{EventBatchBuilder, Source, compact_json};
pub use classify::{Classified, classify};
pub use error::{ReadError, RecordError};
pub use framing::{Buffers, Container, Element, ElementReader, Limits};
pub use model::RawEvent;
pub use object::{ObjectParser, ObjectSummary, Rejection};
pub use time::{epoch_days, format_event_time, parse_event_time};
