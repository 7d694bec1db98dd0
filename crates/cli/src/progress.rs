//! The ingest progress bar on stderr.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use trailscope_ingest::Counters;

/// Draws `counters` until the returned handle is dropped or finished.
pub struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    pub fn start(counters: Arc<Counters>) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(5));
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let b = bar.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            loop {
                let files = counters.files_total.load(Ordering::Relaxed);
                b.set_length(files);
                b.set_position(counters.files_done.load(Ordering::Relaxed));
                let events = counters.events.load(Ordering::Relaxed);
                let mb = counters.json_bytes.load(Ordering::Relaxed) as f64 / 1e6;
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                b.set_message(format!(
                    "{events} events  {mb:.1} MB  {:.0} events/s",
                    events as f64 / secs
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self { bar, task }
    }

    pub fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
