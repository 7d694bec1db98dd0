//! Every file of the shared corpus: one row per event record, checked against an independent
//! count written here with serde_json alone.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::{count, run, shared_data, sql};

/// Independent reading of one value: how many records it holds, and their eventIDs.
fn records(v: &Value, ids: &mut HashSet<String>) -> u64 {
    match v {
        Value::Array(items) => items.iter().map(|i| records(i, ids)).sum(),
        Value::Object(map) => {
            let time = map.get("eventTime").or_else(|| map.get("eventtime"));
            if let Some(t) = time.and_then(Value::as_str) {
                if chrono::DateTime::parse_from_rfc3339(t).is_err()
                    && chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_err()
                {
                    return 0;
                }
                if let Some(id) = map
                    .get("eventID")
                    .or_else(|| map.get("eventid"))
                    .and_then(Value::as_str)
                {
                    ids.insert(id.to_string());
                }
                return 1;
            }
            if let Some(inner) = map.get("CloudTrailEvent").and_then(Value::as_str) {
                return serde_json::from_str(inner)
                    .map(|v: Value| records(&v, ids))
                    .unwrap_or(0);
            }
            map.get("Records")
                .or_else(|| map.get("Events"))
                .map(|r| records(r, ids))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

#[allow(clippy::disallowed_methods)] // the corpus is small and trusted: this is the test's own reader
fn independent_count(dir: &Path) -> (u64, u64) {
    let mut ids = HashSet::new();
    let mut n = 0;
    for entry in walkdir(dir) {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let logish = [".json", ".json.gz", ".log", ".jsonl", ".ndjson"]
            .iter()
            .any(|e| name.ends_with(e));
        if !logish {
            continue;
        }
        let raw = std::fs::read(&entry).expect("read");
        let text = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_string(&mut s)
                .expect("gunzip");
            s
        } else {
            String::from_utf8_lossy(&raw).into_owned()
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => n += records(&v, &mut ids),
            Err(_) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    if let Ok(v) = serde_json::from_str::<Value>(line) {
                        n += records(&v, &mut ids);
                    }
                }
            }
        }
    }
    (n, ids.len() as u64)
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

#[test]
fn shared_corpus_gives_one_row_per_record_and_reingest_adds_nothing() {
    let Some(corpus) = shared_data() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let geo = corpus.join("maxmind-geoip-test");
    let city = geo.join("GeoLite2-City-Test.mmdb");
    let asn = geo.join("GeoLite2-ASN-Test.mmdb");
    let corpus_s = corpus.to_string_lossy().to_string();
    let args = [
        "--geoip-db",
        city.to_str().expect("utf8"),
        "--asn-db",
        asn.to_str().expect("utf8"),
        "ingest",
        "--json",
        corpus_s.as_str(),
    ];
    let out = run(&data, &args);
    // Non-CloudTrail JSON (rule tests, expected outputs, API models) is quarantined: exit 3.
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("report json");

    let (rows, distinct) = count(&data);
    let (expected_rows, expected_distinct) = independent_count(&corpus);
    assert_eq!((rows, distinct), (expected_rows, expected_distinct));
    // About 380 records in the shapes of the issue (Panther test wrappers are not CloudTrail).
    assert!(rows > 350, "only {rows} rows");
    assert_eq!(report["events_ingested"].as_u64(), Some(rows));
    assert!(report["files_skipped_not_logs"].as_u64().unwrap_or(0) > 100, "{report}");
    assert!(
        report["digest_records"].as_u64().unwrap_or(0) >= 2,
        "digests are counted, not rows: {report}"
    );

    // Digest files are not rows; Insights events are, with their details.
    let digest_rows = sql(
        &data,
        "SELECT count(*) AS n FROM cloudtrail WHERE rawevent LIKE '%digestStartTime%'",
    );
    assert_eq!(digest_rows[0]["n"], 0);
    let insights = sql(
        &data,
        "SELECT count(*) AS n FROM cloudtrail WHERE eventtype = 'AwsCloudTrailInsight' AND insightdetails IS NOT NULL",
    );
    assert!(insights[0]["n"].as_u64().unwrap_or(0) >= 2, "{insights:?}");
    // GeoIP from the MaxMind test databases, with the Logstash-style tag.
    let geo_rows = sql(
        &data,
        "SELECT geoip.city_name AS city, geoip.asn AS asn, tags FROM cloudtrail WHERE sourceipaddress = '89.160.20.156' LIMIT 1",
    );
    assert_eq!(geo_rows[0]["city"], "Linköping");
    assert_eq!(geo_rows[0]["asn"], 29518);
    assert_eq!(geo_rows[0]["tags"], serde_json::json!(["cloudtrail-geoip"]));

    // Quarantine lists what was not CloudTrail, with reasons.
    let q = run(&data, &["quarantine", "--format", "json"]);
    let entries: Vec<Value> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert!(
        entries.iter().any(|e| e["object"]
            .as_str()
            .unwrap_or_default()
            .ends_with("panther_cloudtrail_tests.ndjson")
            && e["reason"].as_str().unwrap_or_default().contains("not CloudTrail")),
        "{entries:?}"
    );

    // Again: nothing new.
    let again = run(&data, &["ingest", "--json", corpus_s.as_str()]);
    let report2: Value = serde_json::from_slice(&again.stdout).expect("report json");
    assert_eq!(report2["events_ingested"], 0, "{report2}");
    assert!(
        report2["files_already_ingested"].as_u64().unwrap_or(0) > 50,
        "{report2}"
    );
    assert_eq!(count(&data), (rows, distinct));
}

#[test]
fn fixtures_of_every_shape_ingest_cleanly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let fixtures = crate::fixtures();
    let out = run(&data, &["ingest", "--json", fixtures.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let by_file = sql(
        &data,
        "SELECT regexp_replace(sourceobject, '.*/fixtures/', '') AS f, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 1",
    );
    let got: Vec<(String, u64)> = by_file
        .iter()
        .map(|r| {
            (
                r["f"].as_str().unwrap_or_default().to_string(),
                r["n"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expect = |name: &str| got.iter().find(|(f, _)| f == name).map(|(_, n)| *n);
    assert_eq!(
        expect("trailscraper/111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz"),
        Some(2),
        "{got:?}"
    );
    assert_eq!(expect("trailscraper/events-for-smoke-test.json"), Some(3), "{got:?}");
    assert_eq!(expect("plaso/aws_cloudtrail.jsonl"), Some(6), "{got:?}");
    assert_eq!(expect("aws-docs/view-insights-events-cli.01.json"), Some(2), "{got:?}");
    assert_eq!(
        expect("aws-docs/cloudtrail-log-file-validation-digest-file-structure.01.json"),
        None,
        "digest is not rows"
    );
    // The LookupEvents shape keeps the embedded event as the original.
    let plaso = sql(
        &data,
        "SELECT rawevent FROM cloudtrail WHERE sourceobject LIKE '%plaso%' LIMIT 1",
    );
    let raw: Value = serde_json::from_str(plaso[0]["rawevent"].as_str().expect("raw")).expect("raw json");
    assert!(raw.get("eventVersion").is_some() && raw.get("CloudTrailEvent").is_none());
    // Athena-style queries run unchanged.
    let athena = sql(
        &data,
        "SELECT useridentity.arn AS arn, eventname FROM cloudtrail WHERE eventsource = 'ecs.amazonaws.com' ORDER BY eventtime",
    );
    assert_eq!(athena.len(), 2, "{athena:?}");
}

/// Object stores percent-encode some characters of keys; a table in a folder whose name has
/// them (spaces, `~`, `%`, brackets) is still read file by file.
#[test]
fn a_data_directory_with_odd_characters_is_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("my data ~ 100% [x]");
    run(&data, &["ingest", &crate::fixtures().join("plaso").to_string_lossy()]);
    assert_eq!(count(&data), (6, 6));
    let rows = sql(&data, "SELECT eventname FROM cloudtrail ORDER BY eventtime LIMIT 1");
    assert!(rows[0]["eventname"].is_string(), "{rows:?}");
}
