//! What went wrong with an S3 request, in terms a user can act on. object_store keeps the HTTP
//! status in its error variant and S3's own `<Code>` in the message text; connection problems
//! are an `HttpError` somewhere in the source chain.

use std::error::Error as _;

use object_store::client::{HttpError, HttpErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `AccessDenied`: the credentials are valid but a policy does not allow the action.
    Denied,
    NoSuchBucket,
    /// The object was listed but is gone (deleted or moved meanwhile).
    NoSuchKey,
    /// The key id is unknown, the secret wrong, or the session token expired: S3's code says which.
    BadCredentials {
        code: String,
    },
    /// S3 redirected to the bucket's own region.
    WrongRegion,
    /// No answer: the endpoint cannot be reached, or timed out.
    Network {
        detail: String,
    },
    Other {
        detail: String,
    },
}

/// S3's error code in a response body (`<Code>AccessDenied</Code>`), if the message has one.
fn s3_code(message: &str) -> Option<&str> {
    let start = message.find("<Code>")? + "<Code>".len();
    let len = message[start..].find("</Code>")?;
    Some(&message[start..start + len])
}

pub fn classify(e: &object_store::Error) -> Failure {
    let message = e.to_string();
    let code = s3_code(&message);
    match code {
        Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem") => return Failure::Denied,
        Some("NoSuchBucket") => return Failure::NoSuchBucket,
        Some("NoSuchKey") => return Failure::NoSuchKey,
        Some(
            c @ ("InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"),
        ) => return Failure::BadCredentials { code: c.into() },
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException") => {
            return Failure::WrongRegion;
        }
        _ => {}
    }
    if message.contains("redirect") && message.contains("region") {
        return Failure::WrongRegion;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<HttpError>() {
            let what = match h.kind() {
                HttpErrorKind::Connect => "cannot connect",
                HttpErrorKind::Timeout => "timed out",
                HttpErrorKind::Interrupted => "the connection broke",
                _ => "the request failed",
            };
            return Failure::Network {
                detail: format!("{what}: {h}"),
            };
        }
        source = s.source();
    }
    match e {
        object_store::Error::PermissionDenied { .. } => Failure::Denied,
        object_store::Error::Unauthenticated { .. } => Failure::BadCredentials {
            code: code.unwrap_or("Unauthenticated").into(),
        },
        _ => Failure::Other { detail: message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(body: &str) -> object_store::Error {
        object_store::Error::PermissionDenied {
            path: "k".into(),
            source: body.to_string().into(),
        }
    }

    #[test]
    fn reads_s3_codes() {
        let body = "Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(classify(&denied(body)), Failure::Denied);
        assert_eq!(
            classify(&denied("<Error><Code>SignatureDoesNotMatch</Code></Error>")),
            Failure::BadCredentials {
                code: "SignatureDoesNotMatch".into()
            }
        );
        let missing = object_store::Error::NotFound {
            path: "".into(),
            source: "404 Not Found: <Error><Code>NoSuchBucket</Code></Error>"
                .to_string()
                .into(),
        };
        assert_eq!(classify(&missing), Failure::NoSuchBucket);
        let redirect = object_store::Error::Generic {
            store: "S3",
            source: "Received redirect without LOCATION, this normally indicates an incorrectly configured region"
                .to_string()
                .into(),
        };
        assert_eq!(classify(&redirect), Failure::WrongRegion);
        assert!(matches!(
            classify(&object_store::Error::Generic {
                store: "S3",
                source: "odd".to_string().into()
            }),
            Failure::Other { .. }
        ));
    }
}
