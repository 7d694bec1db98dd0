//! A source as configured (`[[sources]]` in trailscope.toml), validated into a [`Source`].
//! Secrets live only in [`Secret`], whose `Debug` and serialisation never show them.

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use trailscope_s3::{Connection, S3Url, mask_key_id};

use crate::SourceError;

/// A secret string: usable, but never printed, logged or serialised.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"****\"")
    }
}

/// `[[sources]]` of trailscope.toml.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Names the source in status, metrics and the state file: letters, digits, `-` and `_`.
    pub name: String,
    /// `s3://bucket/prefix`, e.g. `s3://my-trail/AWSLogs/011173820421/CloudTrail/`.
    pub url: String,
    pub region: Option<String>,
    /// An S3-compatible endpoint (path-style requests).
    pub endpoint_url: Option<String>,
    /// Without these, the standard AWS chain is used (environment, web identity, metadata).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    /// Seconds between polls (default 60).
    pub poll_interval_secs: Option<f64>,
    /// Ignore days before this one (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Days (today included) whose folders are listed again on every poll, for late deliveries
    /// (default 2).
    pub revisit_days: Option<u32>,
    /// Polls an object may fail on before it is quarantined (default 5).
    pub max_attempts: Option<u32>,
    /// Objects fetched at once (default 16).
    pub fetch_concurrency: Option<usize>,
    /// SQS mode: the queue receiving the bucket's notifications (S3 events, directly or through
    /// SNS, or CloudTrail's own). The source then reads what they name instead of listing.
    pub sqs_queue_url: Option<String>,
    /// The SQS endpoint (default: from the queue URL when it is not AWS's, else AWS's for the
    /// region; `AWS_ENDPOINT_URL_SQS` also works).
    pub sqs_endpoint_url: Option<String>,
    /// Seconds a received message stays invisible to other consumers, extended while its
    /// objects are read (default 300).
    pub visibility_timeout_secs: Option<u32>,
    /// Deliveries of a message that keeps failing before it is quarantined (default 5).
    pub max_receives: Option<u32>,
    /// Seconds a receive waits for a first message (long polling, 0–20, default 10).
    pub wait_secs: Option<u32>,
}

/// SQS mode's settings, validated.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub url: String,
    pub endpoint: Option<String>,
    /// The queue's region, from its URL (`sqs.<region>.amazonaws.com`): it may differ from the
    /// bucket's.
    pub region: Option<String>,
    pub visibility: Duration,
    pub wait: Duration,
    pub max_receives: u32,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("access_key_id", &self.access_key_id.as_deref().map(mask_key_id))
            .finish_non_exhaustive()
    }
}

/// A validated source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub url: S3Url,
    pub connection: Connection,
    pub interval: Duration,
    pub since: Option<NaiveDate>,
    pub revisit_days: u32,
    pub max_attempts: u32,
    pub fetch_concurrency: usize,
    pub queue: Option<QueueSettings>,
}

/// What the API and `trailscope sources` show of a source's settings: no secret, and only the
/// last four characters of the access key id.
#[derive(Debug, Clone, Serialize)]
pub struct PublicSettings {
    pub url: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub access_key_id: Option<String>,
    pub credentials: &'static str,
    pub poll_interval_secs: f64,
    pub since: Option<String>,
    pub revisit_days: u32,
    pub max_attempts: u32,
    /// SQS mode's queue.
    pub sqs_queue_url: Option<String>,
}

impl SourceConfig {
    pub fn validate(&self) -> Result<Source, SourceError> {
        let invalid = |message: String| SourceError::Config {
            source_name: self.name.clone(),
            message,
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(invalid("name must be 1–64 letters, digits, '-' or '_'".into()));
        }
        let url = S3Url::parse(&self.url).map_err(|e| invalid(e.to_string()))?;
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(invalid(
                "give both access_key_id and secret_access_key, or neither (to use the standard AWS chain)".into(),
            ));
        }
        let queue = self.queue(&invalid)?;
        // A receive waits for messages itself, so an SQS source polls again at once.
        let interval = self
            .poll_interval_secs
            .unwrap_or(if queue.is_some() { 0.2 } else { 60.0 });
        let interval = Duration::try_from_secs_f64(interval)
            .ok()
            .filter(|d| *d >= Duration::from_millis(100))
            .ok_or_else(|| invalid(format!("poll_interval_secs = {interval}: give at least 0.1 seconds")))?;
        let since = self
            .since
            .as_deref()
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| invalid(format!("since = \"{s}\": write a date as YYYY-MM-DD")))
            })
            .transpose()?;
        Ok(Source {
            name: self.name.clone(),
            url,
            connection: Connection {
                region: self.region.clone(),
                endpoint: self.endpoint_url.clone(),
                access_key_id: self.access_key_id.clone(),
                secret_access_key: self.secret_access_key.as_ref().map(|s| s.expose().to_string()),
                session_token: self.session_token.as_ref().map(|s| s.expose().to_string()),
                ..Connection::default()
            },
            interval,
            since,
            revisit_days: self.revisit_days.unwrap_or(2).max(1),
            max_attempts: self.max_attempts.unwrap_or(5).max(1),
            fetch_concurrency: self.fetch_concurrency.unwrap_or(16).max(1),
            queue,
        })
    }

    fn queue(&self, invalid: &dyn Fn(String) -> SourceError) -> Result<Option<QueueSettings>, SourceError> {
        let Some(url) = &self.sqs_queue_url else {
            for (set, name) in [
                (self.sqs_endpoint_url.is_some(), "sqs_endpoint_url"),
                (self.visibility_timeout_secs.is_some(), "visibility_timeout_secs"),
                (self.max_receives.is_some(), "max_receives"),
                (self.wait_secs.is_some(), "wait_secs"),
            ] {
                if set {
                    return Err(invalid(format!("{name} is for SQS mode: set sqs_queue_url too")));
                }
            }
            return Ok(None);
        };
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid(format!(
                "sqs_queue_url = \"{url}\": write the queue's URL, e.g. https://sqs.eu-west-1.amazonaws.com/011173820421/cloudtrail"
            )));
        };
        let host = rest.split('/').next().unwrap_or_default();
        let endpoint = self.sqs_endpoint_url.clone().or_else(|| {
            (!host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn"))
                .then(|| format!("{scheme}://{host}"))
        });
        let visibility = self.visibility_timeout_secs.unwrap_or(300);
        if !(2..=43_200).contains(&visibility) {
            return Err(invalid(format!(
                "visibility_timeout_secs = {visibility}: SQS takes 2 to 43200 here"
            )));
        }
        let wait = self.wait_secs.unwrap_or(10);
        if wait > 20 {
            return Err(invalid(format!("wait_secs = {wait}: SQS waits at most 20 seconds")));
        }
        let region = host
            .strip_prefix("sqs.")
            .and_then(|h| h.split_once(".amazonaws.com"))
            .map(|(r, _)| r.to_string());
        Ok(Some(QueueSettings {
            url: url.clone(),
            endpoint,
            region,
            visibility: Duration::from_secs(visibility.into()),
            wait: Duration::from_secs(wait.into()),
            max_receives: self.max_receives.unwrap_or(5).max(1),
        }))
    }
}

impl Source {
    pub fn public_settings(&self) -> PublicSettings {
        let c = &self.connection;
        PublicSettings {
            url: self.url.to_string(),
            region: c.region.clone(),
            endpoint_url: c.endpoint.clone(),
            access_key_id: c.access_key_id.as_deref().map(mask_key_id),
            credentials: if c.access_key_id.is_some() {
                "access key in the config"
            } else {
                "standard AWS chain"
            },
            poll_interval_secs: self.interval.as_secs_f64(),
            since: self.since.map(|d| d.to_string()),
            revisit_days: self.revisit_days,
            max_attempts: self.max_attempts,
            sqs_queue_url: self.queue.as_ref().map(|q| q.url.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_name: &str) -> SourceConfig {
        SourceConfig {
            name: toml_name.into(),
            url: "s3://my-trail/AWSLogs/".into(),
            region: Some("eu-west-1".into()),
            endpoint_url: None,
            access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            secret_access_key: Some(Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")),
            session_token: None,
            poll_interval_secs: None,
            since: Some("2024-01-05".into()),
            revisit_days: None,
            max_attempts: None,
            fetch_concurrency: None,
            sqs_queue_url: None,
            sqs_endpoint_url: None,
            visibility_timeout_secs: None,
            max_receives: None,
            wait_secs: None,
        }
    }

    #[test]
    fn secrets_never_show() {
        let c = config("prod");
        let s = c.validate().expect("valid");
        let shown = format!(
            "{c:?} {s:?} {:?} {}",
            s.public_settings(),
            serde_json::to_string(&s.public_settings()).expect("json")
        );
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("AKIAIOSFODNN7EXAMPLE"), "{shown}");
        assert!(shown.contains("…MPLE"), "{shown}");
        assert_eq!(s.since, NaiveDate::from_ymd_opt(2024, 1, 5));
        assert_eq!(s.interval, Duration::from_secs(60));
    }

    #[test]
    fn mistakes_are_named() {
        for (mut c, want) in [
            (config("no spaces"), "name must be"),
            (config("ok"), "s3://bucket"),
            (config("ok"), "YYYY-MM-DD"),
            (config("ok"), "both access_key_id"),
        ] {
            match want {
                "s3://bucket" => c.url = "my-trail/AWSLogs".into(),
                "YYYY-MM-DD" => c.since = Some("5 Jan 2024".into()),
                "both access_key_id" => c.secret_access_key = None,
                _ => {}
            }
            let e = c.validate().expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
