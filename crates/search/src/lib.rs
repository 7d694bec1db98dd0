//! Search over the CloudTrail table: the query-bar language and an Elasticsearch-compatible
//! query, sort, paging and aggregation subset, all compiled to DataFusion plans over the
//! `cloudtrail` view so partition pruning and Parquet statistics apply.
//!
//! ```text
//! query-bar text ─► trailscope-kql (syntax) ─► compile (fields, types) ─► DataFusion Expr
//! _search JSON ──► dsl / aggs ──────────────────────┘
//! ```

mod aggs;
pub mod compile;
pub mod dates;
pub mod discovery;
mod dsl;
mod error;
pub mod fields;
mod geocells;
mod highlight;
mod hits;
mod needle;
pub mod search;
mod timebuckets;
pub mod udf;
mod viewfold;
pub mod windows;

pub use compile::Compiler;
pub use error::SearchError;
pub use fields::{Catalog, FieldDef, FieldType};
pub use search::{INDEX, Limits, Request, count_rows, search};

/// Compiles an Elasticsearch query object (for `_count` and other callers).
pub fn query_filter(c: &Compiler, query: &serde_json::Value) -> Result<datafusion::prelude::Expr, SearchError> {
    dsl::query(c, query)
}

/// A DataFusion session over the table with the search functions registered.
pub async fn session(
    lake: &trailscope_lake::Lake,
) -> Result<datafusion::prelude::SessionContext, trailscope_query::QueryError> {
    let ctx = trailscope_query::session(lake).await?;
    udf::register(&ctx);
    Ok(ctx)
}
