//! What an SQS message says about new log objects, as pure functions on its body:
//!
//! - S3 event notifications (`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
//!   "s3":{"bucket":{"name"},"object":{"key","size","eTag"}}}]}`), whose keys are URL-encoded
//!   with `+` for spaces;
//! - S3's `s3:TestEvent`, sent when a notification is configured;
//! - CloudTrail's own notifications (`{"s3Bucket":"…","s3ObjectKey":["…"]}`);
//! - EventBridge's "Object Created" events;
//! - any of these wrapped in an SNS notification (`{"Type":"Notification","Message":"…"}`).

use percent_encoding::percent_decode_str;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// Known from S3 events; CloudTrail's notifications give keys only.
    pub size: Option<u64>,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Objects(Vec<ObjectRef>),
    /// Nothing to ingest (a test event, a deletion): acknowledged with this reason.
    Ignore(String),
}

/// Reads one message body; an error says why it is not a notification this source reads.
pub fn parse(body: &str) -> Result<Notice, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
    parse_value(&v, 0)
}

fn parse_value(v: &Value, depth: u8) -> Result<Notice, String> {
    // SNS wraps the publisher's message, as text, in its own envelope.
    if v.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(inner) = v.get("Message").and_then(Value::as_str)
        && depth < 2
    {
        let inner: Value =
            serde_json::from_str(inner).map_err(|e| format!("an SNS notification whose Message is not JSON ({e})"))?;
        return parse_value(&inner, depth + 1);
    }
    if let Some(event) = v.get("Event").and_then(Value::as_str) {
        return Ok(Notice::Ignore(format!(
            "{event} (sent when a notification is configured)"
        )));
    }
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        return s3_records(records);
    }
    if let (Some(bucket), Some(keys)) = (
        v.get("s3Bucket").and_then(Value::as_str),
        v.get("s3ObjectKey").and_then(Value::as_array),
    ) {
        let objects = keys
            .iter()
            .filter_map(Value::as_str)
            .map(|key| ObjectRef {
                bucket: bucket.to_string(),
                key: key.to_string(),
                size: None,
                etag: None,
            })
            .collect();
        return Ok(Notice::Objects(objects));
    }
    if v.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let kind = v.get("detail-type").and_then(Value::as_str).unwrap_or_default();
        if kind != "Object Created" {
            return Ok(Notice::Ignore(format!("EventBridge '{kind}' event")));
        }
        let detail = &v["detail"];
        let bucket = detail["bucket"]["name"].as_str();
        let key = detail["object"]["key"].as_str();
        let (Some(bucket), Some(key)) = (bucket, key) else {
            return Err("an EventBridge S3 event without detail.bucket.name and detail.object.key".into());
        };
        return Ok(Notice::Objects(vec![ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            size: detail["object"]["size"].as_u64(),
            etag: detail["object"]["etag"].as_str().map(str::to_string),
        }]));
    }
    let excerpt: String = v.to_string().chars().take(200).collect();
    Err(format!(
        "neither an S3 event notification, nor CloudTrail's, nor an SNS envelope of one: {excerpt}"
    ))
}

fn s3_records(records: &[Value]) -> Result<Notice, String> {
    let mut objects = Vec::new();
    let mut ignored = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let name = r.get("eventName").and_then(Value::as_str).unwrap_or_default();
        if !name.starts_with("ObjectCreated:") {
            ignored.push(name.to_string());
            continue;
        }
        let bucket = r["s3"]["bucket"]["name"].as_str();
        let key = r["s3"]["object"]["key"].as_str();
        let (Some(bucket), Some(key)) = (bucket, key) else {
            return Err(format!("record {i} has no s3.bucket.name or s3.object.key"));
        };
        objects.push(ObjectRef {
            bucket: bucket.to_string(),
            key: decode_key(key)?,
            size: r["s3"]["object"]["size"].as_u64(),
            etag: r["s3"]["object"]["eTag"]
                .as_str()
                .map(|e| format!("\"{}\"", e.trim_matches('"'))),
        });
    }
    if objects.is_empty() {
        return Ok(Notice::Ignore(format!("no object created ({})", ignored.join(", "))));
    }
    Ok(Notice::Objects(objects))
}

/// S3 event keys are URL-encoded, with `+` for a space.
fn decode_key(key: &str) -> Result<String, String> {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("the key {key:?} is not URL-encoded UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bucket: &str, key: &str, size: Option<u64>, etag: Option<&str>) -> Notice {
        Notice::Objects(vec![ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            size,
            etag: etag.map(str::to_string),
        }])
    }

    #[test]
    fn s3_events_direct_and_through_sns() {
        let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/CloudTrail/us-east-1/2024/01/01/a+b%3D.json.gz","size":42,"eTag":"99914b932bd37a50b983c5e7c90ae93b"}}}]}"#;
        let want = one(
            "trail",
            "AWSLogs/1/CloudTrail/us-east-1/2024/01/01/a b=.json.gz",
            Some(42),
            Some("\"99914b932bd37a50b983c5e7c90ae93b\""),
        );
        assert_eq!(parse(event), Ok(want.clone()));
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": event}).to_string();
        assert_eq!(parse(&sns), Ok(want));
        // moto encodes the slashes too.
        let slashes = event.replace(
            "AWSLogs/1/CloudTrail/us-east-1/2024/01/01/",
            "AWSLogs%2F1%2FCloudTrail%2Fus-east-1%2F2024%2F01%2F01%2F",
        );
        assert!(matches!(parse(&slashes), Ok(Notice::Objects(o)) if o[0].key.starts_with("AWSLogs/1/CloudTrail/")));
    }

    #[test]
    fn cloudtrail_and_eventbridge_notifications() {
        let ct = r#"{"s3Bucket":"trail","s3ObjectKey":["AWSLogs/1/CloudTrail/us-east-1/2024/01/01/x.json.gz"]}"#;
        let sns = serde_json::json!({"Type": "Notification", "Message": ct}).to_string();
        assert_eq!(
            parse(&sns),
            Ok(one(
                "trail",
                "AWSLogs/1/CloudTrail/us-east-1/2024/01/01/x.json.gz",
                None,
                None
            ))
        );
        let eb = r#"{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"trail"},"object":{"key":"k.json.gz","size":7,"etag":"e"}}}"#;
        assert_eq!(parse(eb), Ok(one("trail", "k.json.gz", Some(7), Some("e"))));
    }

    #[test]
    fn what_is_acknowledged_and_what_is_refused() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00Z","Bucket":"trail"}"#;
        assert!(matches!(parse(test), Ok(Notice::Ignore(r)) if r.contains("s3:TestEvent")));
        let deleted =
            r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"t"},"object":{"key":"k"}}}]}"#;
        assert!(matches!(parse(deleted), Ok(Notice::Ignore(r)) if r.contains("ObjectRemoved:Delete")));
        assert!(parse("hello").is_err_and(|e| e.contains("not JSON")));
        assert!(parse(r#"{"a":1}"#).is_err_and(|e| e.contains("neither an S3 event")));
        let broken = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]}"#;
        assert!(parse(broken).is_err_and(|e| e.contains("record 0")));
    }
}
