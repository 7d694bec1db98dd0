//! Vectors signed by botocore (an independent implementation): `SigV4Auth(creds, "cloudtrail",
//! "us-east-1").add_auth(request)` on the request below.

use super::*;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] =
    br#"{"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}], "MaxResults": 5}"#;
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/cloudtrail/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=23e19646c81bfe91c972f39999762c2e87854730ccf8db930fe5d196340e5ed2";
const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

fn headers(auth: &'static str, date: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "127.0.0.1:9280"),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("X-Amz-Target", TARGET),
        ("User-Agent", "aws-cli/1.45.11"),
        ("X-Amz-Date", date),
        ("Authorization", auth),
    ]
}

fn at(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, AMZ_DATE)
        .map(|t| t.and_utc())
        .expect("test time")
}

fn policy(now: &str) -> Policy<'static> {
    Policy {
        service: "cloudtrail",
        now: at(now),
        max_skew: MAX_SKEW,
    }
}

fn secrets(id: &str) -> Option<String> {
    (id == "AKIDEXAMPLE").then(|| SECRET.to_string())
}

fn check(h: &[(&str, &str)], body: &[u8], query: &str, now: &str) -> Result<String, SigV4Error> {
    let req = Request {
        method: "POST",
        path: "/",
        query,
        headers: h,
        body,
    };
    verify(&req, &policy(now), secrets)
}

#[test]
fn accepts_what_botocore_signed() {
    let h = headers(AUTH, "20261127T183844Z");
    assert_eq!(
        check(&h, BODY, "b=2&a=x%20y", "20261127T184000Z"),
        Ok("AKIDEXAMPLE".into())
    );
}

#[test]
fn refuses_a_tampered_body_query_or_header() {
    let h = headers(AUTH, "20261127T183844Z");
    let tampered = BODY
        .iter()
        .map(|b| if *b == b'5' { b'6' } else { *b })
        .collect::<Vec<_>>();
    assert_eq!(
        check(&h, &tampered, "b=2&a=x%20y", "20261127T184000Z"),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        check(&h, BODY, "b=3&a=x%20y", "20261127T184000Z"),
        Err(SigV4Error::Mismatch)
    );
    let mut other = h.clone();
    other[2] = (
        "X-Amz-Target",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DeleteTrail",
    );
    assert_eq!(
        check(&other, BODY, "b=2&a=x%20y", "20261127T184000Z"),
        Err(SigV4Error::Mismatch)
    );
    // Unsigned headers may change (proxies add them).
    let mut ua = h.clone();
    ua[3] = ("User-Agent", "something else");
    assert!(check(&ua, BODY, "b=2&a=x%20y", "20261127T184000Z").is_ok());
}

#[test]
fn refuses_requests_outside_the_clock_window() {
    let h = headers(AUTH, "20261127T183844Z");
    let late = check(&h, BODY, "b=2&a=x%20y", "20261127T185845Z");
    assert!(matches!(late, Err(SigV4Error::Expired { .. })), "{late:?}");
    assert!(
        check(&h, BODY, "b=2&a=x%20y", "20261127T185344Z").is_ok(),
        "exactly 15 minutes is allowed"
    );
    let early = check(&h, BODY, "b=2&a=x%20y", "20261127T182000Z");
    assert!(matches!(early, Err(SigV4Error::NotYetCurrent { .. })), "{early:?}");
    assert_eq!(
        late.err().map(|e| e.to_string()).unwrap_or_default(),
        "Signature expired: 20261127T183844Z is now earlier than 20261127T184345Z (20261127T185845Z - 15 min.)"
    );
}

#[test]
fn refuses_unknown_keys_and_missing_or_malformed_headers() {
    let unknown = AUTH.replace("AKIDEXAMPLE", "AKIDOTHER");
    let unknown: &'static str = Box::leak(unknown.into_boxed_str());
    let h = headers(unknown, "20261127T183844Z");
    assert_eq!(
        check(&h, BODY, "b=2&a=x%20y", "20261127T184000Z"),
        Err(SigV4Error::UnknownKey)
    );
    let none: Vec<_> = headers(AUTH, "20261127T183844Z")
        .into_iter()
        .filter(|(k, _)| *k != "Authorization")
        .collect();
    assert_eq!(check(&none, BODY, "", "20261127T184000Z"), Err(SigV4Error::Missing));
    let bad = headers(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/cloudtrail/aws4_request",
        "20261127T183844Z",
    );
    assert!(matches!(
        check(&bad, BODY, "", "20261127T184000Z"),
        Err(SigV4Error::Incomplete(_))
    ));
    let wrong_service = AUTH.replace("/cloudtrail/", "/s3/");
    let wrong_service: &'static str = Box::leak(wrong_service.into_boxed_str());
    let h = headers(wrong_service, "20261127T183844Z");
    assert!(matches!(
        check(&h, BODY, "b=2&a=x%20y", "20261127T184000Z"),
        Err(SigV4Error::BadScope(_))
    ));
}

#[test]
fn signing_reproduces_botocore() {
    let h: Vec<_> = headers(AUTH, "20261127T183844Z")
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "Authorization" | "User-Agent"))
        .collect();
    let req = Request {
        method: "POST",
        path: "/",
        query: "b=2&a=x%20y",
        headers: &h,
        body: BODY,
    };
    assert_eq!(
        sign(&req, "AKIDEXAMPLE", SECRET, "us-east-1", "cloudtrail").as_deref(),
        Ok(AUTH)
    );
}

#[test]
fn canonical_forms() {
    assert_eq!(canonical_query("b=2&a=x%20y&a=b+c&z"), "a=b%20c&a=x%20y&b=2&z=");
    assert_eq!(canonical_value("  a   b  c "), "a b c");
}
