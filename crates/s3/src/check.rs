//! The access check the seed's "save" button runs: can these credentials list the prefix and
//! read an object under it? Each step says what it saw, or what is missing and how to grant it.

use futures::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use serde_json::json;

use crate::S3Url;
use crate::classify::{Failure, classify};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Ok(String),
    Failed {
        failure: Failure,
        advice: String,
    },
    /// Could not be tried (GetObject when the prefix lists no object).
    NotTried(String),
}

#[derive(Debug, Clone)]
pub struct Check {
    pub url: S3Url,
    pub list: Step,
    pub get: Step,
}

impl Check {
    /// Both permissions work.
    pub fn ok(&self) -> bool {
        matches!(self.list, Step::Ok(_)) && matches!(self.get, Step::Ok(_))
    }

    /// The check as the API answers it: `ok`, and per permission its outcome and message.
    pub fn to_json(&self) -> serde_json::Value {
        let step = |s: &Step| match s {
            Step::Ok(what) => json!({"outcome": "ok", "message": what}),
            Step::Failed { advice, .. } => json!({"outcome": "failed", "message": advice}),
            Step::NotTried(why) => json!({"outcome": "not_tried", "message": why}),
        };
        json!({
            "location": self.url.to_string(),
            "ok": self.ok(),
            "message": if self.ok() {
                "the bucket can now be accessed"
            } else {
                "the bucket cannot be read with these credentials yet"
            },
            "permissions": {"s3:ListBucket": step(&self.list), "s3:GetObject": step(&self.get)},
        })
    }

    pub fn render(&self) -> String {
        let mut out = format!("checking {}\n", self.url);
        for (name, step) in [("s3:ListBucket", &self.list), ("s3:GetObject", &self.get)] {
            match step {
                Step::Ok(what) => out.push_str(&format!("  ok    {name}: {what}\n")),
                Step::Failed { advice, .. } => {
                    out.push_str(&format!("  FAIL  {name}: {}\n", advice.replace('\n', "\n        ")))
                }
                Step::NotTried(why) => out.push_str(&format!("  --    {name}: not tried: {why}\n")),
            }
        }
        out.push_str(if self.ok() {
            "the bucket can now be accessed\n"
        } else {
            "the bucket cannot be read with these credentials yet\n"
        });
        out
    }
}

/// The IAM policy statement that grants `action` on `resource`, pretty-printed.
fn statement(action: &str, resource: &str, prefix_condition: Option<&str>) -> String {
    let mut s = json!({"Effect": "Allow", "Action": action, "Resource": resource});
    if let Some(p) = prefix_condition.filter(|p| !p.is_empty()) {
        s["Condition"] = json!({"StringLike": {"s3:prefix": [format!("{p}*")]}});
    }
    serde_json::to_string_pretty(&s).unwrap_or_default()
}

/// The IAM policy for a trailscope table kept at `url` (`--data-dir s3://…`): list its prefix,
/// read and write its objects. Readers need only the first two; `optimize --vacuum` also
/// needs `s3:DeleteObject`. No DynamoDB: commits are conditional puts.
pub fn table_policy(url: &S3Url) -> String {
    let prefix = url.prefix.trim_matches('/');
    let objects = if prefix.is_empty() {
        format!("arn:aws:s3:::{}/*", url.bucket)
    } else {
        format!("arn:aws:s3:::{}/{prefix}/*", url.bucket)
    };
    let mut list =
        json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{}", url.bucket)});
    if !prefix.is_empty() {
        list["Condition"] = json!({"StringLike": {"s3:prefix": [format!("{prefix}/*")]}});
    }
    let objects =
        // Parquet files are uploaded in parts, and a failed upload is aborted.
        json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"], "Resource": objects});
    serde_json::to_string_pretty(&json!({"Version": "2012-10-17", "Statement": [list, objects]})).unwrap_or_default()
}

/// [`explain`] for an error as object_store reports it.
pub fn explain_error(e: &object_store::Error, url: &S3Url, action: &str, key: Option<&str>) -> String {
    explain(&classify(e), url, action, key)
}

/// What to tell the user about `failure` of `action`, on the bucket of `url` (`key` for GetObject).
pub fn explain(failure: &Failure, url: &S3Url, action: &str, key: Option<&str>) -> String {
    let bucket_arn = format!("arn:aws:s3:::{}", url.bucket);
    match failure {
        Failure::Denied => match key {
            None => format!(
                "access denied: the credentials may not list the bucket {} (resource {bucket_arn}). Grant it with this IAM policy statement:\n{}",
                url.bucket,
                statement("s3:ListBucket", &bucket_arn, Some(&url.prefix))
            ),
            Some(key) => format!(
                "access denied reading {key}: the credentials may not read objects (resource {bucket_arn}/{key}). Grant it with this IAM policy statement:\n{}",
                statement("s3:GetObject", &format!("{bucket_arn}/{}*", url.prefix), None)
            ),
        },
        Failure::NoSuchBucket => format!("there is no bucket named '{}': check the name in the location", url.bucket),
        Failure::NoSuchKey => format!("{} was listed but is gone (deleted meanwhile): run the check again", key.unwrap_or("the object")),
        Failure::BadCredentials { code } => match code.as_str() {
            "InvalidAccessKeyId" => "the access key id is not known to S3 (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID or the configured key".into(),
            "SignatureDoesNotMatch" => "the secret access key does not belong to this key id (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY or the configured secret".into(),
            "ExpiredToken" | "TokenRefreshRequired" => format!("the session credentials have expired ({code}): refresh them"),
            "NoCredentials" => "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (shared config, SSO), or run where a role is attached (web identity, ECS task role, EC2 instance profile), or give the source an access key".into(),
            _ => format!("S3 did not accept the credentials ({code})"),
        },
        Failure::WrongRegion => format!(
            "the bucket {} is in another region than the one asked: set --region (or AWS_REGION) to the bucket's region",
            url.bucket
        ),
        Failure::Network { detail } => format!("S3 could not be reached: {detail}; check the endpoint and the network"),
        Failure::Other { detail } => format!("{action} failed: {detail}"),
    }
}

/// A log file rather than a digest (CloudTrail-Digest/…) or anything else.
fn looks_like_log(key: &str) -> bool {
    (key.ends_with(".json.gz") || key.ends_with(".json")) && !key.to_ascii_lowercase().contains("digest")
}

/// Tries ListBucket on the prefix, then GetObject on one object found there (a log file when
/// there is one). Reads one byte of it, not the whole object.
pub async fn check(store: &dyn ObjectStore, url: &S3Url) -> Check {
    let prefix = (!url.prefix.is_empty()).then(|| Path::from(url.prefix.as_str()));
    let mut listing = store.list(prefix.as_ref());
    let mut seen = 0usize;
    let mut pick: Option<(Path, u64)> = None;
    let mut list_error = None;
    // The first page is enough to prove the permission and find an object to read.
    while let Some(item) = listing.next().await {
        match item {
            Ok(meta) => {
                seen += 1;
                let better = pick.is_none()
                    || (looks_like_log(meta.location.as_ref())
                        && !pick.as_ref().is_some_and(|(p, _)| looks_like_log(p.as_ref())));
                if better {
                    pick = Some((meta.location.clone(), meta.size));
                }
                if seen >= 1000 {
                    break;
                }
            }
            Err(e) => {
                list_error = Some(e);
                break;
            }
        }
    }
    let list = match &list_error {
        Some(e) => Step::Failed {
            failure: classify(e),
            advice: explain(&classify(e), url, "ListBucket", None),
        },
        None if seen == 0 => Step::Ok("listed the prefix: it holds no objects yet".into()),
        None => Step::Ok(format!(
            "listed {}{} object(s) under the prefix",
            seen,
            if seen >= 1000 { "+" } else { "" }
        )),
    };
    let get = match (&list_error, pick) {
        (Some(_), _) => Step::NotTried("listing failed, so no object is known to read".into()),
        (None, None) => {
            Step::NotTried("the prefix holds no objects to read; check again once CloudTrail has delivered".into())
        }
        (None, Some((path, size))) => {
            let range = (size > 0).then_some(GetRange::Bounded(0..1));
            let options = GetOptions {
                range,
                ..Default::default()
            };
            let result = match store.get_opts(&path, options).await {
                Ok(r) => r.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => Step::Ok(format!("read {path}")),
                Err(e) => {
                    let failure = classify(&e);
                    let advice = explain(&failure, url, "GetObject", Some(path.as_ref()));
                    Step::Failed { failure, advice }
                }
            }
        }
    };
    Check {
        url: url.clone(),
        list,
        get,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_grant_exactly_what_is_missing() {
        let url = S3Url::parse("s3://trail/AWSLogs/1/").expect("url");
        let list = explain(&Failure::Denied, &url, "ListBucket", None);
        assert!(list.contains("\"Action\": \"s3:ListBucket\""), "{list}");
        assert!(list.contains("\"Resource\": \"arn:aws:s3:::trail\""), "{list}");
        assert!(list.contains("\"AWSLogs/1/*\""), "{list}");
        let get = explain(&Failure::Denied, &url, "GetObject", Some("AWSLogs/1/x.json.gz"));
        assert!(get.contains("\"Action\": \"s3:GetObject\""), "{get}");
        assert!(
            get.contains("\"Resource\": \"arn:aws:s3:::trail/AWSLogs/1/*\""),
            "{get}"
        );
    }

    #[test]
    fn the_table_policy_covers_its_prefix_only() {
        let url = S3Url::parse("s3://lake/prod/").expect("url");
        let p: serde_json::Value = serde_json::from_str(&table_policy(&url)).expect("json");
        assert_eq!(p["Statement"][0]["Resource"], "arn:aws:s3:::lake");
        assert_eq!(p["Statement"][0]["Condition"]["StringLike"]["s3:prefix"][0], "prod/*");
        assert_eq!(p["Statement"][1]["Resource"], "arn:aws:s3:::lake/prod/*");
        let whole = S3Url::parse("s3://lake").expect("url");
        let p: serde_json::Value = serde_json::from_str(&table_policy(&whole)).expect("json");
        assert_eq!(p["Statement"][1]["Resource"], "arn:aws:s3:::lake/*");
        assert!(p["Statement"][0].get("Condition").is_none());
    }

    #[tokio::test]
    async fn an_empty_prefix_cannot_prove_get() {
        let store = object_store::memory::InMemory::new();
        let url = S3Url::parse("s3://trail/AWSLogs/").expect("url");
        let c = check(&store, &url).await;
        assert!(matches!(c.list, Step::Ok(_)));
        assert!(matches!(c.get, Step::NotTried(_)));
        assert!(!c.ok());
    }

    #[tokio::test]
    async fn reads_a_log_file_when_there_is_one() {
        use object_store::ObjectStoreExt;
        let store = object_store::memory::InMemory::new();
        store.put(&Path::from("AWSLogs/a.txt"), "x".into()).await.expect("put");
        store
            .put(&Path::from("AWSLogs/b.json.gz"), "y".into())
            .await
            .expect("put");
        let c = check(&store, &S3Url::parse("s3://trail/AWSLogs/").expect("url")).await;
        assert_eq!(c.get, Step::Ok("read AWSLogs/b.json.gz".into()));
        assert!(c.ok());
        assert!(c.render().ends_with("the bucket can now be accessed\n"));
    }
}
