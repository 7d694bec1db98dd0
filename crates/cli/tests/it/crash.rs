//! `kill -9` at any moment, then a re-run: every event is present exactly once.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use crate::{bin, count, run};

#[test]
fn kill_dash_nine_during_ingest_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("input");
    let data = tmp.path().join("data");
    let out = run(
        &data,
        &[
            "demo",
            "--no-ingest",
            "--events",
            "40000",
            "--days",
            "6",
            "--seed",
            "9",
            "--out",
            input.to_str().expect("utf8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let generated: u64 = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("generated ")
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
        })
        .expect("generated count");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut kills = 0;
    for _ in 0..4 {
        let mut child = bin()
            .arg("--data-dir")
            .arg(&data)
            .args(["ingest", input.to_str().expect("utf8")])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2500)));
        if child.try_wait().expect("poll").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
    }
    let out = run(&data, &["ingest", "--json", input.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (rows, distinct) = count(&data);
    assert_eq!(rows, generated, "after {kills} kills");
    assert_eq!(distinct, generated, "eventid unique after {kills} kills");
}
