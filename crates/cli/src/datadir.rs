//! `--data-dir` and `--state-dir`: where the table lives (a local directory, or `s3://` for the
//! table in S3), and where trailscope keeps its local state (quarantine list, sources' state,
//! saved objects, the lookup token key, `trailscope.toml`, `geoip/`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result};
use trailscope_lake::{Lake, Location};

/// The table's folder below the data directory.
const TABLE: &str = "cloudtrail";

/// Where the state goes when the table is in S3 and no `--state-dir` is given.
pub const DEFAULT_REMOTE_STATE: &str = "./trailscope-state";

/// The value of `--data-dir`.
#[derive(Debug, Clone)]
pub enum DataDir {
    Local(PathBuf),
    /// The table goes to `<prefix>/cloudtrail/` in the bucket.
    S3(trailscope_s3::S3Url),
}

impl FromStr for DataDir {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("s3://") {
            let u = trailscope_s3::S3Url::parse(s).map_err(|e| e.to_string())?;
            check_prefix(&u.prefix).map_err(|why| format!("'{s}': {why}"))?;
            Ok(DataDir::S3(u))
        } else if s.contains("://") {
            Err(format!("'{s}': a data directory is a local path or s3://bucket/prefix"))
        } else {
            Ok(DataDir::Local(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataDir::Local(p) => write!(f, "{}", p.display()),
            DataDir::S3(u) => write!(f, "{u}"),
        }
    }
}

impl DataDir {
    /// The local directory for state: `--state-dir` if given, else the data directory itself,
    /// else (the table being in S3) [`DEFAULT_REMOTE_STATE`].
    pub fn home(&self, state_dir: Option<&Path>) -> PathBuf {
        match (state_dir, self) {
            (Some(s), _) => s.to_path_buf(),
            (None, DataDir::Local(p)) => p.clone(),
            (None, DataDir::S3(_)) => PathBuf::from(DEFAULT_REMOTE_STATE),
        }
    }

    /// The table's location. In S3, credentials, region and endpoint come from the standard AWS
    /// chain and variables (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL_S3`, …).
    pub async fn table(&self) -> Result<Location> {
        match self {
            DataDir::Local(p) => Ok(Location::Local(p.join(TABLE))),
            DataDir::S3(u) => {
                let store = trailscope_s3::Connection::default()
                    .store(&u.bucket)
                    .await
                    .with_context(|| format!("cannot reach the table's bucket {}", u.bucket))?;
                Ok(Location::Store {
                    url: table_url(u)?,
                    store: Arc::new(store),
                })
            }
        }
    }

    /// Opens the table for writing, creating it when absent.
    pub async fn open(&self) -> Result<Lake> {
        let location = self.table().await?;
        self.opened(Lake::open_or_create(location).await)
    }

    /// Opens the table for reading. In S3 nothing is created: a mistyped prefix says so rather
    /// than creating an empty table. (A local data directory gets its empty table, as ever.)
    pub async fn open_existing(&self) -> Result<Lake> {
        if let DataDir::Local(_) = self {
            return self.open().await;
        }
        let location = self.table().await?;
        let opened = Lake::open(location.clone()).await;
        if let (Err(trailscope_lake::LakeError::NotFound { .. }), DataDir::S3(u)) = (&opened, self) {
            // The table's own URL given as the data directory (…/cloudtrail): say so.
            if let Location::Store { url, store } = location {
                let parent = url.as_str().trim_end_matches('/').strip_suffix(&format!("/{TABLE}"));
                if let Some(Ok(parent_url)) = parent.map(url::Url::parse)
                    && Lake::open(Location::Store { url: parent_url, store }).await.is_ok()
                {
                    anyhow::bail!(
                        "{u} is itself the table; pass the folder above it as --data-dir (the table is its {TABLE}/ folder)"
                    );
                }
            }
        }
        self.opened(opened)
    }

    fn opened(&self, result: Result<Lake, trailscope_lake::LakeError>) -> Result<Lake> {
        match (result, self) {
            (Ok(lake), _) => Ok(lake),
            // S3's answer in the access check's words, rather than delta-rs's chain of wrappers
            // each repeating the XML.
            (Err(e), DataDir::S3(u)) => match s3_failure(&e) {
                Some(failure) => anyhow::bail!("cannot open the table in {self}: {}", explain(&failure, u)),
                None => Err(e).with_context(|| format!("cannot open the table in {self}")),
            },
            (Err(e), DataDir::Local(_)) => Err(e).with_context(|| format!("cannot open the table in {self}")),
        }
    }
}

/// The S3 failure at the root of `e`, if an S3 request failed.
pub fn s3_failure(e: &(dyn std::error::Error + 'static)) -> Option<trailscope_s3::Failure> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(os) = c.downcast_ref::<object_store::Error>() {
            return Some(trailscope_s3::classify(os));
        }
        cause = c.source();
    }
    None
}

/// What to tell the user about a failed request to the table's bucket.
pub fn explain(failure: &trailscope_s3::Failure, u: &trailscope_s3::S3Url) -> String {
    use trailscope_s3::Failure;
    match failure {
        Failure::Denied => format!(
            "access denied: a table in S3 needs the right to list its prefix and to read and write its objects. Grant it with this IAM policy:\n{}",
            trailscope_s3::table_policy(u)
        ),
        Failure::WrongRegion => format!(
            "the bucket {} is in another region than the one asked: set AWS_REGION to the bucket's region",
            u.bucket
        ),
        Failure::BadCredentials { code } if code == "NoCredentials" => "no AWS credentials were found for the table: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (shared config, SSO), or run where a role is attached (web identity, ECS task role, EC2 instance profile)".into(),
        Failure::Other { detail } => format!("S3 refused a request: {detail}"),
        other => trailscope_s3::explain(other, u, "ListBucket", None),
    }
}

/// A table prefix uses S3's safe key characters only (letters, digits, `! - _ . ( )`), in
/// non-empty segments other than `.` and `..`: others change meaning in URLs or get
/// percent-encoded on the way to the store.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "!-_.()".contains(c);
    for segment in prefix.trim_matches('/').split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return Err(format!("'{segment}' cannot be a folder of a table location"));
        }
        if let Some(c) = segment.chars().find(|c| !safe(*c)) {
            return Err(format!(
                "'{c}' in a table location: use letters, digits and ! - _ . ( ) in its prefix"
            ));
        }
    }
    Ok(())
}

/// `s3://bucket/prefix` → `s3://bucket/prefix/cloudtrail` (`s3://bucket/cloudtrail` without
/// one). The prefix passed [`check_prefix`].
fn table_url(u: &trailscope_s3::S3Url) -> Result<url::Url> {
    let segments: Vec<&str> = u.prefix.split('/').filter(|s| !s.is_empty()).chain([TABLE]).collect();
    let path = segments.join("/");
    url::Url::parse(&format!("s3://{}/{path}", u.bucket))
        .with_context(|| format!("'{u}' is not a usable table location"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_data_dirs_put_the_table_below_the_prefix() {
        let table = |s: &str| match s.parse::<DataDir>() {
            Ok(DataDir::S3(u)) => table_url(&u).map(|u| u.to_string()).unwrap_or_default(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(table("s3://my-lake"), "s3://my-lake/cloudtrail");
        assert_eq!(table("s3://my-lake/"), "s3://my-lake/cloudtrail");
        assert_eq!(table("s3://my-lake/prod/trail/"), "s3://my-lake/prod/trail/cloudtrail");
        assert_eq!(table("s3://my-lake//prod//"), "s3://my-lake/prod/cloudtrail");
    }

    #[test]
    fn state_stays_local() {
        let s3: DataDir = "s3://my-lake/prod".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s3.home(None), PathBuf::from(DEFAULT_REMOTE_STATE));
        assert_eq!(s3.home(Some(Path::new("/var/lib/ts"))), PathBuf::from("/var/lib/ts"));
        let local: DataDir = "data".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local.home(None), PathBuf::from("data"));
        assert!("gs://x/y".parse::<DataDir>().is_err());
        assert!("s3://NO".parse::<DataDir>().is_err());
        for odd in [
            "s3://lake/a#b/",
            "s3://lake/a?b",
            "s3://lake/a/../b",
            "s3://lake/a~b",
            "s3://lake/a b",
        ] {
            assert!(odd.parse::<DataDir>().is_err(), "{odd}");
        }
        assert!("s3://lake/prod-1/trail_2.x(a)!/".parse::<DataDir>().is_ok());
    }
}
