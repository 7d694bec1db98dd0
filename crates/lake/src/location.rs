//! Where a table lives: a local directory, or a prefix in an object store (S3) reached through a
//! client the caller built (credentials and endpoints are not this crate's business).
//!
//! Also owns how commits are arbitrated there: delta-rs's default log store writes each version
//! with `PutMode::Create`, which object_store's S3 client sends as `If-None-Match: *`. Of two
//! writers of the same version, S3 refuses the second (412) and it retries at the next version
//! (see `docs/adr/0001-concurrent-writers.md`). No DynamoDB lock, and never delta-rs's unsafe
//! rename.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use deltalake::logstore::{LogStore, LogStoreFactory, StorageConfig, default_logstore, logstore_factories};
use deltalake::{DeltaResult, DeltaTableBuilder, DeltaTableError, ObjectStore};
use url::Url;

/// Where a table lives.
#[derive(Clone)]
pub enum Location {
    /// A local directory (created when absent).
    Local(PathBuf),
    /// A table URL in an object store (`s3://bucket/prefix/cloudtrail`), and a client for the
    /// root of its bucket.
    Store { url: Url, store: Arc<dyn ObjectStore> },
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Store { url, .. } => write!(f, "{url}"),
        }
    }
}

// From paths only: a `&str` such as "s3://…" must not silently become a local directory.
impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Local(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Local(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Location::Local(p.clone())
    }
}

impl Location {
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local(_))
    }

    /// A table builder for this location; a local directory is created when absent.
    pub(crate) fn builder(&self) -> DeltaResult<DeltaTableBuilder> {
        match self {
            Location::Local(p) => {
                let url = deltalake::ensure_table_uri(p.display().to_string())?;
                DeltaTableBuilder::from_url(url)
            }
            Location::Store { url, store } => {
                register_log_store(url)?;
                Ok(DeltaTableBuilder::from_url(url.clone())?.with_storage_backend(Arc::clone(store), url.clone()))
            }
        }
    }

    /// Refuses a log store other than delta-rs's default (whose commits are conditional puts),
    /// should another registration for the scheme (deltalake-aws's DynamoDB one) have won.
    pub(crate) fn check_log_store(&self, store: &dyn LogStore) -> DeltaResult<()> {
        match (self, store.name().as_str()) {
            (Location::Local(_), _) | (_, "DefaultLogStore") => Ok(()),
            (_, other) => Err(DeltaTableError::InvalidTableLocation(format!(
                "{self}: commits would go through the {other} log store, not conditional puts"
            ))),
        }
    }
}

/// delta-rs's default log store, for schemes whose stores commit by conditional put.
#[derive(Debug)]
struct ConditionalPut;

impl LogStoreFactory for ConditionalPut {
    fn with_options(
        &self,
        prefixed_store: Arc<dyn ObjectStore>,
        root_store: Arc<dyn ObjectStore>,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(prefixed_store, root_store, location, options))
    }
}

/// delta-rs finds a table's log store by URL scheme; without its `s3` feature (which would
/// bring the AWS SDK's DynamoDB lock client) it knows none for `s3://`.
fn register_log_store(url: &Url) -> DeltaResult<()> {
    static S3: Once = Once::new();
    match url.scheme() {
        "s3" | "s3a" => {
            S3.call_once(|| {
                for scheme in ["s3://", "s3a://"] {
                    if let Ok(u) = Url::parse(scheme) {
                        logstore_factories().insert(u, Arc::new(ConditionalPut));
                    }
                }
            });
            Ok(())
        }
        "file" | "memory" => Ok(()),
        _ => Err(DeltaTableError::InvalidTableLocation(format!(
            "{url}: tables can live in a local directory or in S3 (s3://bucket/prefix)"
        ))),
    }
}
