//! S3 end to end against a real S3 server: `moto_server` (PyPI `moto[server]`, from
//! `tests/python/requirements.txt`) on loopback, holding the fixtures under CloudTrail's key
//! layout, with IAM users whose policies allow only part of what trailscope needs and moto's
//! policy enforcement on (`tests/python/s3_setup.py`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{bin, fixtures, repo, text};

pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub(crate) fn start_moto(log: &Path) -> Moto {
    let port = free_port();
    // `python3 -m`, not the `moto_server` script: a fresh pyenv has no shim for new scripts
    // until it rehashes.
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("start python3 -m moto.server: pip install -r tests/python/requirements.txt");
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not start (pip install -r tests/python/requirements.txt); its log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { child, endpoint }
}

pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) fn setup(moto: &Moto, bucket: &str) -> (Vec<String>, std::collections::HashMap<String, User>) {
    let out = Command::new("python3")
        .arg(repo().join("tests/python/s3_setup.py"))
        .args([&moto.endpoint, bucket])
        .arg(fixtures())
        .output()
        .expect("run s3_setup.py");
    assert!(
        out.status.success(),
        "s3_setup.py failed (pip install -r tests/python/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("setup json");
    let objects = v["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let users = v["users"]
        .as_object()
        .expect("users")
        .iter()
        .map(|(name, u)| {
            let user = User {
                id: u["id"].as_str().expect("id").into(),
                secret: u["secret"].as_str().expect("secret").into(),
            };
            (name.clone(), user)
        })
        .collect();
    (objects, users)
}

fn s3_check(endpoint: &str, id: &str, secret: &str, url: &str) -> Output {
    bin()
        .args(["s3-check", url, "--endpoint-url", endpoint, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .output()
        .expect("run trailscope s3-check")
}

#[test]
fn the_access_check_names_what_is_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (objects, users) = setup(&moto, "trail");
    assert!(objects.len() >= 5, "fixtures uploaded: {objects:?}");
    let e = &moto.endpoint;
    let user = |n: &str| users.get(n).unwrap_or_else(|| panic!("user {n}"));

    // Both permissions: exit 0 and the seed's green message.
    let reader = user("reader");
    let ok = s3_check(e, &reader.id, &reader.secret, "s3://trail");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("the bucket can now be accessed"), "{}", text(&ok));

    // List only: GetObject is missing, and the statement that grants it is shown.
    let lister = user("lister");
    let out = s3_check(e, &lister.id, &lister.secret, "s3://trail");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("ok    s3:ListBucket"), "{t}");
    assert!(t.contains("FAIL  s3:GetObject: access denied"), "{t}");
    assert!(
        t.contains(r#""Action": "s3:GetObject""#) && t.contains(r#""Resource": "arn:aws:s3:::trail/*""#),
        "{t}"
    );
    assert!(!t.contains("digest"), "a log file is read, not a digest: {t}");

    // Get only: ListBucket is missing.
    let getter = user("getter");
    let out = s3_check(e, &getter.id, &getter.secret, "s3://trail");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("FAIL  s3:ListBucket: access denied"), "{t}");
    assert!(
        t.contains(r#""Action": "s3:ListBucket""#) && t.contains(r#""Resource": "arn:aws:s3:::trail""#),
        "{t}"
    );

    // Bad credentials, each named, and the secret never printed.
    let out = s3_check(e, &reader.id, "not-the-secret-at-all", "s3://trail");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("SignatureDoesNotMatch"), "{t}");
    assert!(
        !t.contains("not-the-secret-at-all") && !t.contains(&reader.secret),
        "secrets stay secret: {t}"
    );
    let out = s3_check(e, "AKIAUNKNOWNUNKNOWN00", "whatever", "s3://trail");
    assert!(text(&out).contains("InvalidAccessKeyId"), "{}", text(&out));

    // A shared profile (AWS_PROFILE) gives the credentials and the region, as for the AWS CLI.
    let aws = tempfile::tempdir().expect("aws dir");
    std::fs::write(
        aws.path().join("credentials"),
        format!(
            "[trail-reader]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            reader.id, reader.secret
        ),
    )
    .expect("credentials");
    std::fs::write(
        aws.path().join("config"),
        "[profile trail-reader]\nregion = us-east-1\n",
    )
    .expect("config");
    let out = bin()
        .args(["s3-check", "s3://trail", "--endpoint-url", e])
        .env("AWS_PROFILE", "trail-reader")
        .env("AWS_SHARED_CREDENTIALS_FILE", aws.path().join("credentials"))
        .env("AWS_CONFIG_FILE", aws.path().join("config"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("s3-check with a profile");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // No credentials anywhere: said so, with where they are looked for.
    let out = bin()
        .args(["s3-check", "s3://trail", "--endpoint-url", e, "--region", "us-east-1"])
        .env("AWS_SHARED_CREDENTIALS_FILE", aws.path().join("none"))
        .env("AWS_CONFIG_FILE", aws.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .output()
        .expect("s3-check without credentials");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no AWS credentials were found"), "{}", text(&out));

    // No such bucket (for a user allowed to look), and no server at all.
    let admin = user("admin");
    let out = s3_check(e, &admin.id, &admin.secret, "s3://no-such-trail-bucket");
    assert!(
        text(&out).contains("there is no bucket named 'no-such-trail-bucket'"),
        "{}",
        text(&out)
    );
    let closed = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let out = s3_check(&closed, &admin.id, &admin.secret, "s3://trail");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("S3 could not be reached"), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a dead endpoint is reported quickly"
    );
}

fn ingest_s3(data: &Path, endpoint: &str, user: &User, url: &str) -> Output {
    bin()
        .arg("--data-dir")
        .arg(data)
        .args([
            "ingest",
            url,
            "--endpoint-url",
            endpoint,
            "--region",
            "us-east-1",
            "--json",
        ])
        .env("AWS_ACCESS_KEY_ID", &user.id)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .output()
        .expect("run trailscope ingest")
}

fn counts(data: &Path) -> (u64, u64) {
    crate::count(data)
}

#[test]
fn a_backfill_from_s3_ingests_each_object_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let moto = start_moto(&tmp.path().join("moto.log"));
    let (_, users) = setup(&moto, "trail");
    let reader = users.get("reader").expect("reader");
    let admin = users.get("admin").expect("admin");

    // The same files ingested from local disk are the reference.
    let local = tmp.path().join("local");
    crate::run(&local, &["ingest", &fixtures().to_string_lossy()]);
    let want = counts(&local);
    assert!(want.0 > 10, "fixtures hold events: {want:?}");

    let data = tmp.path().join("from-s3");
    let url = "s3://trail/AWSLogs/111122223333/CloudTrail/";
    let out = ingest_s3(&data, &moto.endpoint, reader, url);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", text(&out));
    assert_eq!(counts(&data), want, "the S3 backfill holds what the local ingest holds");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        report["files_skipped_not_logs"], 4,
        "READMEs and licences skipped: {report}"
    );

    // Again: every object is already committed, nothing is added.
    let again = ingest_s3(&data, &moto.endpoint, reader, url);
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("report");
    assert_eq!(report["files_ingested"], 0, "{report}");
    assert_eq!(counts(&data), want);

    // A new object arrives: only it is read, and its events are added once.
    let new = tmp.path().join("new.json");
    std::fs::write(
        &new,
        r#"{"Records":[
          {"eventVersion":"1.08","eventTime":"2024-01-29T10:00:00Z","eventSource":"ecs.amazonaws.com","eventName":"ListClusters","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","eventID":"5a3f0c1e-0000-4000-8000-000000000001","eventType":"AwsApiCall","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"}},
          {"eventVersion":"1.08","eventTime":"2024-01-29T10:00:05Z","eventSource":"ecs.amazonaws.com","eventName":"DescribeClusters","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","eventID":"5a3f0c1e-0000-4000-8000-000000000002","eventType":"AwsApiCall","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice"}}
        ]}"#,
    )
    .expect("write");
    let put = Command::new("python3")
        .arg(repo().join("tests/python/s3_put.py"))
        .args([
            moto.endpoint.as_str(),
            "trail",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/29/111122223333_CloudTrail_us-east-1_20240129T1000Z_new.json",
        ])
        .arg(&new)
        .env("AWS_ACCESS_KEY_ID", &admin.id)
        .env("AWS_SECRET_ACCESS_KEY", &admin.secret)
        .output()
        .expect("run s3_put.py");
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));
    let third = ingest_s3(&data, &moto.endpoint, reader, url);
    let report: serde_json::Value = serde_json::from_slice(&third.stdout).expect("report");
    assert_eq!(report["files_ingested"], 1, "only the new object: {report}");
    assert_eq!(counts(&data), (want.0 + 2, want.1 + 2));

    // Credentials that may list but not read: the run fails, names the object and the
    // permission, and commits nothing.
    let lister = users.get("lister").expect("lister");
    let denied = tmp.path().join("denied");
    let out = ingest_s3(&denied, &moto.endpoint, lister, url);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("cannot read s3://trail/AWSLogs/") && t.contains("s3:GetObject"),
        "{t}"
    );
    assert!(t.contains("nothing of them was committed"), "{t}");
}
