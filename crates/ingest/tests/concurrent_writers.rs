//! Two writers on one table (two processes consuming one queue): each object's rows are
//! committed once, whichever commits first, and a writer that lost the race to a commit holding
//! different objects simply commits after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use trailscope_ingest::{Counters, IngestConfig, IngestReport, Ingestor, QuarantineLog};
use trailscope_lake::Lake;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

async fn ingest(lake: &mut Lake, state: &Path, inputs: &[PathBuf]) -> IngestReport {
    ingest_with(lake, state, inputs, IngestConfig::default()).await
}

async fn ingest_with(lake: &mut Lake, state: &Path, inputs: &[PathBuf], config: IngestConfig) -> IngestReport {
    let mut ingestor = Ingestor {
        lake,
        enricher: trailscope_enrich::Enricher::new(None),
        quarantine: QuarantineLog::new(state),
        config,
        counters: Arc::new(Counters::default()),
    };
    ingestor.ingest_paths(inputs).await.expect("ingest")
}

/// (rows, distinct event ids) of all the fixtures ingested by one writer alone, in `dir`.
async fn single_writer_counts(dir: &Path) -> (i64, i64) {
    let table = dir.join("reference");
    let mut lake = Lake::open_or_create(&table).await.expect("reference");
    ingest(&mut lake, &dir.join("reference-state"), &[fixtures()]).await;
    counts(&table).await
}

/// (rows, distinct event ids) of the table's latest version.
async fn counts(table: &Path) -> (i64, i64) {
    let lake = Lake::open_or_create(table).await.expect("open");
    let ctx = trailscope_query::session(&lake).await.expect("session");
    let batches = trailscope_query::sql(&ctx, "SELECT count(*), count(DISTINCT eventid) FROM cloudtrail")
        .await
        .expect("count");
    let col = |i: usize| {
        batches[0]
            .column(i)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64")
            .value(0)
    };
    (col(0), col(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_lost_the_race_commits_no_object_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let table = tmp.path().join("cloudtrail");
    let state = tmp.path().join("_trailscope");
    // Both open the table before either writes: the second's view of what is done is stale,
    // as a second process's would be.
    let mut first = Lake::open_or_create(&table).await.expect("first");
    let mut second = Lake::open_or_create(&table).await.expect("second");
    let aws_docs = fixtures().join("aws-docs");
    let everything = fixtures();

    let a = ingest(&mut first, &state, std::slice::from_ref(&aws_docs)).await;
    assert!(a.events_ingested > 0, "{a:?}");
    let alone = counts(&table).await;

    // The second writer read the same objects and more; its commit finds the first's objects
    // committed and redoes the group without them.
    let b = ingest(&mut second, &state, std::slice::from_ref(&everything)).await;
    let both = counts(&table).await;
    assert_eq!(
        both,
        single_writer_counts(tmp.path()).await,
        "every event once, as one writer would have it"
    );
    assert_eq!(
        both.0 as u64,
        a.events_ingested + b.events_ingested,
        "the second run counts only what it added: {b:?}"
    );
    assert!(both.0 > alone.0);

    // Again from the first (now stale) handle: nothing new, nothing twice.
    let again = ingest(&mut first, &state, std::slice::from_ref(&everything)).await;
    assert_eq!(again.events_ingested, 0, "{again:?}");
    assert_eq!(counts(&table).await, both);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commit_group_is_checked_against_commits_made_meanwhile() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let table = tmp.path().join("cloudtrail");
    let state = tmp.path().join("_trailscope");
    let mut first = Lake::open_or_create(&table).await.expect("first");
    let mut second = Lake::open_or_create(&table).await.expect("second");
    // The first writer commits the files that come last in the second's run, which commits
    // every file on its own (many groups): its first commits must not excuse its later ones.
    ingest(&mut first, &state, &[fixtures().join("trailscraper")]).await;
    let one_file_per_group = IngestConfig {
        group_bytes: 1,
        ..IngestConfig::default()
    };
    let report = ingest_with(&mut second, &state, &[fixtures()], one_file_per_group).await;
    assert!(report.commits > 2, "many groups: {report:?}");
    assert_eq!(
        counts(&table).await,
        single_writer_counts(tmp.path()).await,
        "every event once"
    );
}
