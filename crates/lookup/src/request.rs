//! A LookupEvents request as the AWS CLI and SDKs send it, checked once into a [`Lookup`].
//!
//! Field names, limits and error codes follow the botocore model of CloudTrail 2013-11-01.
//! Deliberate differences from AWS (documented in `docs/lookup-events.md`): no 90-day window
//! (without `StartTime` all history is searched) and several attributes may be given, all of
//! which must match (AWS allows one).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::LookupError;

/// The longest attribute value AWS accepts.
pub const MAX_VALUE_CHARS: usize = 2000;
pub const MAX_RESULTS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeKey {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl AttributeKey {
    pub const ALL: [AttributeKey; 8] = [
        AttributeKey::EventId,
        AttributeKey::EventName,
        AttributeKey::ReadOnly,
        AttributeKey::Username,
        AttributeKey::ResourceType,
        AttributeKey::ResourceName,
        AttributeKey::EventSource,
        AttributeKey::AccessKeyId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AttributeKey::EventId => "EventId",
            AttributeKey::EventName => "EventName",
            AttributeKey::ReadOnly => "ReadOnly",
            AttributeKey::Username => "Username",
            AttributeKey::ResourceType => "ResourceType",
            AttributeKey::ResourceName => "ResourceName",
            AttributeKey::EventSource => "EventSource",
            AttributeKey::AccessKeyId => "AccessKeyId",
        }
    }

    fn parse(text: &str) -> Option<AttributeKey> {
        AttributeKey::ALL.into_iter().find(|k| k.name() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub key: AttributeKey,
    pub value: String,
}

/// A checked request. `next_token` is still the client's text: it is opened against the
/// request it came with ([`crate::token`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub attributes: Vec<Attribute>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub insight: bool,
    pub max_results: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Wire {
    lookup_attributes: Option<Vec<WireAttribute>>,
    start_time: Option<serde_json::Number>,
    end_time: Option<serde_json::Number>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireAttribute {
    attribute_key: Option<String>,
    attribute_value: Option<String>,
}

/// Epoch seconds (what the CLI and SDKs send; fractions allowed) as a UTC time.
fn epoch(n: &serde_json::Number, what: &str) -> Result<DateTime<Utc>, LookupError> {
    let seconds = n
        .as_f64()
        .filter(|s| s.is_finite())
        .ok_or_else(|| LookupError::InvalidTimeRange(format!("{what} {n} is not a time in seconds since 1970")))?;
    let micros = (seconds * 1e6).round();
    if !(-6.2e16..=2.5e17).contains(&micros) {
        return Err(LookupError::InvalidTimeRange(format!("{what} {n} is out of range")));
    }
    DateTime::from_timestamp_micros(micros as i64)
        .ok_or_else(|| LookupError::InvalidTimeRange(format!("{what} {n} is out of range")))
}

impl Lookup {
    /// Parses and checks a request body (`application/x-amz-json-1.1`).
    pub fn from_json(body: &[u8]) -> Result<Lookup, LookupError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            body
        };
        let wire: Wire = serde_json::from_slice(body)
            .map_err(|e| LookupError::Serialization(format!("cannot read the request: {e}")))?;
        let mut attributes = Vec::new();
        for a in wire.lookup_attributes.unwrap_or_default() {
            let key_text = a.attribute_key.unwrap_or_default();
            let key = AttributeKey::parse(&key_text).ok_or_else(|| {
                LookupError::InvalidLookupAttributes(format!(
                    "AttributeKey '{key_text}' is not one of: {}",
                    AttributeKey::ALL.map(AttributeKey::name).join(", ")
                ))
            })?;
            let value = a.attribute_value.unwrap_or_default();
            if value.is_empty() {
                return Err(LookupError::InvalidLookupAttributes(format!(
                    "AttributeValue for {} must not be empty",
                    key.name()
                )));
            }
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(LookupError::InvalidLookupAttributes(format!(
                    "AttributeValue for {} is longer than {MAX_VALUE_CHARS} characters",
                    key.name()
                )));
            }
            if key == AttributeKey::ReadOnly && value != "true" && value != "false" {
                return Err(LookupError::InvalidLookupAttributes(format!(
                    "AttributeValue for ReadOnly must be 'true' or 'false', not '{value}'"
                )));
            }
            attributes.push(Attribute { key, value });
        }
        let insight = match wire.event_category.as_deref() {
            None => false,
            Some("insight") => true,
            Some(other) => {
                return Err(LookupError::InvalidEventCategory(format!(
                    "EventCategory '{other}' is not valid; the only value is 'insight'"
                )));
            }
        };
        if insight
            && let Some(a) = attributes.iter().find(|a| {
                !matches!(
                    a.key,
                    AttributeKey::EventId | AttributeKey::EventName | AttributeKey::EventSource
                )
            })
        {
            return Err(LookupError::InvalidLookupAttributes(format!(
                "Insights events can be looked up by EventId, EventName or EventSource, not {}",
                a.key.name()
            )));
        }
        let max_results = match wire.max_results {
            None => MAX_RESULTS,
            Some(n) if (1..=MAX_RESULTS as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(LookupError::InvalidMaxResults(format!(
                    "MaxResults must be between 1 and {MAX_RESULTS}, not {n}"
                )));
            }
        };
        let start = wire.start_time.as_ref().map(|n| epoch(n, "StartTime")).transpose()?;
        let end = wire.end_time.as_ref().map(|n| epoch(n, "EndTime")).transpose()?;
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return Err(LookupError::InvalidTimeRange(format!(
                "StartTime {} is after EndTime {}",
                s.to_rfc3339(),
                e.to_rfc3339()
            )));
        }
        Ok(Lookup {
            attributes,
            start,
            end,
            insight,
            max_results,
            next_token: wire.next_token.filter(|t| !t.is_empty()),
        })
    }

    /// The parts a token is bound to: everything but the page size and the token itself.
    pub(crate) fn fingerprint(&self) -> String {
        let mut parts: Vec<String> = self
            .attributes
            .iter()
            .map(|a| format!("{}={}", a.key.name(), a.value))
            .collect();
        parts.sort();
        parts.push(format!("start={:?}", self.start.map(|t| t.timestamp_micros())));
        parts.push(format!("end={:?}", self.end.map(|t| t.timestamp_micros())));
        parts.push(format!("insight={}", self.insight));
        parts.join("\u{0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        match Lookup::from_json(body.as_bytes()) {
            Ok(l) => panic!("accepted {body}: {l:?}"),
            Err(e) => format!("{}: {e}", e.code()),
        }
    }

    #[test]
    fn reads_what_the_cli_sends() {
        let l = Lookup::from_json(
            br#"{"LookupAttributes":[{"AttributeKey":"ResourceName","AttributeValue":"ecs"}],"StartTime":1424476529,"EndTime":1424476530.5,"MaxResults":5}"#,
        )
        .expect("valid");
        assert_eq!(
            l.attributes,
            vec![Attribute {
                key: AttributeKey::ResourceName,
                value: "ecs".into()
            }]
        );
        assert_eq!(
            l.start.map(|t| t.to_rfc3339()),
            Some("2015-02-20T23:55:29+00:00".into())
        );
        assert_eq!(l.end.map(|t| t.timestamp_micros()), Some(1_424_476_530_500_000));
        assert_eq!(l.max_results, 5);
        assert!(!l.insight);
        let empty = Lookup::from_json(b"").expect("an empty body is an empty request");
        assert_eq!(empty.max_results, 50);
        assert!(empty.attributes.is_empty());
    }

    #[test]
    fn refuses_what_aws_refuses() {
        assert!(
            err(r#"{"LookupAttributes":[{"AttributeKey":"Color","AttributeValue":"x"}]}"#)
                .starts_with("InvalidLookupAttributesException: AttributeKey 'Color' is not one of: EventId,")
        );
        assert!(
            err(r#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":""}]}"#)
                .starts_with("InvalidLookupAttributesException")
        );
        assert!(
            err(r#"{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"yes"}]}"#)
                .starts_with("InvalidLookupAttributesException")
        );
        let long = "x".repeat(2001);
        assert!(
            err(&format!(
                r#"{{"LookupAttributes":[{{"AttributeKey":"EventName","AttributeValue":"{long}"}}]}}"#
            ))
            .starts_with("InvalidLookupAttributesException")
        );
        assert!(err(r#"{"MaxResults":51}"#).starts_with("InvalidMaxResultsException"));
        assert!(err(r#"{"MaxResults":0}"#).starts_with("InvalidMaxResultsException"));
        assert!(err(r#"{"StartTime":20,"EndTime":10}"#).starts_with("InvalidTimeRangeException"));
        assert!(err(r#"{"StartTime":1e300}"#).starts_with("InvalidTimeRangeException"));
        assert!(err(r#"{"EventCategory":"data"}"#).starts_with("InvalidEventCategoryException"));
        assert!(
            err(r#"{"EventCategory":"insight","LookupAttributes":[{"AttributeKey":"Username","AttributeValue":"x"}]}"#)
                .starts_with("InvalidLookupAttributesException")
        );
        assert!(err(r#"{"MaxResults":"ten"}"#).starts_with("SerializationException"));
    }

    #[test]
    fn fingerprint_ignores_page_size_and_attribute_order() {
        let a = Lookup::from_json(br#"{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"A"},{"AttributeKey":"EventSource","AttributeValue":"B"}],"MaxResults":5}"#).expect("valid");
        let b = Lookup::from_json(br#"{"LookupAttributes":[{"AttributeKey":"EventSource","AttributeValue":"B"},{"AttributeKey":"EventName","AttributeValue":"A"}],"MaxResults":7}"#).expect("valid");
        let c = Lookup::from_json(br#"{"LookupAttributes":[{"AttributeKey":"EventSource","AttributeValue":"B"}]}"#)
            .expect("valid");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
