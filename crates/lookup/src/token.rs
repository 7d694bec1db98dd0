//! `NextToken`: where the previous page ended and which table version it read, sealed with an
//! HMAC over the request's parameters, so a token cannot be forged, altered, or replayed with
//! other parameters. Opaque to clients; stable while new data arrives, because the next page
//! reads the same table version.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::LookupError;

pub const KEY_BYTES: usize = 32;

/// The server's secret for sealing tokens.
#[derive(Clone)]
pub struct TokenKey([u8; KEY_BYTES]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

impl TokenKey {
    pub fn new(bytes: [u8; KEY_BYTES]) -> TokenKey {
        TokenKey(bytes)
    }

    fn mac(&self, fingerprint: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(fingerprint.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }
}

/// The last event of a page (its sort key) and the table version it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "v")]
    pub version: Option<u64>,
    /// `eventtime`, microseconds since 1970.
    #[serde(rename = "t")]
    pub time: i64,
    #[serde(rename = "e")]
    pub event_id: String,
    #[serde(rename = "o")]
    pub object: String,
    #[serde(rename = "i")]
    pub index: i64,
}

pub fn seal(key: &TokenKey, fingerprint: &str, cursor: &Cursor) -> String {
    let payload = serde_json::to_vec(cursor).unwrap_or_default();
    let tag = key.mac(fingerprint, &payload).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
}

pub fn open(key: &TokenKey, fingerprint: &str, token: &str) -> Result<Cursor, LookupError> {
    let invalid = || {
        LookupError::InvalidNextToken(
            "NextToken is not valid: it was altered, or it comes from a request with other parameters".into(),
        )
    };
    let (payload, tag) = token.trim().split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    key.mac(fingerprint, &payload)
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    serde_json::from_slice(&payload).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor() -> Cursor {
        Cursor {
            version: Some(7),
            time: 1_424_476_529_000_000,
            event_id: "0ebbaee4-6e67-431d-8225-ba0d81df5972".into(),
            object: "obj".into(),
            index: 3,
        }
    }

    #[test]
    fn round_trips_and_refuses_changes() {
        let key = TokenKey::new([7; KEY_BYTES]);
        let token = seal(&key, "EventName=X", &cursor());
        assert_eq!(open(&key, "EventName=X", &token).ok(), Some(cursor()));
        assert!(open(&key, "EventName=Y", &token).is_err(), "other parameters");
        assert!(
            open(&TokenKey::new([8; KEY_BYTES]), "EventName=X", &token).is_err(),
            "other key"
        );
        let mut bytes = token.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).expect("ascii");
        assert!(open(&key, "EventName=X", &altered).is_err(), "altered payload");
        assert!(open(&key, "EventName=X", "garbage").is_err());
        let err = open(&key, "EventName=X", "garbage").err().map(|e| e.code());
        assert_eq!(err, Some("InvalidNextTokenException"));
    }
}
