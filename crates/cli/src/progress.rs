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
                let done = counters.bytes_done.load(Ordering::Relaxed);
                let total = counters.bytes_total.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                b.set_message(format!(
                    "{:.1}/{:.1} MB  {events} events  {:.0} events/s  ETA {}",
                    done as f64 / 1e6,
                    total as f64 / 1e6,
                    events as f64 / secs,
                    eta(secs, done, total)
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

/// Time left at the pace so far, by bytes (objects vary in size far more than bytes in speed).
fn eta(elapsed_secs: f64, done: u64, total: u64) -> String {
    if done == 0 || total <= done {
        return "-".into();
    }
    let left = (elapsed_secs * (total - done) as f64 / done as f64).round() as u64;
    format!("{}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn eta_by_bytes() {
        assert_eq!(super::eta(10.0, 0, 100), "-");
        assert_eq!(super::eta(10.0, 25, 100), "0:00:30");
        assert_eq!(super::eta(3600.0, 50, 100), "1:00:00");
        assert_eq!(super::eta(1.0, 100, 100), "-");
    }
}
