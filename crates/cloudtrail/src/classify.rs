//! Decides what one JSON element is: a CloudTrail event, a digest, a container of events, or
//! something that is not CloudTrail at all.

use crate::error::RecordError;
use crate::model::RawEvent;
use crate::time::parse_event_time;

/// What an element turned out to be.
#[derive(Debug)]
pub enum Classified<'a> {
    /// A record; `raw` is its exact JSON text and `event_time` its `eventTime` in µs (UTC).
    Event {
        event: Box<RawEvent<'a>>,
        raw: &'a str,
        event_time: i64,
    },
    /// A LookupEvents entry: the record is the embedded JSON string (to be classified again).
    Embedded(String),
    /// An object holding records in `Records` or `Events` below its first member.
    Nested(Vec<&'a str>),
    /// A CloudTrail digest file: not events.
    Digest,
    Rejected(RecordError),
}

/// Classifies one element's bytes.
pub fn classify(bytes: &[u8]) -> Classified<'_> {
    let raw = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => return Classified::Rejected(RecordError::Json(format!("invalid UTF-8: {e}"))),
    };
    if !raw.starts_with('{') {
        return Classified::Rejected(RecordError::NotCloudTrail {
            keys: "(not a JSON object)".into(),
        });
    }
    let event: RawEvent<'_> = match serde_json::from_str(raw) {
        Ok(e) => e,
        Err(e) => return Classified::Rejected(RecordError::Json(e.to_string())),
    };
    if let Some(t) = &event.event_time {
        return match parse_event_time(t.as_str()) {
            Some(event_time) => Classified::Event {
                event: Box::new(event),
                raw,
                event_time,
            },
            None => Classified::Rejected(RecordError::InvalidField {
                field: "eventTime",
                value: t.as_str().to_string(),
            }),
        };
    }
    if let Some(embedded) = event.cloudtrail_event {
        return Classified::Embedded(embedded.0.into_owned());
    }
    if event.digest_start_time.is_some() {
        return Classified::Digest;
    }
    if let Some(list) = event.records.or(event.events) {
        return Classified::Nested(list.into_iter().map(|v| v.get()).collect());
    }
    if event.event_name.is_some()
        || event.event_source.is_some()
        || event.event_id.is_some()
        || event.event_version.is_some()
        || event.user_identity.is_some()
    {
        return Classified::Rejected(RecordError::MissingField("eventTime"));
    }
    Classified::Rejected(RecordError::NotCloudTrail { keys: top_keys(raw) })
}

/// The first few keys of a JSON object, in document order, for messages.
fn top_keys(raw: &str) -> String {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw).unwrap_or_default();
    let mut keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
    if map.len() > keys.len() {
        keys.push("…");
    }
    if keys.is_empty() {
        "(none)".to_string()
    } else {
        keys.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_digest_embedded_nested_rejected() {
        let ev = br#"{"eventTime":"2020-01-01T00:00:00Z","eventName":"X","readOnly":true}"#;
        match classify(ev) {
            Classified::Event { event, event_time, .. } => {
                assert_eq!(event_time, 1_577_836_800_000_000);
                assert_eq!(event.read_only.map(|t| t.0.into_owned()).as_deref(), Some("true"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(br#"{"digestStartTime":"x","logFiles":[]}"#),
            Classified::Digest
        ));
        match classify(br#"{"EventId":"1","CloudTrailEvent":"{\"eventTime\":\"2020-01-01T00:00:00Z\"}"}"#) {
            Classified::Embedded(s) => assert_eq!(s, r#"{"eventTime":"2020-01-01T00:00:00Z"}"#),
            other => panic!("{other:?}"),
        }
        match classify(br#"{"NextToken":"t","Events":[{"a":1},{"b":2}]}"#) {
            Classified::Nested(v) => assert_eq!(v, vec![r#"{"a":1}"#, r#"{"b":2}"#]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(br#"{"eventName":"X"}"#),
            Classified::Rejected(RecordError::MissingField("eventTime"))
        ));
        assert!(matches!(
            classify(br#"{"eventTime":"soon"}"#),
            Classified::Rejected(RecordError::InvalidField { field: "eventTime", .. })
        ));
        match classify(br#"{"b":1,"a":2}"#) {
            Classified::Rejected(RecordError::NotCloudTrail { keys }) => {
                assert_eq!(keys, "b, a", "keys in document order")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(br#"{"eventTime":"#),
            Classified::Rejected(RecordError::Json(_))
        ));
        assert!(matches!(
            classify(b"[1]"),
            Classified::Rejected(RecordError::NotCloudTrail { .. })
        ));
    }

    #[test]
    fn lowercase_keys_are_accepted() {
        let ev = br#"{"eventtime":"2020-01-01T00:00:00Z","eventname":"X","eventsource":"s3.amazonaws.com"}"#;
        match classify(ev) {
            Classified::Event { event, .. } => {
                assert_eq!(event.event_name.map(|t| t.0.into_owned()).as_deref(), Some("X"))
            }
            other => panic!("{other:?}"),
        }
    }
}
