//! Queries over the CloudTrail table with Apache DataFusion: a session with the table registered
//! as `cloudtrail`, SQL execution, and result formatting (table, JSON lines, CSV).
//!
//! `cloudtrail` is a view over the stored Delta table `cloudtrail_stored` that adds `rawevent`
//! (rendered on demand from `eventtemplate`); filters and projections pass through it to the scan.

mod rawevent;
mod scan;
mod viewcmp;
mod views;

use std::io::Write;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::config::SessionConfig;
use datafusion::prelude::SessionContext;
use thiserror::Error;
use trailscope_lake::Lake;

/// The table name queries use, as in Athena's CloudTrail examples.
pub const TABLE: &str = "cloudtrail";
/// The Delta table as stored (with `eventtemplate` instead of `rawevent`).
pub const STORED_TABLE: &str = "cloudtrail_stored";

#[derive(Debug, Error)]
pub enum QueryError {
    #[error("{0}")]
    Plan(String),
    #[error("query failed: {0}")]
    Execution(#[source] DataFusionError),
    #[error("cannot format results: {0}")]
    Format(#[source] arrow::error::ArrowError),
    #[error("cannot write results: {0}")]
    Io(#[from] std::io::Error),
}

fn classify(e: DataFusionError) -> QueryError {
    // Errors arrive wrapped (context, diagnostics); what the user did wrong is at the root.
    match e.find_root() {
        DataFusionError::Plan(m) | DataFusionError::SQL(_, Some(m)) => QueryError::Plan(format!("invalid query: {m}")),
        DataFusionError::SchemaError(s, _) => QueryError::Plan(format!("invalid query: {s}")),
        _ => QueryError::Execution(e),
    }
}

/// A DataFusion session over `lake`'s current version.
pub async fn session(lake: &Lake) -> Result<SessionContext, QueryError> {
    let mut config = SessionConfig::new().with_information_schema(true);
    // Row-level filter pushdown into the Parquet scan (the Discover-style query, filter and
    // newest 100, reads 2–3× less this way) is decided per scan (`scan.rs`): on here, it
    // would be forced on every scan.
    config.options_mut().execution.parquet.pushdown_filters = false;
    config.options_mut().execution.parquet.reorder_filters = true;
    config.options_mut().sql_parser.enable_ident_normalization = true;
    let state = datafusion::execution::session_state::SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(viewcmp::ViewEqRule))
        .build();
    let ctx = SessionContext::new_with_state(state);
    let table = lake.table();
    table
        .update_datafusion_session(&ctx.state())
        .map_err(|e| QueryError::Execution(e.into()))?;
    // Read with DataFusion's own Parquet scan (single struct leaves, see scan.rs); through
    // delta-rs if the log cannot be listed that way.
    let provider: Arc<dyn datafusion::catalog::TableProvider> = match scan::LakeFiles::open(lake) {
        Some(files) => {
            files.register_store(&ctx);
            Arc::new(files)
        }
        None => table.table_provider().await.map_err(QueryError::Execution)?,
    };
    ctx.register_table(STORED_TABLE, provider).map_err(classify)?;
    ctx.register_udf(rawevent::udf());
    let view = ctx
        .sql(&rawevent::view_sql(STORED_TABLE))
        .await
        .map_err(classify)?
        .into_view();
    ctx.register_table(TABLE, view).map_err(classify)?;
    Ok(ctx)
}

/// Runs one SQL statement. Only queries are allowed: the table is changed by ingest alone.
pub async fn sql(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
    let options = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx.sql_with_options(sql, options).await.map_err(classify)?;
    df.collect().await.map_err(classify)
}

/// Output formats of `trailscope sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Writes `batches` to `out` in `format`.
pub fn write(batches: &[RecordBatch], format: Format, out: &mut dyn Write) -> Result<(), QueryError> {
    match format {
        Format::Table => {
            let text = arrow::util::pretty::pretty_format_batches(batches).map_err(QueryError::Format)?;
            writeln!(out, "{text}")?;
        }
        Format::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(out);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            w.write_batches(&refs).map_err(QueryError::Format)?;
            w.finish().map_err(QueryError::Format)?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(out);
            for b in batches {
                w.write(&flatten_for_csv(b)?).map_err(QueryError::Format)?;
            }
        }
    }
    Ok(())
}

/// CSV has no nesting: struct and list columns are written as their JSON text.
fn flatten_for_csv(batch: &RecordBatch) -> Result<RecordBatch, QueryError> {
    use arrow::array::{ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(
            f.data_type(),
            DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_) | DataType::Map(_, _)
        ) {
            let one = RecordBatch::try_new(Arc::new(Schema::new(vec![f.as_ref().clone()])), vec![c.clone()])
                .map_err(QueryError::Format)?;
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
                w.write(&one).map_err(QueryError::Format)?;
                w.finish().map_err(QueryError::Format)?;
            }
            let mut b = StringBuilder::new();
            for line in String::from_utf8_lossy(&buf).lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                match v.get(f.name()) {
                    Some(x) if !x.is_null() => b.append_value(x.to_string()),
                    _ => b.append_null(),
                }
            }
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(Arc::new(b.finish()));
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(QueryError::Format)
}
