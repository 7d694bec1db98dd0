//! S3 sources end to end against a real S3 server (moto, see `s3.rs`): polling that neither
//! misses nor repeats an object (new objects, late deliveries, `since`, a `kill -9` mid-way),
//! faults injected by a proxy (`tests/python/fault_proxy.py`: throttling, 500s, resets, slow and
//! truncated bodies) changing nothing, objects that keep failing quarantined and retried, and
//! `serve` running a source with its status on the API and in the metrics.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::s3::{Moto, User, setup, start_moto};
use crate::{bin, count, repo, run, text};

/// The moto server, its users, and a generated dataset (three days ending today) uploaded beside
/// the fixtures; `want` is what a local ingest of the same files holds.
struct World {
    tmp: tempfile::TempDir,
    moto: Moto,
    reader: User,
    admin: User,
    lister: User,
    synth: PathBuf,
    want: (u64, u64),
}

fn world(events: &str) -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, mut users) = setup(&moto, "trail");
    let synth = generate(tmp.path(), events, "5");
    let admin = users.remove("admin").expect("admin");
    python_as(
        &admin,
        "s3_upload_tree.py",
        &[&moto.endpoint, "trail", &synth.to_string_lossy()],
        "",
    );
    let local = tmp.path().join("local");
    run(
        &local,
        &[
            "--no-geoip",
            "ingest",
            &crate::fixtures().to_string_lossy(),
            &synth.to_string_lossy(),
        ],
    );
    let want = count(&local);
    World {
        moto,
        reader: users.remove("reader").expect("reader"),
        lister: users.remove("lister").expect("lister"),
        admin,
        synth,
        want,
        tmp,
    }
}

/// Three days of generated logs ending today, in `<dir>/synth` under CloudTrail's key layout.
fn generate(dir: &Path, events: &str, seed: &str) -> PathBuf {
    let synth = dir.join("synth");
    let out = bin()
        .arg("--data-dir")
        .arg(dir.join("scratch"))
        .args([
            "demo",
            "--no-ingest",
            "--events",
            events,
            "--days",
            "3",
            "--seed",
            seed,
            "--out",
        ])
        .arg(&synth)
        .output()
        .expect("demo");
    assert!(out.status.success(), "{}", text(&out));
    synth
}

/// Writes `<data>/trailscope.toml` with one source `trail` read through `endpoint`.
fn configure(data: &Path, endpoint: &str, user: &User, extra: &str) {
    std::fs::create_dir_all(data).expect("data dir");
    let toml = format!(
        "[[sources]]\nname = \"trail\"\nurl = \"s3://trail/AWSLogs/\"\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n{extra}\n",
        user.id, user.secret
    );
    std::fs::write(data.join("trailscope.toml"), toml).expect("config");
}

fn trailscope(data: &Path, args: &[&str]) -> Command {
    let mut c = bin();
    c.arg("--data-dir")
        .arg(data)
        .arg("--no-geoip")
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3");
    c
}

fn poll(data: &Path) -> Output {
    trailscope(data, &["sources", "poll"]).output().expect("sources poll")
}

fn status(data: &Path) -> serde_json::Value {
    let out = trailscope(data, &["sources", "list", "--format", "json"])
        .output()
        .expect("sources list");
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v[0].clone()
}

/// A CloudTrail file of `n` events with ids unique to `tag`.
fn events_file(dir: &Path, tag: u32, n: u32) -> PathBuf {
    let records: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"eventVersion":"1.08","eventTime":"2024-01-29T10:00:0{i}Z","eventSource":"ecs.amazonaws.com","eventName":"ListClusters","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","eventID":"7e57{tag:04}-0000-4000-8000-{i:012}","eventType":"AwsApiCall","recipientAccountId":"111122223333","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"}}}}"#
            )
        })
        .collect();
    let path = dir.join(format!("new-{tag}.json"));
    std::fs::write(&path, format!("{{\"Records\":[{}]}}", records.join(","))).expect("write");
    path
}

fn put(w: &World, key: &str, file: &Path) {
    python_as(
        &w.admin,
        "s3_put.py",
        &[&w.moto.endpoint, "trail", key, &file.to_string_lossy()],
        "",
    );
}

/// A region folder of the generated data (`AWSLogs/<account>/CloudTrail/<region>/`).
fn synth_region(w: &World) -> String {
    let accounts = w.synth.join("AWSLogs");
    let account = std::fs::read_dir(&accounts)
        .expect("accounts")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .min()
        .expect("an account");
    let regions = accounts.join(&account).join("CloudTrail");
    let region = std::fs::read_dir(&regions)
        .expect("regions")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .min()
        .expect("a region");
    format!("AWSLogs/{account}/CloudTrail/{region}/")
}

fn day(offset: i64) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Duration::days(offset)
}

#[test]
fn polling_never_misses_or_repeats_an_object() {
    let w = world("20000");
    let data = w.tmp.path().join("polled");
    configure(&data, &w.moto.endpoint, &w.reader, "");

    // A first poll killed mid-way (small commits, so some are made), then a whole one.
    let mut child = trailscope(&data, &["sources", "poll", "--commit-bytes", "100000"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let log = data.join("cloudtrail/_delta_log/00000000000000000002.json");
    let started = Instant::now();
    while !log.exists() && child.try_wait().expect("wait").is_none() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("the first poll was killed mid-way: {killed}");
    let out = poll(&data);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        count(&data),
        w.want,
        "after a kill -9 (killed: {killed}), every event once"
    );

    // Nothing new: nothing read.
    let out = poll(&data);
    assert!(text(&out).contains("trail: 0 new objects"), "{}", text(&out));
    assert_eq!(count(&data), w.want);

    // A new object after the last key of today, and a late one in yesterday's folder that sorts
    // before keys already handled there: both are found, once.
    let region = synth_region(&w);
    let newer = format!(
        "{region}{}/111122223333_CloudTrail_us-east-1_{}T2359Z_newer.json",
        day(0).format("%Y/%m/%d"),
        day(0).format("%Y%m%d")
    );
    let late = format!(
        "{region}{}/111122223333_CloudTrail_us-east-1_{}T0000Z_late.json",
        day(1).format("%Y/%m/%d"),
        day(1).format("%Y%m%d")
    );
    put(&w, &newer, &events_file(w.tmp.path(), 1, 2));
    put(&w, &late, &events_file(w.tmp.path(), 2, 3));
    let out = poll(&data);
    assert!(
        text(&out).contains("trail: 2 new objects: 2 ingested (5 events)"),
        "{}",
        text(&out)
    );
    assert_eq!(count(&data), (w.want.0 + 5, w.want.1 + 5));
    let out = poll(&data);
    assert!(text(&out).contains("trail: 0 new objects"), "{}", text(&out));

    // Status: figures, the key id's last four characters, never the secret.
    let s = status(&data);
    assert_eq!(s["status"]["health"], "ok", "{s}");
    assert!(s["status"]["totals"]["objects"].as_u64() > Some(10), "{s}");
    assert!(
        s["status"]["last_object"]
            .as_str()
            .is_some_and(|o| o.starts_with("s3://trail/")),
        "{s}"
    );
    let last4: String = w.reader.id.chars().skip(w.reader.id.len() - 4).collect();
    assert_eq!(s["settings"]["access_key_id"], format!("…{last4}"), "{s}");
    let shown = s.to_string();
    assert!(
        !shown.contains(&w.reader.secret) && !shown.contains(&w.reader.id),
        "{shown}"
    );

    // `since` bounds a backfill: only the last two days, as a local ingest of those folders.
    let since = w.tmp.path().join("since");
    configure(&since, &w.moto.endpoint, &w.reader, &format!("since = \"{}\"", day(1)));
    let out = poll(&since);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let reference = w.tmp.path().join("since-reference");
    let mut folders: Vec<String> = Vec::new();
    for entry in walk(&w.synth) {
        let s = entry.to_string_lossy().to_string();
        if [day(0), day(1)]
            .iter()
            .any(|d| s.contains(&format!("/{}/", d.format("%Y/%m/%d"))))
        {
            folders.push(s);
        }
    }
    folders.push(events_file(w.tmp.path(), 1, 2).to_string_lossy().to_string());
    folders.push(events_file(w.tmp.path(), 2, 3).to_string_lossy().to_string());
    let mut args = vec!["--no-geoip", "ingest"];
    args.extend(folders.iter().map(String::as_str));
    run(&reference, &args);
    assert_eq!(count(&since), count(&reference), "since {}", day(1));
    assert!(count(&since).0 < w.want.0);
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub(crate) struct Proxy {
    child: Child,
    pub(crate) endpoint: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_proxy(upstream: &str, rate: f64) -> Proxy {
    let mut child = Command::new("python3")
        .arg(repo().join("tests/python/fault_proxy.py"))
        .args([upstream, "--rate", &rate.to_string(), "--seed", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start fault_proxy.py");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line).expect("proxy port");
    }
    let port = line
        .trim()
        .strip_prefix("listening ")
        .expect("listening PORT")
        .to_string();
    Proxy {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

pub(crate) fn proxy_call(p: &Proxy, path: &str, body: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode() or None)).read().decode())",
        ])
        .arg(format!("{}{path}", p.endpoint))
        .arg(body)
        .output()
        .expect("proxy control");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("proxy said: {}", text(&out)))
}

#[test]
fn faults_change_nothing_and_objects_that_keep_failing_are_quarantined() {
    let w = world("20000");

    // Throttling, 500s, resets, slow and truncated bodies on 30% of the requests: a backfill
    // and a poll through them hold what the local ingest holds.
    let proxy = start_proxy(&w.moto.endpoint, 0.3);
    let backfill = w.tmp.path().join("backfill");
    let out = trailscope(
        &backfill,
        &[
            "ingest",
            "s3://trail/AWSLogs/",
            "--endpoint-url",
            &proxy.endpoint,
            "--region",
            "us-east-1",
        ],
    )
    .env("AWS_ACCESS_KEY_ID", &w.reader.id)
    .env("AWS_SECRET_ACCESS_KEY", &w.reader.secret)
    .output()
    .expect("ingest");
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", text(&out));
    assert_eq!(count(&backfill), w.want, "backfill through faults");
    let polled = w.tmp.path().join("polled");
    configure(&polled, &proxy.endpoint, &w.reader, "");
    let out = poll(&polled);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(count(&polled), w.want, "poll through faults");
    let stats = proxy_call(&proxy, "/__proxy/stats", "");
    for kind in ["503", "500", "reset", "slow", "truncate"] {
        assert!(stats["faults"][kind].as_u64() >= Some(1), "{kind} injected: {stats}");
    }

    // One object is denied on every read: it fails, then is quarantined with the reason, while
    // everything else is ingested; asked to retry once the denial is lifted, it is read.
    proxy_call(&proxy, "/__proxy/rate", r#"{"rate": 0}"#);
    let region = synth_region(&w);
    let victim = walk(&w.synth.join(&region))
        .into_iter()
        .min()
        .expect("a generated file");
    let key = victim
        .strip_prefix(&w.synth)
        .expect("below synth")
        .to_string_lossy()
        .to_string();
    proxy_call(&proxy, "/__proxy/deny", &format!(r#"{{"keys": ["{key}"]}}"#));
    let data = w.tmp.path().join("quarantine");
    configure(&data, &proxy.endpoint, &w.reader, "max_attempts = 2");
    let first = poll(&data);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(
        text(&first).contains(&format!("cannot read {key} (attempt 1)")) && text(&first).contains("s3:GetObject"),
        "{}",
        text(&first)
    );
    let partial = count(&data);
    assert!(partial.0 > 0 && partial.0 < w.want.0, "{partial:?}");
    let second = poll(&data);
    assert!(text(&second).contains("1 quarantined now"), "{}", text(&second));
    let q = trailscope(&data, &["quarantine", "--format", "json"])
        .output()
        .expect("quarantine");
    assert!(
        text(&q).contains(&format!("s3://trail/{key}")) && text(&q).contains("could not be read in 2 polls"),
        "{}",
        text(&q)
    );
    assert_eq!(status(&data)["status"]["quarantined_objects"], 1);
    let third = poll(&data);
    assert!(
        text(&third).contains("trail: 0 new objects"),
        "left alone: {}",
        text(&third)
    );

    proxy_call(&proxy, "/__proxy/deny", r#"{"keys": []}"#);
    let out = trailscope(&data, &["sources", "retry", "trail"])
        .output()
        .expect("retry");
    assert!(out.status.success(), "{}", text(&out));
    let out = poll(&data);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 ingested"), "{}", text(&out));
    assert_eq!(count(&data), w.want);
    assert_eq!(status(&data)["status"]["quarantined_objects"], 0);
}

#[test]
fn serve_polls_its_sources_and_shows_their_status() {
    let w = world("5000");
    let data = w.tmp.path().join("served");
    configure(&data, &w.moto.endpoint, &w.reader, "poll_interval_secs = 0.5");
    let log = w.tmp.path().join("serve.log");
    let server = crate::serve::start(&data, &log, &["--no-geoip"], None);
    let get = |path: &str| crate::serve::http(server.addr, "GET", path, None, b"", &[]);
    let events = || {
        let r = crate::serve::http(server.addr, "POST", "/_elastic/cloudtrail/_count", None, b"{}", &[]);
        r.json()["count"].as_u64().unwrap_or(0)
    };
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !f() {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "{what} did not happen; sources: {}; log: {}",
                get("/api/sources").json(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("the backfill", &|| events() == w.want.0);

    let sources = get("/api/sources").json();
    let s = &sources["sources"][0];
    assert_eq!(s["name"], "trail", "{sources}");
    assert_eq!(s["status"]["health"], "ok", "{sources}");
    assert!(s["status"]["lag_seconds"].as_f64().is_some(), "{sources}");
    let shown = sources.to_string();
    assert!(
        !shown.contains(&w.reader.secret) && !shown.contains(&w.reader.id),
        "{shown}"
    );
    let metrics = String::from_utf8_lossy(&get("/metrics").body).to_string();
    assert!(
        metrics.contains("trailscope_source_up{source=\"trail\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("trailscope_source_objects_total{source=\"trail\"}"),
        "{metrics}"
    );

    // A new object shows up in search on its own.
    let region = synth_region(&w);
    let key = format!(
        "{region}{}/111122223333_CloudTrail_us-east-1_{}T2359Z_served.json",
        day(0).format("%Y/%m/%d"),
        day(0).format("%Y%m%d")
    );
    put(&w, &key, &events_file(w.tmp.path(), 3, 4));
    wait_for("the new object", &|| events() == w.want.0 + 4);

    // The access check on the API: green for the reader, the missing permission for the lister.
    let check = |user: &User| {
        let body = serde_json::json!({
            "url": "s3://trail/AWSLogs/",
            "region": "us-east-1",
            "endpoint_url": w.moto.endpoint,
            "access_key_id": user.id,
            "secret_access_key": user.secret,
        });
        crate::serve::http(
            server.addr,
            "POST",
            "/api/s3-check",
            None,
            body.to_string().as_bytes(),
            &[],
        )
        .json()
    };
    let ok = check(&w.reader);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["message"], "the bucket can now be accessed", "{ok}");
    let denied = check(&w.lister);
    assert_eq!(denied["ok"], false, "{denied}");
    assert_eq!(denied["permissions"]["s3:ListBucket"]["outcome"], "ok", "{denied}");
    assert_eq!(denied["permissions"]["s3:GetObject"]["outcome"], "failed", "{denied}");
    assert!(!denied.to_string().contains(&w.lister.secret), "{denied}");
    let lent = crate::serve::http(
        server.addr,
        "POST",
        "/api/s3-check",
        None,
        br#"{"url": "s3://trail/AWSLogs/"}"#,
        &[],
    );
    assert_eq!(lent.status, 400, "the server's own credentials are not lent");
    let unknown = crate::serve::http(server.addr, "POST", "/api/sources/nope/retry", None, b"{}", &[]);
    assert_eq!(unknown.status, 404);
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains(&w.reader.secret), "secrets stay out of the log");
}

/// A child process killed when the test ends, failed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_as(user: &User, script: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg(repo().join("tests/python").join(script))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &user.id)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(out.status.success(), "{script}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn two_consumers_of_one_queue_commit_each_event_once_when_one_is_killed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, mut users) = setup(&moto, "trail");
    let admin = users.remove("admin").expect("admin");
    let consumer = users.remove("consumer").expect("consumer");
    let e = moto.endpoint.as_str();

    // Two objects uploaded before the bucket notifies: CloudTrail's own notification will name them.
    let extra = tmp.path().join("extra");
    std::fs::create_dir_all(&extra).expect("extra");
    let named: Vec<(String, PathBuf)> = (0..2)
        .map(|i| {
            let key = format!("AWSLogs/111122223333/CloudTrail/us-west-2/2024/02/0{}/111122223333_CloudTrail_us-west-2_2024020{}T0000Z_ct{i}.json", i + 1, i + 1);
            (key, events_file(&extra, 20 + i, 3))
        })
        .collect();
    for (key, file) in &named {
        python_as(&admin, "s3_put.py", &[e, "trail", key, &file.to_string_lossy()], "");
    }
    let queue = python_as(&admin, "sqs_setup.py", &[e, "trail", "trail-events"], "");

    // Generated logs uploaded now: one S3 event each.
    let synth = generate(tmp.path(), "20000", "8");
    python_as(&admin, "s3_upload_tree.py", &[e, "trail", &synth.to_string_lossy()], "");

    // CloudTrail's notification through SNS, an S3 event delivered three times (S3 delivers at
    // least once), and a message that is no notification at all.
    let keys: Vec<&str> = named.iter().map(|(k, _)| k.as_str()).collect();
    let cloudtrail = serde_json::json!({"s3Bucket": "trail", "s3ObjectKey": keys}).to_string();
    let sns = serde_json::json!({"Type": "Notification", "Message": cloudtrail}).to_string();
    let dup_file = walk(&synth).into_iter().min().expect("a generated file");
    let dup_key = dup_file
        .strip_prefix(&synth)
        .expect("below")
        .to_string_lossy()
        .to_string();
    let size = std::fs::metadata(&dup_file).expect("size").len();
    let event = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": dup_key, "size": size}}}]})
    .to_string();
    let bodies = [
        sns,
        event.clone(),
        event.clone(),
        event,
        "hello, not a notification".to_string(),
    ]
    .join("\n");
    python_as(&admin, "sqs_send.py", &[e, &queue], &bodies);

    let reference = tmp.path().join("reference");
    run(
        &reference,
        &[
            "--no-geoip",
            "ingest",
            &synth.to_string_lossy(),
            &extra.to_string_lossy(),
        ],
    );
    let want = count(&reference);

    let data = tmp.path().join("consumed");
    configure(
        &data,
        e,
        &consumer,
        &format!("sqs_queue_url = \"{queue}\"\nvisibility_timeout_secs = 4\nmax_receives = 2\nwait_secs = 1"),
    );
    let consumer_process = |name: &str| {
        Killed(
            trailscope(&data, &["--log", "warn,trailscope_sources=info", "sources", "run"])
                .stderr(std::fs::File::create(tmp.path().join(format!("{name}.log"))).expect("log"))
                .spawn()
                .expect("sources run"),
        )
    };
    let mut a = consumer_process("a");
    let b = consumer_process("b");
    // A dies mid-way, with messages in flight: they come back to B once invisible no more.
    let log = data.join("cloudtrail/_delta_log/00000000000000000002.json");
    let started = Instant::now();
    while !log.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    a.0.kill().expect("kill -9");
    let _ = a.0.wait();

    let started = Instant::now();
    loop {
        let depth: u64 = python_as(&admin, "sqs_send.py", &[e, &queue, "--depth"], "")
            .parse()
            .expect("depth");
        if depth == 0 && count(&data) == want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "queue depth {depth}, table {:?}, want {want:?}; b's log: {}",
            count(&data),
            std::fs::read_to_string(tmp.path().join("b.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    drop(b);
    assert_eq!(count(&data), want, "every event exactly once");

    let q = trailscope(&data, &["quarantine", "--format", "json"])
        .output()
        .expect("quarantine");
    assert!(
        text(&q).contains("the message cannot be read: not JSON") && text(&q).contains("hello, not a notification"),
        "the poison message is quarantined: {}",
        text(&q)
    );
    let logs = ["a", "b"]
        .iter()
        .map(|n| std::fs::read_to_string(tmp.path().join(format!("{n}.log"))).unwrap_or_default())
        .collect::<String>();
    assert!(
        logs.contains("s3:TestEvent"),
        "the test event is acknowledged with a log line: {logs}"
    );
    assert!(!logs.contains(&consumer.secret), "secrets stay out of the log");
}
