//! LookupEvents end to end: the real AWS CLI and boto3 against `trailscope serve`
//! (`tests/python/lookup_clients.py` checks every answer against its own reading of the fixture
//! files and against AWS's own answers in `tests/fixtures/plaso`), `trailscope lookup-events`
//! against `aws cloudtrail lookup-events`, pages that stay put while data arrives, and the keys
//! file rules.
//!
//! `awscli` and `boto3` come from `tests/python/requirements.txt` (CI installs them).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::serve::start;
use crate::{bin, fixtures, run};

const KEY_ID: &str = "AKIDTRAILSCOPETEST01";
const SECRET: &str = "tR41lsc0pe-test-secret-not-for-production";

fn keys_file(dir: &Path, mode: u32) -> PathBuf {
    let path = dir.join("access-keys");
    std::fs::write(&path, format!("# test keys\n{KEY_ID} {SECRET}\n")).expect("write keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    path
}

fn lookup(data: &Path, args: &[&str], endpoint: Option<&str>) -> Output {
    let mut c = bin();
    c.arg("--data-dir").arg(data).arg("lookup-events").args(args);
    if let Some(e) = endpoint {
        c.args(["--endpoint-url", e])
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET);
    }
    let out = c.output().expect("run lookup-events");
    assert!(
        out.status.success(),
        "lookup-events {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn event_ids(out: &Output) -> (Vec<String>, Option<String>) {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    let ids = v["Events"]
        .as_array()
        .expect("Events")
        .iter()
        .map(|e| e["EventId"].as_str().expect("EventId").to_string())
        .collect();
    (ids, v["NextToken"].as_str().map(str::to_string))
}

#[test]
fn aws_cli_and_boto3_get_what_aws_would_answer() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    run(&data, &["ingest", fixtures().to_str().expect("utf-8 path")]);
    let keys = keys_file(tmp.path(), 0o600);
    let log = tmp.path().join("serve.log");
    let server = start(&data, &log, &["--access-keys", keys.to_str().expect("path")], None);
    let endpoint = format!("http://{}", server.addr);
    let fixtures = fixtures();
    let (ok, report) = crate::python(
        "lookup_clients.py",
        &[
            "--endpoint".as_ref(),
            endpoint.as_ref(),
            "--fixtures".as_ref(),
            fixtures.as_os_str(),
            "--trailscope".as_ref(),
            env!("CARGO_BIN_EXE_trailscope").as_ref(),
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--key".as_ref(),
            KEY_ID.as_ref(),
            "--secret".as_ref(),
            SECRET.as_ref(),
        ],
    );
    assert!(ok, "AWS CLI/boto3 checks failed: {report}");
    eprintln!("{}", report.lines().last().unwrap_or_default());
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("refused a signed request"),
        "refusals are logged:\n{logged}"
    );
    assert!(!logged.contains(SECRET), "the secret must never be logged");
}

/// A token names the table version its first page read, so the pages after it list exactly
/// what was there, while new data is ingested in between; a new lookup sees the new data.
#[test]
fn pages_stay_on_their_table_version_while_data_arrives() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let first = fixtures().join("plaso");
    let later = fixtures().join("stratus-red-team");
    run(&data, &["ingest", first.to_str().expect("path")]);
    let keys = keys_file(tmp.path(), 0o600);
    let log = tmp.path().join("serve.log");
    let server = start(&data, &log, &["--access-keys", keys.to_str().expect("path")], None);
    let endpoint = format!("http://{}", server.addr);

    let (before, _) = event_ids(&lookup(&data, &[], None));
    assert_eq!(before.len(), 6, "plaso's six events");
    let (local_page, local_token) = event_ids(&lookup(&data, &["--max-items", "2"], None));
    let (remote_page, remote_token) = event_ids(&lookup(&data, &["--max-items", "2"], Some(&endpoint)));
    assert_eq!(local_page, before[..2]);
    assert_eq!(remote_page, before[..2]);

    // The stratus-red-team events are newer than plaso's: a moving table would put them on
    // the next pages.
    run(&data, &["ingest", later.to_str().expect("path")]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (after, _) = event_ids(&lookup(&data, &[], Some(&endpoint)));
    assert_eq!(after.len(), 8, "a new lookup sees the new events");

    let local_token = local_token.expect("a token after 2 of 6");
    let (rest, token) = event_ids(&lookup(&data, &["--starting-token", &local_token], None));
    assert_eq!(rest, before[2..], "local pages continue on the first version");
    assert_eq!(token, None);
    let remote_token = remote_token.expect("a token after 2 of 6");
    let (rest, _) = event_ids(&lookup(&data, &["--starting-token", &remote_token], Some(&endpoint)));
    assert_eq!(rest, before[2..], "server pages continue on the first version");
}

#[cfg(unix)]
#[test]
fn serve_refuses_a_keys_file_that_others_can_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let keys = keys_file(tmp.path(), 0o644);
    let out = bin()
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--access-keys"])
        .arg(&keys)
        .output()
        .expect("run serve");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve must not start");
    assert!(err.contains("chmod 600") && err.contains("mode 644"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

/// Without access keys, a loopback server with no other authentication answers unsigned
/// requests (as its other APIs do); one with API tokens but no keys refuses them.
#[test]
fn without_access_keys_only_an_open_loopback_server_answers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    run(&data, &["ingest", fixtures().join("plaso").to_str().expect("path")]);
    let target = [(
        "X-Amz-Target",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
    )];
    let body = br#"{"MaxResults": 2}"#;
    let open = start(&data, &tmp.path().join("open.log"), &[], None);
    let r = crate::serve::http(open.addr, "POST", "/", None, body, &target);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["Events"].as_array().map(Vec::len), Some(2));
    drop(open);
    let token = "a-test-token-of-enough-length-0123";
    let guarded = start(&data, &tmp.path().join("guarded.log"), &[], Some(token));
    let r = crate::serve::http(guarded.addr, "POST", "/", None, body, &target);
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["__type"], "AccessDeniedException");
    assert!(r.json().get("Events").is_none());
}
