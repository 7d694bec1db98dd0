//! AWS Signature Version 4, both ways: signing a request (the `lookup-events` client) and
//! verifying one (the server's AWS-compatible API), following
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//!
//! Pure functions over a request's parts; the caller owns I/O, clocks and the key store. Only
//! the `Authorization` header form is accepted (not presigned query strings): that is what the
//! AWS CLI and SDKs send to JSON-protocol services.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Format of `X-Amz-Date`.
pub const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";
/// How far a request's time may be from the server's clock (AWS allows 15 minutes).
pub const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);

/// Characters SigV4 leaves unencoded: RFC 3986's unreserved set.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same, keeping the path's slashes.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

type HmacSha256 = Hmac<Sha256>;

/// Why a request's signature was refused. Each variant is one of AWS's error codes, with the
/// message AWS gives, so clients show what they would show against AWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - 15 min.)")]
    Expired {
        request: String,
        earliest: String,
        now: String,
    },
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + 15 min.)")]
    NotYetCurrent {
        request: String,
        latest: String,
        now: String,
    },
    #[error("{0}")]
    BadScope(String),
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
}

impl SigV4Error {
    /// AWS's error code (`__type`) for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::Missing => "MissingAuthenticationTokenException",
            SigV4Error::Incomplete(_) => "IncompleteSignatureException",
            SigV4Error::UnknownKey => "UnrecognizedClientException",
            SigV4Error::Expired { .. } | SigV4Error::NotYetCurrent { .. } => "InvalidSignatureException",
            SigV4Error::BadScope(_) | SigV4Error::Mismatch => "InvalidSignatureException",
        }
    }

    /// Whether the signature was readable but wrong (403), as opposed to absent or malformed.
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            SigV4Error::Missing
                | SigV4Error::Expired { .. }
                | SigV4Error::NotYetCurrent { .. }
                | SigV4Error::BadScope(_)
                | SigV4Error::Mismatch
        )
    }
}

/// The parts of an HTTP request that a signature covers. `path` and `query` are as they
/// appeared on the request line (still percent-encoded); header names in any case.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Where a key is valid: `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Scope {
    fn text(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub scope: Scope,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Result<Authorization, SigV4Error> {
    let rest = value
        .trim()
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| SigV4Error::Incomplete(format!("Authorization header must start with '{ALGORITHM}'")))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let missing = |name: &str| {
        SigV4Error::Incomplete(format!(
            "Authorization header requires '{name}' parameter. Authorization={}",
            redact(value)
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, "aws4_request"] = parts.as_slice() else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    Ok(Authorization {
        access_key_id: (*key).to_string(),
        scope: Scope {
            date: (*date).to_string(),
            region: (*region).to_string(),
            service: (*service).to_string(),
        },
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_ascii_lowercase(),
    })
}

/// The header with its signature cut, for error messages that quote it.
fn redact(value: &str) -> String {
    match value.find("Signature=") {
        Some(i) => format!("{}Signature=…", &value[..i]),
        None => value.to_string(),
    }
}

fn header<'a>(req: &Request<'a>, name: &str) -> Vec<&'a str> {
    req.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect()
}

/// A header value as SigV4 canonicalises it: trimmed, inner runs of spaces collapsed.
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let encode = |s: String| utf8_percent_encode(&s, UNRESERVED).to_string();
            (encode(decode(k)), encode(decode(v)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request over `signed` headers (lowercase, sorted as signed).
pub fn canonical_request(req: &Request<'_>, signed: &[String]) -> Result<String, SigV4Error> {
    let path = if req.path.is_empty() { "/" } else { req.path };
    let mut out = String::new();
    out.push_str(req.method);
    out.push('\n');
    // Services other than S3 encode the (already encoded) path once more.
    out.push_str(&utf8_percent_encode(path, PATH).to_string());
    out.push('\n');
    out.push_str(&canonical_query(req.query));
    out.push('\n');
    for name in signed {
        let values = header(req, name);
        if values.is_empty() {
            return Err(SigV4Error::Incomplete(format!(
                "'{name}' is listed in SignedHeaders but the request has no such header"
            )));
        }
        let joined: Vec<String> = values.into_iter().map(canonical_value).collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&joined.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(req.body)));
    Ok(out)
}

pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.text(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    )
}

fn hmac(key: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac
}

/// The key derived from a secret for one scope.
pub fn signing_key(secret: &str, scope: &Scope) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes())
        .finalize()
        .into_bytes();
    let k_region = hmac(&k_date, scope.region.as_bytes()).finalize().into_bytes();
    let k_service = hmac(&k_region, scope.service.as_bytes()).finalize().into_bytes();
    hmac(&k_service, b"aws4_request").finalize().into_bytes().to_vec()
}

/// The `Authorization` header value for `req`, signing every header it carries (which must
/// include `host` and `x-amz-date`), for `service` in `region`. The scope's date is the date of
/// `x-amz-date`, as verification requires.
pub fn sign(
    req: &Request<'_>,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
) -> Result<String, SigV4Error> {
    let amz_date = header(req, "x-amz-date")
        .first()
        .map(|s| s.to_string())
        .ok_or_else(|| SigV4Error::Incomplete("the request to sign has no x-amz-date header".into()))?;
    let date = amz_date
        .get(..8)
        .ok_or_else(|| SigV4Error::Incomplete(format!("x-amz-date '{amz_date}' is not a date")))?;
    let scope = &Scope {
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
    };
    let mut signed: Vec<String> = req.headers.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    signed.sort();
    signed.dedup();
    let canonical = canonical_request(req, &signed)?;
    let sts = string_to_sign(&amz_date, scope, &canonical);
    let signature = hex::encode(
        hmac(&signing_key(secret, scope), sts.as_bytes())
            .finalize()
            .into_bytes(),
    );
    Ok(format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={signature}",
        scope.text(),
        signed.join(";")
    ))
}

/// What the server requires of a signed request besides a valid signature.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub service: &'a str,
    pub now: DateTime<Utc>,
    pub max_skew: TimeDelta,
}

/// Checks `req`'s signature; `secret_of` looks a key id up. Returns the key id that signed.
pub fn verify(
    req: &Request<'_>,
    policy: &Policy<'_>,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Result<String, SigV4Error> {
    let auth = header(req, "authorization");
    let Some(auth) = auth.first() else {
        return Err(SigV4Error::Missing);
    };
    let auth = parse_authorization(auth)?;
    let amz_date = header(req, "x-amz-date")
        .first()
        .map(|s| s.to_string())
        .ok_or_else(|| {
            SigV4Error::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
            )
        })?;
    let time = NaiveDateTime::parse_from_str(&amz_date, AMZ_DATE)
        .map_err(|_| {
            SigV4Error::Incomplete(format!(
                "X-Amz-Date '{amz_date}' is not in the form YYYYMMDD'T'HHMMSS'Z'"
            ))
        })?
        .and_utc();
    let fmt = |t: DateTime<Utc>| t.format(AMZ_DATE).to_string();
    if time < policy.now - policy.max_skew {
        return Err(SigV4Error::Expired {
            request: amz_date,
            earliest: fmt(policy.now - policy.max_skew),
            now: fmt(policy.now),
        });
    }
    if time > policy.now + policy.max_skew {
        return Err(SigV4Error::NotYetCurrent {
            request: amz_date,
            latest: fmt(policy.now + policy.max_skew),
            now: fmt(policy.now),
        });
    }
    if auth.scope.date != amz_date[..8] {
        return Err(SigV4Error::BadScope(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.scope.date,
            &amz_date[..8]
        )));
    }
    if auth.scope.service != policy.service {
        return Err(SigV4Error::BadScope(format!(
            "Credential should be scoped to correct service: '{}'.",
            policy.service
        )));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigV4Error::BadScope(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let secret = secret_of(&auth.access_key_id).ok_or(SigV4Error::UnknownKey)?;
    let canonical = canonical_request(req, &auth.signed_headers)?;
    let sts = string_to_sign(&amz_date, &auth.scope, &canonical);
    let given = hex::decode(&auth.signature).map_err(|_| SigV4Error::Mismatch)?;
    // `verify_slice` compares in constant time.
    hmac(&signing_key(&secret, &auth.scope), sts.as_bytes())
        .verify_slice(&given)
        .map_err(|_| SigV4Error::Mismatch)?;
    Ok(auth.access_key_id)
}

#[cfg(test)]
mod tests;
