//! Our rows vs Elastic's expected documents for the fields that correspond.

use serde_json::Value;
use trailscope_cloudtrail::{EventBatchBuilder, Limits, ObjectParser, Source};
use trailscope_enrich::{Enricher, GeoIp};

use crate::shared_data;

/// Parses and enriches one record, returning the row as JSON.
fn row(enricher: &mut Enricher, original: &str) -> Value {
    let parser = ObjectParser {
        limits: Limits::default(),
        flush_rows: 1000,
    };
    let mut b = EventBatchBuilder::with_capacity(4);
    let src = Source {
        name: "golden",
        id: "golden",
    };
    let summary = parser
        .parse(original.as_bytes(), &src, &mut b, &mut |_| Ok::<(), ()>(()))
        .expect("no sink error");
    assert_eq!(summary.events, 1, "{original}: {summary:?}");
    let batch = enricher.enrich(&b.finish().expect("batch")).expect("enrich");
    let mut buf = Vec::new();
    let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
    w.write(&batch).expect("json");
    w.finish().expect("json");
    serde_json::from_slice(&buf).expect("row json")
}

/// Elastic drops empty strings; so does this comparison.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| v.as_str() != Some(""))
}

fn get<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    // Elastic documents nest by dots; some keys also contain dots, so try both.
    if let Some(v) = doc.get(dotted) {
        return Some(v);
    }
    let mut cur = doc;
    for part in dotted.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

#[test]
fn rows_match_elastic_expected_documents() {
    let Some(data) = shared_data() else { return };
    let geo = data.join("maxmind-geoip-test");
    let db = GeoIp::open(
        &[geo.join("GeoLite2-City-Test.mmdb")],
        Some(&geo.join("GeoLite2-ASN-Test.mmdb")),
    )
    .expect("test dbs");
    let mut enricher = Enricher::new(Some(db));
    let mut compared = 0;
    let mut geo_compared = 0;
    for dir in [
        "elastic-integrations/pipeline-tests",
        "elastic-beats/filebeat-module-tests",
    ] {
        let mut files: Vec<_> = std::fs::read_dir(data.join(dir))
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for path in files
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with("-expected.json"))
        {
            let expected: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            // elastic/integrations wraps documents in {"expected": […]}; filebeat writes a bare array.
            let docs = expected
                .get("expected")
                .unwrap_or(&expected)
                .as_array()
                .expect("expected array");
            for doc in docs {
                let original = get(doc, "event.original")
                    .and_then(Value::as_str)
                    .expect("event.original");
                let r = row(&mut enricher, original);
                let what = format!(
                    "{} / {}",
                    path.display(),
                    get(doc, "event.id").map(Value::to_string).unwrap_or_default()
                );
                let ts = get(doc, "@timestamp").and_then(Value::as_str).expect("timestamp");
                // Elastic writes "…T15:49:27.000Z"; Arrow's JSON writer "…T15:49:27Z" or with fraction.
                let ours = r["eventtime"].as_str().expect("eventtime");
                assert_eq!(
                    ours.trim_end_matches('Z').trim_end_matches(".000"),
                    ts.trim_end_matches('Z').trim_end_matches(".000"),
                    "{what}"
                );
                for (theirs, ours) in [
                    ("event.action", "eventname"),
                    ("event.provider", "eventsource"),
                    ("cloud.region", "awsregion"),
                    ("event.id", "eventid"),
                    ("source.address", "sourceipaddress"),
                    ("aws.cloudtrail.error_code", "errorcode"),
                ] {
                    assert_eq!(get(doc, theirs), present(r.get(ours)), "{what}: {theirs} vs {ours}");
                }
                for (theirs, ours) in [
                    ("aws.cloudtrail.user_identity.arn", "arn"),
                    ("aws.cloudtrail.user_identity.type", "type"),
                ] {
                    assert_eq!(
                        get(doc, theirs),
                        present(r["useridentity"].get(ours)),
                        "{what}: {theirs}"
                    );
                }
                // Geo: wherever Elastic found a location, we find the same one.
                if let Some(city) = get(doc, "source.geo.city_name") {
                    let g = &r["geoip"];
                    assert_eq!(Some(city), g.get("city_name"), "{what}");
                    assert_eq!(
                        get(doc, "source.geo.country_iso_code"),
                        g.get("country_code2"),
                        "{what}"
                    );
                    assert_eq!(get(doc, "source.geo.country_name"), g.get("country_name"), "{what}");
                    assert_eq!(get(doc, "source.geo.region_name"), g.get("region_name"), "{what}");
                    assert_eq!(get(doc, "source.geo.location.lat"), g["location"].get("lat"), "{what}");
                    assert_eq!(get(doc, "source.geo.location.lon"), g["location"].get("lon"), "{what}");
                    assert_eq!(get(doc, "source.as.number"), g.get("asn"), "{what}");
                    assert_eq!(get(doc, "source.as.organization.name"), g.get("as_org"), "{what}");
                    assert_eq!(r["tags"], serde_json::json!(["cloudtrail-geoip"]), "{what}");
                    geo_compared += 1;
                }
                if get(doc, "source.ip").is_none() && !r["geoip"].is_null() {
                    // Only the documented quirk: Elastic skips 81.2.69.142 although the test DB has it.
                    assert_eq!(
                        r["sourceipaddress"], "81.2.69.142",
                        "{what}: we found geo where Elastic had no IP"
                    );
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 9, "compared only {compared} documents");
    assert!(geo_compared >= 2, "compared geo of only {geo_compared} documents");
}
