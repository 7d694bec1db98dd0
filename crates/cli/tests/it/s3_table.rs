//! The table itself in S3 (`--data-dir s3://bucket/prefix`), against `moto_server` with IAM
//! enforcement on: ingest, SQL, stats, LookupEvents pages pinned to a version, `serve` following
//! new commits, and two writers committing into one table at once (conditional puts, see
//! `docs/adr/0001-concurrent-writers.md`). The writer's IAM user may list, get and put in the
//! bucket, nothing more.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::s3::{Moto, User, setup, start_moto};
use crate::serve::http;
use crate::{bin, fixtures, run, text};

/// `trailscope --data-dir <table> --state-dir <state>`, reaching moto as `user` through the
/// standard AWS variables only.
fn ts(moto: &Moto, user: &User, table: &str, state: &Path) -> Command {
    ts_at(&moto.endpoint, user, table, state)
}

fn ts_at(endpoint: &str, user: &User, table: &str, state: &Path) -> Command {
    let mut c = bin();
    c.args(["--data-dir", table])
        .arg("--state-dir")
        .arg(state)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", &user.id)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE");
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(matches!(out.status.code(), Some(0 | 3)), "{what}: {}", text(&out));
    out
}

fn counts(moto: &Moto, user: &User, table: &str, state: &Path) -> (u64, u64) {
    let out = ok(
        ts(moto, user, table, state)
            .args([
                "sql",
                "--format",
                "json",
                "SELECT count(*) AS n, count(DISTINCT eventid) AS d FROM cloudtrail",
            ])
            .output()
            .expect("run sql"),
        "sql",
    );
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json row");
    (row["n"].as_u64().expect("n"), row["d"].as_u64().expect("d"))
}

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no report ({e}): {}", text(out)))
}

/// What moto's admin user finds below `prefix` in the `trail` bucket: each object's key, or
/// with `contents` the text of each `.json` object on one line.
fn listed(moto: &Moto, admin: &User, prefix: &str, contents: bool) -> Vec<String> {
    let code = "import sys, boto3\n\
        s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\n\
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket='trail', Prefix=sys.argv[2]):\n\
        \x20   for o in page.get('Contents', []):\n\
        \x20       if sys.argv[3] == 'keys': print(o['Key'])\n\
        \x20       elif o['Key'].endswith('.json'): print(s3.get_object(Bucket='trail', Key=o['Key'])['Body'].read().decode().replace('\\n', ' '))\n";
    let what = if contents { "contents" } else { "keys" };
    let out = Command::new("python3")
        .args(["-c", code, &moto.endpoint, prefix, what])
        .env("AWS_ACCESS_KEY_ID", &admin.id)
        .env("AWS_SECRET_ACCESS_KEY", &admin.secret)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A CloudTrail file of `n` ECS events on 2024-02-0`day`, ids tagged with `tag`.
fn events_file(dir: &Path, tag: u32, day: u32, n: u32) -> PathBuf {
    let records: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"eventVersion":"1.08","eventTime":"2024-02-0{day}T10:{:02}:00Z","eventSource":"ecs.amazonaws.com","eventName":"ListClusters","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","eventID":"5a3f0c1e-0000-4000-{tag:04}-{i:012}","eventType":"AwsApiCall","recipientAccountId":"111122223333","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"}}}}"#,
                i % 60
            )
        })
        .collect();
    let path = dir.join(format!(
        "111122223333_CloudTrail_us-east-1_2024020{day}T1000Z_{tag}.json"
    ));
    std::fs::write(&path, format!("{{\"Records\":[{}]}}", records.join(","))).expect("write");
    path
}

#[test]
fn the_table_can_live_in_s3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, users) = setup(&moto, "trail");
    let writer = users.get("tablewriter").expect("tablewriter");
    let admin = users.get("admin").expect("admin");
    let local = tmp.path().join("local");
    run(&local, &["ingest", &fixtures().to_string_lossy()]);
    let want = crate::count(&local);

    // Backfill from the bucket's logs into a table in the same bucket.
    let table = "s3://trail/lake/prod";
    let state = tmp.path().join("state");
    let out = ok(
        ts(&moto, writer, table, &state)
            .args(["ingest", "s3://trail/AWSLogs/111122223333/CloudTrail/", "--json"])
            .output()
            .expect("run ingest"),
        "ingest",
    );
    assert!(report(&out)["files_ingested"].as_u64() > Some(5), "{}", text(&out));
    assert_eq!(
        counts(&moto, writer, table, &state),
        want,
        "the S3 table holds what a local one holds"
    );
    let stored = listed(&moto, admin, "lake/prod/cloudtrail/", false);
    assert!(
        stored
            .iter()
            .any(|k| k == "lake/prod/cloudtrail/_delta_log/00000000000000000000.json")
            && stored.iter().any(|k| k.ends_with(".parquet")),
        "the log and the Parquet files are in the bucket: {stored:?}"
    );
    assert!(!state.join("cloudtrail").exists(), "no local table");
    let stats = ok(
        ts(&moto, writer, table, &state)
            .args(["stats", "--format", "json"])
            .output()
            .expect("stats"),
        "stats",
    );
    assert!(
        text(&stats).contains("s3://trail/lake/prod/cloudtrail"),
        "{}",
        text(&stats)
    );

    // Credentials that may not write: the error says so, with the policy a table needs.
    let reader = users.get("reader").expect("reader");
    let file = events_file(tmp.path(), 9, 1, 2);
    let denied = ts(&moto, reader, "s3://trail/elsewhere", &state)
        .arg("ingest")
        .arg(&file)
        .output()
        .expect("ingest");
    let t = text(&denied);
    assert_eq!(denied.status.code(), Some(1), "{t}");
    assert!(
        t.contains("access denied") && t.contains("s3:PutObject") && t.contains("arn:aws:s3:::trail/elsewhere/*"),
        "{t}"
    );
    // Reading a location without a table creates none, and says what is wrong.
    let missing = ts(&moto, writer, "s3://trail/lake/prdo", &state)
        .args(["sql", "SELECT count(*) FROM cloudtrail"])
        .output()
        .expect("sql");
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing).contains("there is no trailscope table at s3://trail/lake/prdo/cloudtrail"),
        "{}",
        text(&missing)
    );
    let itself = ts(&moto, writer, "s3://trail/lake/prod/cloudtrail", &state)
        .arg("stats")
        .output()
        .expect("stats");
    assert!(text(&itself).contains("is itself the table"), "{}", text(&itself));
    assert!(listed(&moto, admin, "lake/prdo", false).is_empty(), "nothing created");
    assert!(
        listed(&moto, admin, "lake/prod/cloudtrail/cloudtrail", false).is_empty(),
        "nothing created"
    );

    // Again: nothing is added. Then a local file: only its events are.
    let again = ts(&moto, writer, table, &state)
        .args(["ingest", "s3://trail/AWSLogs/111122223333/CloudTrail/", "--json"])
        .output()
        .expect("run ingest");
    assert_eq!(report(&ok(again, "re-ingest"))["files_ingested"], 0);
    let first = events_file(tmp.path(), 1, 1, 5);
    ok(
        ts(&moto, writer, table, &state)
            .arg("ingest")
            .arg(&first)
            .output()
            .expect("ingest"),
        "ingest a file",
    );
    assert_eq!(counts(&moto, writer, table, &state), (want.0 + 5, want.1 + 5));

    // LookupEvents pages stay on the version their first page read (an older version of a
    // table in S3 is opened from its log there).
    let lookup = |args: &[&str]| {
        let out = ts(&moto, writer, table, &state)
            .args([
                "lookup-events",
                "--lookup-attributes",
                "AttributeKey=EventName,AttributeValue=ListClusters",
            ])
            .args(args)
            .output()
            .expect("lookup-events");
        assert!(out.status.success(), "{}", text(&out));
        crate::lookup::event_ids(&out)
    };
    let (before, _) = lookup(&[]);
    let (page, token) = lookup(&["--max-items", "2"]);
    assert_eq!(page, before[..2]);
    let second = events_file(tmp.path(), 2, 2, 3);
    ok(
        ts(&moto, writer, table, &state)
            .arg("ingest")
            .arg(&second)
            .output()
            .expect("ingest"),
        "ingest a newer file",
    );
    let (rest, _) = lookup(&["--starting-token", &token.expect("a token")]);
    assert_eq!(rest, before[2..], "pages continue on the first version");
    assert_eq!(
        lookup(&[]).0.len(),
        before.len() + 3,
        "a new lookup sees the newer events"
    );

    // `serve` on the S3 table answers, and follows commits made by another process.
    let log = tmp.path().join("serve.log");
    let mut serve = ts(&moto, writer, table, &state);
    serve
        .args(crate::serve::SERVE)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"));
    let server = crate::serve::Server::spawn(serve, &log);
    let count = || {
        let r = http(server.addr, "GET", "/_elastic/cloudtrail/_count", None, b"", &[]);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        r.json()["count"].as_u64().expect("count")
    };
    assert_eq!(count(), want.0 + 8);
    let third = events_file(tmp.path(), 3, 3, 4);
    ok(
        ts(&moto, writer, table, &state)
            .arg("ingest")
            .arg(&third)
            .output()
            .expect("ingest"),
        "ingest while serving",
    );
    let started = Instant::now();
    while count() != want.0 + 12 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not follow the new commit"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains(&writer.secret), "no secret in the log");

    // Compaction and vacuum (which deletes, so the admin runs it) keep every event.
    ok(
        ts(&moto, admin, table, &state)
            .args(["optimize", "--vacuum", "1"])
            .output()
            .expect("optimize"),
        "optimize",
    );
    assert_eq!(counts(&moto, writer, table, &state), (want.0 + 12, want.1 + 12));
}

/// Two processes ingest the same files into one new table in S3 at once, one commit per file:
/// they race to create the table and for every version. Each object is committed by one of
/// them, and each event is in the table once.
#[test]
fn two_writers_share_a_table_in_s3() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, users) = setup(&moto, "trail");
    let writer = users.get("tablewriter").expect("tablewriter");
    // The fixtures and 30 small files: enough commits that the writers collide many times.
    let input = tmp.path().join("input");
    std::fs::create_dir(&input).expect("mkdir");
    for tag in 0..30 {
        events_file(&input, tag, 1 + tag % 9, 3);
    }
    let local = tmp.path().join("local");
    let reference = report(&run(
        &local,
        &[
            "ingest",
            &fixtures().to_string_lossy(),
            &input.to_string_lossy(),
            "--json",
        ],
    ));
    let want = crate::count(&local);

    let table = "s3://trail/race";
    let spawn = |name: &str| {
        ts(&moto, writer, table, &tmp.path().join(name))
            .arg("ingest")
            .arg(fixtures())
            .arg(&input)
            .args(["--commit-bytes", "1", "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start ingest")
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let a = ok(a.wait_with_output().expect("wait"), "writer a");
    let b = ok(b.wait_with_output().expect("wait"), "writer b");
    let (a, b) = (report(&a), report(&b));
    let ingested = |r: &serde_json::Value| r["files_ingested"].as_u64().unwrap_or_default();
    assert_eq!(
        ingested(&a) + ingested(&b),
        ingested(&reference),
        "each object committed by one writer: {a} {b}"
    );
    assert_eq!(counts(&moto, writer, table, &tmp.path().join("a")), want);
    assert!(ingested(&a) > 0 && ingested(&b) > 0, "both writers committed: {a} {b}");
    let admin = users.get("admin").expect("admin");
    let creates = listed(&moto, admin, "race/cloudtrail/_delta_log/", true)
        .iter()
        .filter(|e| e.contains("\"metaData\""))
        .count();
    assert_eq!(
        creates, 1,
        "one table definition, by whichever writer created the table"
    );
    // moto logs each request with its status: a 412 is a commit S3 refused because the other
    // writer had taken that version.
    let moto_log = std::fs::read_to_string(tmp.path().join("moto.log")).unwrap_or_default();
    let refused = moto_log
        .lines()
        .filter(|l| l.contains("PUT /trail/race/cloudtrail/_delta_log/") && l.contains("\" 412"))
        .count();
    eprintln!(
        "writer a: {} objects in {} commits; writer b: {} in {}; {refused} commits refused by S3",
        ingested(&a),
        a["commits"],
        ingested(&b),
        b["commits"]
    );
}

/// A store that answers a conditional create of an existing object with success (as one that
/// ignores `If-None-Match` does) could let two writers both write one version: trailscope
/// finds out before its first commit and writes nothing.
#[test]
fn a_store_without_conditional_writes_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, users) = setup(&moto, "trail");
    let writer = users.get("tablewriter").expect("tablewriter");
    let proxy = crate::sources::start_proxy(&moto.endpoint, 0.0);
    crate::sources::proxy_call(&proxy, "/__proxy/ignore-conditions", r#"{"on": true}"#);
    let state = tmp.path().join("state");
    let file = events_file(tmp.path(), 1, 1, 5);
    let out = ts_at(&proxy.endpoint, writer, "s3://trail/unsafe", &state)
        .arg("ingest")
        .arg(&file)
        .output()
        .expect("ingest");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("overwrote an object written with If-None-Match"), "{t}");
    let admin = users.get("admin").expect("admin");
    assert_eq!(
        listed(&moto, admin, "unsafe/", false),
        ["unsafe/cloudtrail/_trailscope/conditional-put-probe"],
        "nothing but the probe was written"
    );

    // The same store, honest again: the same ingest commits.
    crate::sources::proxy_call(&proxy, "/__proxy/ignore-conditions", r#"{"on": false}"#);
    let out = ts_at(&proxy.endpoint, writer, "s3://trail/unsafe", &state)
        .arg("ingest")
        .arg(&file)
        .output()
        .expect("ingest");
    let out = ok(out, "ingest");
    assert_eq!(
        counts(&moto, writer, "s3://trail/unsafe", &state),
        (5, 5),
        "{}",
        text(&out)
    );
}
