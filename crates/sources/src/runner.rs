//! Runs a server's sources: one task polls them in turn, each when its interval is up, into one
//! table writer. A [`Registry`] shares their status with the API and the metrics, and takes
//! retry requests.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{info, warn};
use trailscope_enrich::Enricher;
use trailscope_ingest::{Counters, IngestConfig, Ingestor, QuarantineLog};
use trailscope_lake::Lake;

use crate::config::PublicSettings;
use crate::poll::Poller;
use crate::state::Status;

/// A source as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    pub name: String,
    pub settings: PublicSettings,
    /// A poll is running now.
    pub polling: bool,
    pub status: Status,
    /// Objects given up on: key and reason.
    pub quarantined: Vec<QuarantinedObject>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuarantinedObject {
    pub key: String,
    pub attempts: u32,
    pub last_failed: String,
    pub reason: String,
}

#[derive(Debug)]
struct Entry {
    view: RwLock<SourceView>,
    /// `Some(key)` asks for a retry of one object, `Some(None)` of all.
    retry: std::sync::Mutex<Option<Option<String>>>,
}

/// The sources a server runs, shared with its handlers.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    wake: Notify,
}

impl Registry {
    pub fn views(&self) -> Vec<SourceView> {
        self.entries
            .iter()
            .filter_map(|e| e.view.read().ok().map(|v| v.clone()))
            .collect()
    }

    /// Asks the runner to read quarantined objects again (all, or `key`) at once. False when
    /// there is no source `name`.
    pub fn request_retry(&self, name: &str, key: Option<String>) -> bool {
        let Some(entry) = self
            .entries
            .iter()
            .find(|e| e.view.read().is_ok_and(|v| v.name == name))
        else {
            return false;
        };
        if let Ok(mut r) = entry.retry.lock() {
            *r = Some(key);
        }
        self.wake.notify_one();
        true
    }
}

fn view(p: &Poller, polling: bool) -> SourceView {
    let state = p.state();
    SourceView {
        name: p.source.name.clone(),
        settings: p.source.public_settings(),
        polling,
        status: state.status.clone(),
        quarantined: state
            .quarantined
            .iter()
            .map(|(k, f)| QuarantinedObject {
                key: k.clone(),
                attempts: f.attempts,
                last_failed: f.last_failed.clone(),
                reason: f.reason.clone(),
            })
            .collect(),
    }
}

/// Everything a poll needs to write to the table.
#[derive(Debug)]
pub struct Sink {
    pub lake: Lake,
    pub enricher: Enricher,
    pub quarantine: QuarantineLog,
    pub config: IngestConfig,
}

pub struct Runner {
    pollers: Vec<Poller>,
    registry: Arc<Registry>,
    sink: Sink,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("sources", &self.pollers.len()).finish()
    }
}

impl Runner {
    pub fn new(pollers: Vec<Poller>, sink: Sink) -> Self {
        let registry = Registry {
            entries: pollers
                .iter()
                .map(|p| Entry {
                    view: RwLock::new(view(p, false)),
                    retry: std::sync::Mutex::new(None),
                })
                .collect(),
            wake: Notify::new(),
        };
        Self {
            pollers,
            registry: Arc::new(registry),
            sink,
        }
    }

    pub fn registry(&self) -> Arc<Registry> {
        Arc::clone(&self.registry)
    }

    fn publish(&self, i: usize, polling: bool) {
        if let (Some(p), Some(e)) = (self.pollers.get(i), self.registry.entries.get(i))
            && let Ok(mut v) = e.view.write()
        {
            *v = view(p, polling);
        }
    }

    /// Polls every source when it is due, forever. A failing source waits longer after each
    /// failure (its interval doubled, up to ten minutes, never less than the interval).
    pub async fn run(mut self) {
        let now = Instant::now();
        let mut due: Vec<Instant> = vec![now; self.pollers.len()];
        loop {
            // Retry requests from the API make their source due now.
            for (i, e) in self.registry.entries.iter().enumerate() {
                let request = e.retry.lock().ok().and_then(|mut r| r.take());
                if let (Some(key), Some(p)) = (request, self.pollers.get_mut(i)) {
                    match p.retry(key.as_deref()) {
                        Ok(n) => info!(source = %p.source.name, objects = n, "retry asked for"),
                        Err(e) => warn!(source = %p.source.name, error = %e, "cannot record the retry"),
                    }
                    due[i] = Instant::now();
                }
            }
            let Some((i, when)) = due.iter().copied().enumerate().min_by_key(|(_, t)| *t) else {
                return;
            };
            if when > Instant::now() {
                tokio::select! {
                    () = tokio::time::sleep_until(when) => {}
                    () = self.registry.wake.notified() => continue,
                }
            }
            self.publish(i, true);
            let Some(poller) = self.pollers.get_mut(i) else { return };
            let mut ingestor = Ingestor {
                lake: &mut self.sink.lake,
                enricher: self.sink.enricher.clone(),
                quarantine: self.sink.quarantine.clone(),
                config: self.sink.config.clone(),
                counters: Arc::new(Counters::default()),
            };
            let interval = poller.source.interval;
            match poller.poll(&mut ingestor).await {
                Ok(o) => {
                    if o.pending > 0 {
                        info!(
                            source = %poller.source.name,
                            objects = o.report.files_ingested,
                            events = o.report.events_ingested,
                            failed = o.failed.len(),
                            quarantined = o.quarantined.len(),
                            "polled"
                        );
                    }
                    due[i] = Instant::now() + interval;
                }
                Err(e) => {
                    let errors = poller.state().status.consecutive_errors.min(10);
                    let wait = interval
                        .saturating_mul(1 << errors.min(8))
                        .min(Duration::from_secs(600))
                        .max(interval);
                    warn!(source = %poller.source.name, error = %e, retry_in_secs = wait.as_secs_f64(), "poll failed");
                    due[i] = Instant::now() + wait;
                }
            }
            self.publish(i, false);
        }
    }
}
