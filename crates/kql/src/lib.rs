//! The query-bar language: Kibana's KQL plus the Lucene forms people paste into it.
//!
//! [`parse`] turns text into a [`Query`] tree or a [`ParseError`] that says where and what was
//! expected. Meaning (which column a field is, how a value compares) belongs to the caller.

mod ast;
mod parser;

pub use ast::{Bound, Field, Query, Span, Value, WildcardPart};
pub use parser::{ParseError, parse};
