//! CloudTrail's `LookupEvents` over the trailscope table, for the AWS-compatible API and the
//! `trailscope lookup-events` command: the request as the AWS CLI sends it, the eight lookup
//! attributes as filters, the derived `Username` and `Resources`, and newest-first pages with
//! sealed `NextToken`s.
//!
//! ```text
//! request JSON ─► request (checked Lookup) ─► run (filters, day windows) ─► response JSON
//!                      NextToken ◄─► token (HMAC-sealed cursor + table version)
//! ```

pub mod derive;
mod error;
pub mod request;
mod run;
pub mod token;

pub use error::LookupError;
pub use request::{Attribute, AttributeKey, Lookup};
pub use run::{Table, cursor, filter, lookup, username};
pub use token::{Cursor, TokenKey};

/// The operation name in `X-Amz-Target` (after the service prefix).
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
pub const OPERATION: &str = "LookupEvents";
