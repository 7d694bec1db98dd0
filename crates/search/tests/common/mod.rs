//! A table ingested from the repository's fixtures, and SQL answers to compare with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::prelude::SessionContext;

pub async fn fixture_table(dir: &Path) -> SessionContext {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut lake = trailscope_lake::Lake::open_or_create(&dir.join("cloudtrail"))
        .await
        .expect("create table");
    let mut ingestor = trailscope_ingest::Ingestor {
        lake: &mut lake,
        enricher: trailscope_enrich::Enricher::new(None),
        quarantine: trailscope_ingest::QuarantineLog::new(&dir.join("_trailscope")),
        config: trailscope_ingest::IngestConfig::default(),
        counters: Arc::new(trailscope_ingest::Counters::default()),
    };
    let report = ingestor
        .ingest_paths(&[repo.join("tests/fixtures")])
        .await
        .expect("ingest fixtures");
    assert_eq!(
        report.events_ingested, 19,
        "the fixtures changed; update tests/cases.txt"
    );
    trailscope_search::session(&lake).await.expect("session")
}

/// The first column of the first row of a SQL query, as JSON (`null` when there is no row).
pub async fn sql_value(ctx: &SessionContext, sql: &str) -> Result<serde_json::Value, String> {
    let batches = trailscope_query::sql(ctx, sql).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        let refs: Vec<&arrow::record_batch::RecordBatch> = batches.iter().collect();
        w.write_batches(&refs).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    if buf.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&buf).map_err(|e| e.to_string())?;
    Ok(rows
        .first()
        .and_then(|r| r.values().next().cloned())
        .unwrap_or(serde_json::Value::Null))
}
