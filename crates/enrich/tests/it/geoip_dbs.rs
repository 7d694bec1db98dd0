//! GeoIP against MaxMind's test databases (golden values from the corpus README) and a DB-IP
//! Lite-layout database written here with `mmdb-writer`.

use std::net::IpAddr;

use mmdb_writer::{IpVersion, Value, Writer};
use trailscope_enrich::{GeoIp, Layout};

use crate::shared_data;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid ip")
}

#[test]
fn maxmind_test_databases_give_the_readme_values() {
    let Some(data) = shared_data() else { return };
    let geo = data.join("maxmind-geoip-test");
    let db = GeoIp::open(
        &[geo.join("GeoLite2-City-Test.mmdb")],
        Some(&geo.join("GeoLite2-ASN-Test.mmdb")),
    )
    .expect("open");
    let r = db.lookup(ip("89.160.20.156")).expect("found");
    assert_eq!(r.city_name.as_deref(), Some("Linköping"));
    assert_eq!(r.country_code.as_deref(), Some("SE"));
    assert_eq!((r.latitude, r.longitude), (Some(58.4167), Some(15.6167)));
    assert_eq!((r.asn, r.as_org.as_deref()), (Some(29518), Some("Bredband2 AB")));
    let r = db.lookup(ip("81.2.69.144")).expect("found");
    assert_eq!(
        (r.city_name.as_deref(), r.country_code.as_deref()),
        (Some("London"), Some("GB"))
    );
    assert_eq!((r.latitude, r.longitude), (Some(51.5142), Some(-0.0931)));
    assert_eq!(r.asn, None);
    let r = db.lookup(ip("216.160.83.56")).expect("found");
    assert_eq!(
        (r.city_name.as_deref(), r.country_code.as_deref()),
        (Some("Milton"), Some("US"))
    );
    assert_eq!(db.lookup(ip("1.1.1.1")), None);
    // The wrong file for the flag is a clear error, not silence.
    let err = GeoIp::open(&[geo.join("GeoLite2-ASN-Test.mmdb")], None).expect_err("ASN as City");
    assert!(err.to_string().contains("expected a City database"), "{err}");
}

#[test]
fn dbip_lite_flat_layout_with_f32_coordinates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dbip-city-ipv4.mmdb");
    let mut w = Writer::builder("city ipv4").ip_version(IpVersion::V4).build();
    w.insert_value(
        "198.51.100.0/24".parse::<mmdb_writer::ipnet::IpNet>().expect("net"),
        Value::map([
            ("city", Value::from("Stockholm")),
            ("country_code", Value::from("SE")),
            ("state1", Value::from("Stockholm")),
            ("state2", Value::from("")),
            ("postcode", Value::from("")),
            ("timezone", Value::from("")),
            ("latitude", Value::from(59.3327_f32)),
            ("longitude", Value::from(18.0656_f32)),
        ]),
    )
    .expect("insert");
    std::fs::write(&path, w.to_bytes().expect("bytes")).expect("write");
    let mut db = GeoIp::open(&[path], None).expect("open");
    assert!(db.describe().contains(&format!("{:?}", Layout::DbIpLite)));
    let r = db.lookup_cached("198.51.100.7").expect("found");
    assert_eq!(r.city_name.as_deref(), Some("Stockholm"));
    assert_eq!(r.country_name.as_deref(), Some("Sweden"));
    assert_eq!((r.latitude, r.longitude), (Some(59.3327), Some(18.0656)));
    assert_eq!(r.postal_code, None, "empty strings are absent values");
    assert!(db.lookup_cached("10.0.0.1").is_none());
    assert!(db.lookup_cached("AWS Internal").is_none());
}
