//! Bad input never stops the rest and is never silently dropped.

use std::io::Write;

use serde_json::Value;

use crate::{count, fixtures, run};

#[test]
fn every_kind_of_bad_input_is_reported_and_the_rest_ingested() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("input");
    std::fs::create_dir_all(&input).expect("mkdir");
    let good = std::fs::read(fixtures().join("trailscraper/events-for-smoke-test.json")).expect("fixture");
    std::fs::write(input.join("a-good.json"), &good).expect("write");
    let gz = std::fs::read(
        fixtures().join("trailscraper/111111111111_CloudTrail_eu-central-1_20171211T1505Z_A6kvhMoVeCsc7v8U.json.gz"),
    )
    .expect("fixture");
    std::fs::write(input.join("b-truncated.json.gz"), &gz[..gz.len() / 2]).expect("write");
    std::fs::write(
        input.join("c-invalid.json"),
        b"{\"Records\": [ {\"eventTime\": \"2020-01-01T00:00:00Z\" ",
    )
    .expect("write");
    // Three records, the middle one malformed.
    let mixed = concat!(
        "{\"eventTime\":\"2020-01-01T00:00:00Z\",\"eventName\":\"A\",\"eventID\":\"m1\"}\n",
        "{\"eventTime\":\"not a time\",\"eventName\":\"B\",\"eventID\":\"m2\"}\n",
        "{\"eventTime\":\"2020-01-01T00:00:02Z\",\"eventName\":\"C\",\"eventID\":\"m3\"}\n",
    );
    std::fs::write(input.join("d-mixed.log"), mixed).expect("write");
    std::fs::write(
        input.join("e-not-cloudtrail.json"),
        b"{\"name\": \"package.json\", \"version\": \"1.0.0\"}",
    )
    .expect("write");
    std::fs::write(input.join("f-empty.json"), b"").expect("write");
    std::fs::write(input.join("README.md"), b"# not a log").expect("write");
    // A gzip bomb in miniature: 2 MB of spaces, over the cap we set below.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&vec![b' '; 2 << 20]).expect("gz");
    std::fs::write(input.join("g-over-cap.json.gz"), enc.finish().expect("gz")).expect("write");

    let data = tmp.path().join("data");
    let out = run(
        &data,
        &[
            "ingest",
            "--json",
            "--max-object-bytes",
            "1000000",
            input.to_str().expect("utf8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "quarantine means exit 3: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["events_ingested"], 3 + 2, "{report}");
    assert_eq!(report["files_skipped_not_logs"], 1, "{report}");
    assert_eq!(count(&data).0, 5);

    let q = run(&data, &["quarantine", "--format", "json"]);
    let entries: Vec<Value> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let reason = |file: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e["object"].as_str().unwrap_or_default().ends_with(file))
            .map(|e| {
                format!(
                    "{} @{} {}",
                    e["record"],
                    e["byte_offset"],
                    e["reason"].as_str().unwrap_or_default()
                )
            })
            .collect()
    };
    let has = |file: &str, needle: &str| {
        let r = reason(file);
        assert!(
            r.iter().any(|x| x.contains(needle)),
            "{file}: expected {needle:?} in {r:?}"
        );
    };
    has("b-truncated.json.gz", "gzip");
    has("c-invalid.json", "ended inside a JSON value");
    has("d-mixed.log", "eventTime");
    has("d-mixed.log", "\"1\"");
    has("e-not-cloudtrail.json", "not CloudTrail");
    has("f-empty.json", "empty");
    has("g-over-cap.json.gz", "cap");
    assert!(reason("README.md").is_empty(), "README is skipped, not quarantined");
}
