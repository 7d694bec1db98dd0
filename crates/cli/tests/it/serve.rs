//! `trailscope serve` end to end: a real server on a free port, real Elasticsearch and
//! OpenSearch Python clients against it (`tests/python/es_clients.py`, which checks every answer
//! against DuckDB reading the same input files), authentication, limits and metrics.
//!
//! The Python clients come from `tests/python/requirements.txt` (CI installs them); without them
//! the test fails and says how to install them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::{bin, run, shared_data};

const TOKEN: &str = "test-token-0123456789abcdef";

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` on a free loopback port, logging at info, following new commits quickly.
pub(crate) const SERVE: [&str; 7] = [
    "--log",
    "info",
    "serve",
    "--listen",
    "127.0.0.1:0",
    "--refresh-secs",
    "0.2",
];

pub(crate) fn start(data: &Path, log: &Path, extra: &[&str], token: Option<&str>) -> Server {
    let mut cmd = bin();
    cmd.arg("--data-dir")
        .arg(data)
        .args(SERVE)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"));
    match token {
        Some(t) => cmd.env("TRAILSCOPE_API_TOKENS", t),
        None => cmd.env_remove("TRAILSCOPE_API_TOKENS"),
    };
    Server::spawn(cmd, log)
}

impl Server {
    /// Starts a `serve` command whose stdout is piped, and waits for its address.
    pub(crate) fn spawn(mut cmd: std::process::Command, log: &Path) -> Server {
        let mut child = cmd.spawn().expect("start trailscope serve");
        let addr = listening_addr(&mut child).unwrap_or_else(|line| {
            panic!(
                "no address in {line:?}; log: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
        Server {
            child,
            addr,
            log: log.to_path_buf(),
        }
    }
}

/// The address `trailscope serve` prints on its first line (all interfaces reached by loopback),
/// or that line when it holds none.
fn listening_addr(child: &mut Child) -> Result<SocketAddr, String> {
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    line.split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.replace("0.0.0.0", "127.0.0.1").parse().ok())
        .ok_or(line)
}

pub(crate) struct Response {
    pub(crate) status: u16,
    head: String,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send head");
    // The server may answer (413) before reading a large body; a failed write is then fine.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 << 10];
    // Responses here are small; the cap only guards against a runaway server.
    while raw.len() < 64 << 20 {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    Response { status, head, body }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// Generates a small estate, ingests it (with the MaxMind test database when the shared corpus
/// is present, so geo aggregations have points), and returns (input, data, events).
fn dataset(tmp: &Path) -> (PathBuf, PathBuf, u64, bool) {
    let input = tmp.join("input");
    let data = tmp.join("data");
    let input_s = input.to_str().expect("utf8");
    run(
        &data,
        &[
            "demo",
            "--no-ingest",
            "--events",
            "20000",
            "--days",
            "3",
            "--seed",
            "7",
            "--out",
            input_s,
        ],
    );
    let geo_db = shared_data()
        .map(|d| d.join("maxmind-geoip-test/GeoLite2-City-Test.mmdb"))
        .filter(|p| p.is_file());
    let mut args = vec!["ingest".to_string(), input_s.to_string()];
    if let Some(db) = &geo_db {
        args.extend(["--geoip-db".to_string(), db.to_string_lossy().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&data, &args);
    let (n, _) = crate::count(&data);
    (input, data, n, geo_db.is_some())
}

#[test]
fn serve_answers_elasticsearch_clients_and_its_own_api() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, data, events, geo) = dataset(tmp.path());
    let server = start(
        &data,
        &tmp.path().join("serve.log"),
        &["--max-body-bytes", "100000"],
        Some(TOKEN),
    );
    let addr = server.addr;

    // Real clients, checked against DuckDB over the input files.
    let url = format!("http://{addr}/_elastic");
    let (ok, report) = crate::python(
        "es_clients.py",
        &[
            "--url".as_ref(),
            url.as_ref(),
            "--token".as_ref(),
            TOKEN.as_ref(),
            "--input".as_ref(),
            input.as_os_str(),
        ],
    );
    assert!(ok, "Elasticsearch/OpenSearch client checks failed: {report}");
    assert!(report.contains("all checks passed"), "{report}");

    // Authentication: health is open, everything else needs a valid token.
    assert_eq!(http(addr, "GET", "/api/health", None, b"", &[]).status, 200);
    let denied = http(addr, "GET", "/_elastic/", None, b"", &[]);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.json()["error"]["type"], "security_exception");
    assert_eq!(
        http(
            addr,
            "GET",
            "/_elastic/",
            Some("Bearer wrong-token-0123456789"),
            b"",
            &[]
        )
        .status,
        401
    );
    assert_eq!(http(addr, "POST", "/api/sql", None, b"SELECT 1", &[]).status, 401);

    // SQL: JSON rows, Arrow IPC, and no writes.
    let r = http(
        addr,
        "POST",
        "/api/sql",
        Some(&bearer()),
        br#"{"query": "SELECT count(*) AS n FROM cloudtrail"}"#,
        &[],
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["rows"][0]["n"], events);
    let r = http(
        addr,
        "POST",
        "/api/sql",
        Some(&bearer()),
        b"SELECT eventname FROM cloudtrail LIMIT 3",
        &[("Accept", "application/vnd.apache.arrow.stream")],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("application/vnd.apache.arrow.stream"),
        "{}",
        r.head
    );
    assert_eq!(
        r.body.get(..4),
        Some(&[0xff, 0xff, 0xff, 0xff][..]),
        "an Arrow IPC stream starts with a continuation marker"
    );
    let r = http(
        addr,
        "POST",
        "/api/sql",
        Some(&bearer()),
        b"CREATE TABLE x AS SELECT 1",
        &[],
    );
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let r = http(
        addr,
        "POST",
        "/api/sql",
        Some(&bearer()),
        b"SELECT nosuchcolumn FROM cloudtrail",
        &[],
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nosuchcolumn")
    );

    // Field discovery: columns with exact counts, paths inside JSON text from a sample.
    let r = http(addr, "GET", "/api/fields", Some(&bearer()), b"", &[]);
    assert_eq!(r.status, 200);
    let fields = r.json();
    let list = fields["fields"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| list.iter().find(|f| f["name"] == name).cloned();
    assert_eq!(
        find("eventSource").map(|f| f["count"].clone()),
        Some(serde_json::json!(events))
    );
    assert_eq!(
        find("eventTime").map(|f| f["type"].clone()),
        Some(serde_json::json!("date"))
    );
    let nested = find("requestParameters.cluster").expect("requestParameters.cluster discovered");
    assert!(
        nested["count"].as_u64().unwrap_or(0) > 0 && nested["json_path"] == true,
        "{nested}"
    );

    // Geo aggregations on the enriched points.
    let body = br#"{"size":0,"aggs":{"tiles":{"geotile_grid":{"field":"geoip.location","precision":3},"aggs":{"c":{"geo_centroid":{"field":"geoip.location"}}}},"hash":{"geohash_grid":{"field":"geoip.location","precision":2}}}}"#;
    let r = http(addr, "POST", "/_elastic/cloudtrail/_search", Some(&bearer()), body, &[]);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    if geo {
        let tile = &v["aggregations"]["tiles"]["buckets"][0];
        assert!(tile["key"].as_str().is_some_and(|k| k.starts_with("3/")), "{tile}");
        assert!(tile["c"]["location"]["lat"].is_number(), "{tile}");
        assert!(
            v["aggregations"]["hash"]["buckets"][0]["key"]
                .as_str()
                .is_some_and(|k| k.len() == 2)
        );
    } else {
        eprintln!("SKIPPED geo checks: the MaxMind test database (../shared) is absent");
    }

    // Limits answer with Elasticsearch-shaped errors.
    let body =
        br#"{"size":0,"aggs":{"a":{"date_histogram":{"field":"eventtime","fixed_interval":"1s","min_doc_count":0}}}}"#;
    let r = http(addr, "POST", "/_elastic/cloudtrail/_search", Some(&bearer()), body, &[]);
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (400, serde_json::json!("too_many_buckets_exception"))
    );
    let r = http(
        addr,
        "POST",
        "/_elastic/cloudtrail/_search",
        Some(&bearer()),
        br#"{"size": 20000}"#,
        &[],
    );
    assert_eq!(r.status, 400);
    let big = vec![b' '; 200_000];
    let r = http(addr, "POST", "/_elastic/cloudtrail/_search", Some(&bearer()), &big, &[]);
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    let r = http(addr, "GET", "/_elastic/otherindex/_search", Some(&bearer()), b"", &[]);
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (404, serde_json::json!("index_not_found_exception"))
    );

    // Metrics count what happened.
    let r = http(addr, "GET", "/metrics", Some(&bearer()), b"", &[]);
    let text = String::from_utf8_lossy(&r.body).to_string();
    assert!(
        text.contains("trailscope_http_requests_total{route=\"/_elastic/{index}/_search\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains(&format!("trailscope_table_events {events}")), "{text}");
    let unauthorized: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("trailscope_unauthorized_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(unauthorized >= 3, "{text}");

    // New data shows up without a restart.
    let more = tempfile::tempdir().expect("tempdir");
    let more_s = more.path().join("more");
    run(
        &data,
        &[
            "demo",
            "--no-ingest",
            "--events",
            "500",
            "--days",
            "1",
            "--seed",
            "8",
            "--out",
            more_s.to_str().expect("utf8"),
        ],
    );
    run(&data, &["ingest", more_s.to_str().expect("utf8")]);
    let (after, _) = crate::count(&data);
    let mut seen = 0;
    for _ in 0..50 {
        let r = http(addr, "POST", "/_elastic/_count", Some(&bearer()), b"", &[]);
        seen = r.json()["count"].as_u64().unwrap_or(0);
        if seen == after {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen, after, "the server did not pick up the new table version");

    // The log records requests but never the token.
    drop(server);
    let log = std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
    assert!(log.contains("request"), "no request log lines:\n{log}");
    assert!(!log.contains(TOKEN), "the API token appears in the log");
}

#[test]
fn serve_refuses_a_public_address_without_authentication() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .arg("--data-dir")
        .arg(tmp.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("TRAILSCOPE_API_TOKENS")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without authentication"),
        "{err}"
    );
    assert!(err.contains("TRAILSCOPE_API_TOKENS"), "{err}");

    // With a token it starts (on a free port of every interface) and asks for it.
    let server = {
        let mut cmd = bin();
        cmd.arg("--data-dir")
            .arg(tmp.path())
            .args(["serve", "--listen", "0.0.0.0:0"])
            .env("TRAILSCOPE_API_TOKENS", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start");
        let addr = listening_addr(&mut child).unwrap_or_else(|line| panic!("no address in {line:?}"));
        (child, addr)
    };
    let (mut child, addr) = server;
    assert_eq!(http(addr, "GET", "/_elastic/", None, b"", &[]).status, 401);
    assert_eq!(http(addr, "GET", "/_elastic/", Some(&bearer()), b"", &[]).status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn users_from_the_config_file_log_in_with_basic_auth() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut hasher = bin()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run");
    hasher
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery\n")
        .expect("write");
    let out = hasher.wait_with_output().expect("hash");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let config = tmp.path().join("trailscope.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[[server.users]]\nname = \"auditor\"\npassword_hash = \"{hash}\"\n"
        ),
    )
    .expect("write config");
    let mut child = bin()
        .arg("--data-dir")
        .arg(tmp.path())
        .arg("serve")
        .env_remove("TRAILSCOPE_API_TOKENS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let addr = listening_addr(&mut child).unwrap_or_else(|line| panic!("no address in {line:?}"));
    // base64("auditor:correct horse battery") and base64("auditor:wrong")
    let good = "Basic YXVkaXRvcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=";
    let bad = "Basic YXVkaXRvcjp3cm9uZw==";
    assert_eq!(http(addr, "GET", "/_elastic/", None, b"", &[]).status, 401);
    assert_eq!(http(addr, "GET", "/_elastic/", Some(bad), b"", &[]).status, 401);
    assert_eq!(http(addr, "POST", "/_elastic/_count", Some(good), b"", &[]).status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn heavy_queries_are_stopped_with_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, data, _, _) = dataset(tmp.path());
    let search = br#"{"size":0,"aggs":{"ids":{"terms":{"field":"eventID","size":10000}}}}"#;

    let tight = start(&data, &tmp.path().join("memory.log"), &["--query-memory-mb", "1"], None);
    let r = http(tight.addr, "POST", "/_elastic/cloudtrail/_search", None, search, &[]);
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["type"], "circuit_breaking_exception");
    // The server is fine afterwards.
    assert_eq!(http(tight.addr, "POST", "/_elastic/_count", None, b"", &[]).status, 200);
    let _ = &tight.log;
    drop(tight);

    let slow = start(
        &data,
        &tmp.path().join("timeout.log"),
        &["--query-timeout", "0.001"],
        None,
    );
    let r = http(
        slow.addr,
        "POST",
        "/_elastic/cloudtrail/_search",
        None,
        br#"{"query":{"query_string":{"query":"denied"}}}"#,
        &[],
    );
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"]["type"], "search_timeout_exception");
    assert_eq!(http(slow.addr, "GET", "/api/health", None, b"", &[]).status, 200);
}
