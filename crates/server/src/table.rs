//! The table version being served, and the task that follows new commits.
//!
//! Each version gets one DataFusion session (tables and functions registered) that requests
//! share; a request holds an `Arc` to the snapshot it started on, so a refresh never changes
//! the data under a running query. Field discovery is computed once per version, on demand.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use datafusion::prelude::SessionContext;
use tokio::sync::OnceCell;
use trailscope_lake::Lake;
use trailscope_search::discovery::Discovery;

/// Rows whose JSON-text columns are read to list nested paths.
pub const DISCOVERY_SAMPLE: usize = 20_000;

pub struct Snapshot {
    pub ctx: SessionContext,
    pub version: Option<u64>,
    pub files: u64,
    pub events: u64,
    /// The `eventdate` partitions, ascending (days since 1970).
    pub days: Vec<i32>,
    pub fields: OnceCell<Arc<Discovery>>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("files", &self.files)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// Earlier versions kept open for readers that asked for them (LookupEvents pages).
const KEPT_VERSIONS: usize = 4;

#[derive(Debug)]
pub struct Table {
    current: RwLock<Arc<Snapshot>>,
    location: trailscope_lake::Location,
    earlier: Mutex<Vec<Arc<Snapshot>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Lake(#[from] trailscope_lake::LakeError),
    #[error(transparent)]
    Query(#[from] trailscope_query::QueryError),
    #[error("table version {0:?} can no longer be read (its files were compacted and vacuumed)")]
    Gone(Option<u64>),
}

async fn snapshot(lake: &Lake) -> Result<Snapshot, TableError> {
    let ctx = trailscope_search::session(lake).await?;
    let stats = lake.table_stats()?;
    Ok(Snapshot {
        ctx,
        version: lake.version(),
        files: stats.files,
        events: stats.rows,
        days: lake.days()?,
        fields: OnceCell::new(),
    })
}

impl Table {
    pub async fn open(lake: &Lake) -> Result<Table, TableError> {
        Ok(Table {
            current: RwLock::new(Arc::new(snapshot(lake).await?)),
            location: lake.location().clone(),
            earlier: Mutex::new(Vec::new()),
        })
    }

    /// The table as it was at `version`: the current snapshot, a kept one, or one opened from
    /// the log (and kept, dropping the least recently opened).
    pub async fn at(&self, version: Option<u64>) -> Result<Arc<Snapshot>, TableError> {
        let current = self.current();
        if current.version == version {
            return Ok(current);
        }
        let Some(v) = version else {
            return Err(TableError::Gone(None));
        };
        let kept = self
            .earlier
            .lock()
            .ok()
            .and_then(|e| e.iter().find(|s| s.version == version).cloned());
        if let Some(s) = kept {
            return Ok(s);
        }
        let lake = Lake::open_version(self.location.clone(), v)
            .await
            .map_err(|_| TableError::Gone(Some(v)))?;
        let opened = Arc::new(snapshot(&lake).await?);
        if let Ok(mut e) = self.earlier.lock()
            && !e.iter().any(|s| s.version == version)
        {
            if e.len() >= KEPT_VERSIONS {
                e.remove(0);
            }
            e.push(Arc::clone(&opened));
        }
        Ok(opened)
    }

    pub fn current(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Follows the table: every `interval`, re-reads the log and swaps in a new snapshot when
    /// the version changed. Errors are logged and retried; the old snapshot keeps serving.
    pub async fn follow(self: Arc<Self>, mut lake: Lake, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = lake.refresh().await {
                tracing::warn!(error = %e, "cannot re-read the table log; serving the previous version");
                continue;
            }
            if lake.version() == self.current().version {
                continue;
            }
            match snapshot(&lake).await {
                Ok(next) => {
                    tracing::info!(version = ?next.version, events = next.events, "serving new table version");
                    if let Ok(mut cur) = self.current.write() {
                        *cur = Arc::new(next);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot open the new table version"),
            }
        }
    }
}

impl Snapshot {
    /// The field list of this version (computed on first use).
    pub async fn fields(&self) -> Result<Arc<Discovery>, trailscope_search::SearchError> {
        self.fields
            .get_or_try_init(|| async {
                trailscope_search::discovery::discover(&self.ctx, DISCOVERY_SAMPLE)
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }
}
