//! S3 as a source of CloudTrail logs: where (`s3://bucket/prefix`, [`S3Url`]), how to connect
//! ([`Connection`], the standard AWS variables plus explicit options), and whether the
//! credentials can read it ([`check`]), with failures classified so the user is told which
//! permission is missing, for which resource, and the IAM statement that grants it.

mod check;
mod classify;
mod credentials;

pub use check::{Check, Step, check, explain, explain_error, table_policy};
pub use classify::{Failure, classify};
pub use credentials::SdkChain;

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum S3Error {
    #[error("'{0}' is not an S3 location: write s3://bucket or s3://bucket/prefix")]
    Url(String),
    #[error("cannot set up the S3 client: {0}")]
    Client(#[source] object_store::Error),
}

/// `s3://bucket/prefix`: a bucket and a key prefix (empty for the whole bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Without a leading `/`; keeps a trailing one if given.
    pub prefix: String,
}

impl S3Url {
    pub fn parse(s: &str) -> Result<S3Url, S3Error> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| S3Error::Url(s.into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket names: 3–63 lower-case letters, digits, dots and hyphens.
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(S3Error::Url(s.into()));
        }
        Ok(S3Url {
            bucket: bucket.into(),
            prefix: prefix.trim_start_matches('/').into(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach S3. Unset fields come from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, web identity, container and instance metadata).
#[derive(Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); path-style requests are used.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Total time one request may take, retries included.
    pub retry_timeout: Option<Duration>,
    pub max_retries: Option<usize>,
}

/// An access key id as it may be shown: `AKIAIOSFODNN7EXAMPLE` → `…MPLE`.
pub fn mask_key_id(id: &str) -> String {
    let tail: String = id.chars().skip(id.chars().count().saturating_sub(4)).collect();
    format!("…{tail}")
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials stay out of logs and error reports: the key id's last four characters only.
        let key_id = self.access_key_id.as_deref().map(mask_key_id);
        f.debug_struct("Connection")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "****"))
            .field("session_token", &self.session_token.as_ref().map(|_| "****"))
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A client for `bucket`. Without an explicit key, credentials come from the AWS SDK's
    /// default chain, and a region not given here or in the environment from the shared
    /// config's profile.
    pub async fn store(&self, bucket: &str) -> Result<AmazonS3, S3Error> {
        let endpoint = self.endpoint.clone().or_else(endpoint_from_env);
        // Client options are replaced as a whole, so plain HTTP (a local S3 server) is allowed
        // here rather than with `with_allow_http`, which lives in the same options.
        let http = endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))
            || std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let options = ClientOptions::new()
            .with_allow_http(http)
            .with_connect_timeout(Duration::from_secs(5));
        let mut b = AmazonS3Builder::from_env()
            .with_client_options(options)
            .with_bucket_name(bucket);
        if let Some(r) = self.resolve_region().await {
            b = b.with_region(r);
        }
        if let Some(e) = &endpoint {
            b = b.with_endpoint(e);
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(k), Some(s)) => {
                b = b.with_access_key_id(k).with_secret_access_key(s);
                if let Some(t) = &self.session_token {
                    b = b.with_token(t);
                }
            }
            _ => b = b.with_credentials(std::sync::Arc::new(SdkChain::new())),
        }
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: self.max_retries.unwrap_or(10),
            retry_timeout: self.retry_timeout.unwrap_or(Duration::from_secs(180)),
        };
        b.with_retry(retry).build().map_err(S3Error::Client)
    }

    /// The region: given here, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's
    /// (`AWS_PROFILE` in `~/.aws/config`); `None` leaves object_store's default (us-east-1).
    pub async fn resolve_region(&self) -> Option<String> {
        if let Some(r) = &self.region {
            return Some(r.clone());
        }
        if let Some(r) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        {
            return Some(r);
        }
        use aws_config::meta::region::ProvideRegion;
        aws_config::profile::ProfileFileRegionProvider::new()
            .region()
            .await
            .map(|r| r.to_string())
    }

    /// The AWS SDK's configuration for other services (SQS): the same credentials, the
    /// service's `region` when it differs, and its `endpoint` (a local server) when given.
    pub async fn sdk_config(&self, endpoint: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        } else if let Some(r) = self.resolve_region().await {
            loader = loader.region(aws_config::Region::new(r));
        } else {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
        }
        if let (Some(k), Some(s)) = (&self.access_key_id, &self.secret_access_key) {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                k,
                s,
                self.session_token.clone(),
                None,
                "trailscope configuration",
            ));
        }
        loader.load().await
    }
}

/// Every object under the location, in key order (CloudTrail's keys sort by time within a
/// day). Listing is paged by the client; the whole listing is held, one small record per object.
pub async fn list(
    store: &dyn object_store::ObjectStore,
    url: &S3Url,
) -> Result<Vec<object_store::ObjectMeta>, object_store::Error> {
    use futures::TryStreamExt;
    let prefix = (!url.prefix.is_empty()).then(|| object_store::path::Path::from(url.prefix.as_str()));
    let mut all: Vec<_> = store.list(prefix.as_ref()).try_collect().await?;
    all.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(all)
}

/// The objects whose keys start with `prefix` (a raw key prefix, not only a folder) and sort
/// after `start_after`, in key order, every page of them. S3 starts the listing at
/// `start_after` itself, so a prefix polled this way costs one short request when nothing is new.
pub async fn list_after(
    store: &AmazonS3,
    prefix: &str,
    start_after: Option<&str>,
) -> Result<Vec<object_store::ObjectMeta>, object_store::Error> {
    use object_store::list::{PaginatedListOptions, PaginatedListStore};
    let mut out = Vec::new();
    let mut page_token = None;
    loop {
        let opts = PaginatedListOptions {
            offset: start_after.map(str::to_string),
            page_token: page_token.take(),
            ..Default::default()
        };
        let page = store
            .list_paginated(Some(prefix).filter(|p| !p.is_empty()), opts)
            .await?;
        out.extend(page.result.objects);
        match page.page_token {
            Some(t) => page_token = Some(t),
            None => break,
        }
    }
    out.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(out)
}

/// The "folders" one level below `prefix` (which ends in `/`, or is empty for the bucket's
/// top), each ending in `/`.
pub async fn list_folders(store: &AmazonS3, prefix: &str) -> Result<Vec<String>, object_store::Error> {
    use object_store::list::{PaginatedListOptions, PaginatedListStore};
    let mut out = Vec::new();
    let mut page_token = None;
    loop {
        let opts = PaginatedListOptions {
            delimiter: Some("/".into()),
            page_token: page_token.take(),
            ..Default::default()
        };
        let page = store
            .list_paginated(Some(prefix).filter(|p| !p.is_empty()), opts)
            .await?;
        out.extend(page.result.common_prefixes.iter().map(|p| format!("{p}/")));
        match page.page_token {
            Some(t) => page_token = Some(t),
            None => break,
        }
    }
    out.sort();
    Ok(out)
}

fn endpoint_from_env() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        let u = S3Url::parse("s3://my-trail/AWSLogs/011173820421/CloudTrail/").expect("parse");
        assert_eq!(u.bucket, "my-trail");
        assert_eq!(u.prefix, "AWSLogs/011173820421/CloudTrail/");
        assert_eq!(S3Url::parse("s3://my-trail").expect("bucket only").prefix, "");
        for bad in ["my-trail/x", "s3://", "s3://UPPER/x", "s3://a/x", "s3://under_score"] {
            assert!(S3Url::parse(bad).is_err(), "{bad}");
        }
    }
}
