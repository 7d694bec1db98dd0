//! Counters for `GET /metrics`, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    query_micros: AtomicU64,
    queries: AtomicU64,
    rejected_busy: AtomicU64,
    rejected_memory: AtomicU64,
    timeouts: AtomicU64,
    unauthorized: AtomicU64,
}

/// Figures read at scrape time.
#[derive(Debug, Default)]
pub struct Gauges {
    pub in_flight: usize,
    pub server_memory_reserved: usize,
    pub table_version: Option<u64>,
    pub table_files: u64,
    pub table_events: u64,
    pub sources: Vec<trailscope_sources::SourceView>,
}

/// One metric in Prometheus' text format: its help and type lines, then a line per label set.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, lines: Vec<(String, String)>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in lines {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), status)).or_default() += 1;
        }
    }

    pub fn query(&self, elapsed: std::time::Duration) {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.query_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn busy(&self) {
        self.rejected_busy.fetch_add(1, Ordering::Relaxed);
    }

    pub fn memory(&self) {
        self.rejected_memory.fetch_add(1, Ordering::Relaxed);
    }

    pub fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let requests = self
            .requests
            .lock()
            .map(|m| {
                m.iter()
                    .map(|((route, status), n)| (format!("{{route=\"{route}\",status=\"{status}\"}}"), n.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        metric(
            &mut out,
            "trailscope_http_requests_total",
            "counter",
            "HTTP requests by route and status.",
            requests,
        );
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP trailscope_query_seconds Time spent answering queries.\n# TYPE trailscope_query_seconds summary"
        );
        let _ = writeln!(
            out,
            "trailscope_query_seconds_sum {}",
            load(&self.query_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "trailscope_query_seconds_count {}", load(&self.queries));
        metric(
            &mut out,
            "trailscope_queries_rejected_total",
            "counter",
            "Queries refused or stopped by a limit.",
            vec![
                ("{reason=\"concurrency\"}".into(), load(&self.rejected_busy).to_string()),
                ("{reason=\"memory\"}".into(), load(&self.rejected_memory).to_string()),
                ("{reason=\"timeout\"}".into(), load(&self.timeouts).to_string()),
            ],
        );
        metric(
            &mut out,
            "trailscope_unauthorized_requests_total",
            "counter",
            "Requests refused for missing or wrong credentials.",
            vec![(String::new(), load(&self.unauthorized).to_string())],
        );
        metric(
            &mut out,
            "trailscope_queries_in_flight",
            "gauge",
            "Queries running now.",
            vec![(String::new(), g.in_flight.to_string())],
        );
        metric(
            &mut out,
            "trailscope_query_memory_reserved_bytes",
            "gauge",
            "Memory held by running queries' operators.",
            vec![(String::new(), g.server_memory_reserved.to_string())],
        );
        metric(
            &mut out,
            "trailscope_table_version",
            "gauge",
            "Delta table version being served.",
            vec![(
                String::new(),
                g.table_version.map_or_else(|| "-1".into(), |v| v.to_string()),
            )],
        );
        metric(
            &mut out,
            "trailscope_table_files",
            "gauge",
            "Data files in the served table version.",
            vec![(String::new(), g.table_files.to_string())],
        );
        metric(
            &mut out,
            "trailscope_table_events",
            "gauge",
            "Events in the served table version.",
            vec![(String::new(), g.table_events.to_string())],
        );
        render_sources(&mut out, &g.sources);
        out
    }
}

/// One line per source of each source metric.
fn render_sources(out: &mut String, sources: &[trailscope_sources::SourceView]) {
    type Figure = fn(&trailscope_sources::SourceView) -> Option<String>;
    let figures: [(&str, &str, &str, Figure); 9] = [
        (
            "trailscope_source_up",
            "gauge",
            "1 when the source's last poll succeeded.",
            |v| Some(u8::from(v.status.health == "ok").to_string()),
        ),
        (
            "trailscope_source_polls_total",
            "counter",
            "Polls of the source.",
            |v| Some(v.status.totals.polls.to_string()),
        ),
        (
            "trailscope_source_poll_errors_total",
            "counter",
            "Polls that failed.",
            |v| Some(v.status.totals.errors.to_string()),
        ),
        (
            "trailscope_source_objects_total",
            "counter",
            "Objects ingested from the source.",
            |v| Some(v.status.totals.objects.to_string()),
        ),
        (
            "trailscope_source_events_total",
            "counter",
            "Events ingested from the source.",
            |v| Some(v.status.totals.events.to_string()),
        ),
        (
            "trailscope_source_bytes_total",
            "counter",
            "Compressed bytes ingested from the source.",
            |v| Some(v.status.totals.bytes.to_string()),
        ),
        (
            "trailscope_source_failing_objects",
            "gauge",
            "Objects that could not be read, being retried.",
            |v| Some(v.status.failing_objects.to_string()),
        ),
        (
            "trailscope_source_quarantined_objects",
            "gauge",
            "Objects given up on until a retry is asked for.",
            |v| Some(v.status.quarantined_objects.to_string()),
        ),
        (
            "trailscope_source_lag_seconds",
            "gauge",
            "How long the newest committed object waited in S3 before its commit.",
            |v| v.status.lag_seconds.map(|l| l.to_string()),
        ),
    ];
    if sources.is_empty() {
        return;
    }
    for (name, kind, help, figure) in figures {
        let lines = sources
            .iter()
            .filter_map(|v| figure(v).map(|x| (format!("{{source=\"{}\"}}", v.name), x)))
            .collect();
        metric(out, name, kind, help, lines);
    }
}
