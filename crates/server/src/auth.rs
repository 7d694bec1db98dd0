//! Who may call the API: bearer/API-key tokens and users with argon2 password hashes.
//!
//! Tokens arrive as `Authorization: Bearer <t>` (curl, opensearch-py) or `ApiKey <t>`
//! (elasticsearch-py); users as HTTP Basic. Secrets are compared in constant time and never
//! logged. A verified Basic credential is remembered (as a keyed hash) so argon2's deliberate
//! slowness is paid once per user, not per request.

use std::collections::HashSet;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use base64::Engine;

/// A user allowed to log in with a password.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// PHC string (`$argon2id$v=19$...`), as printed by `trailscope hash-password`.
    pub password_hash: String,
}

#[derive(Default)]
pub struct Auth {
    tokens: Vec<Vec<u8>>,
    users: Vec<User>,
    /// Basic credentials already verified, as argon2 output under a per-process salt.
    verified: Mutex<HashSet<String>>,
    salt: Option<SaltString>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Auth")
            .field("tokens", &self.tokens.len())
            .field("users", &self.users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(
        "user '{user}': password_hash is not an argon2 PHC string ({reason}); create one with `trailscope hash-password`"
    )]
    BadHash { user: String, reason: String },
    #[error(
        "API tokens must be at least 16 characters (token {index} is {len}); generate one with `openssl rand -hex 32`"
    )]
    WeakToken { index: usize, len: usize },
}

impl Auth {
    pub fn new(tokens: Vec<String>, users: Vec<User>) -> Result<Auth, AuthConfigError> {
        for (i, t) in tokens.iter().enumerate() {
            if t.len() < 16 {
                return Err(AuthConfigError::WeakToken {
                    index: i + 1,
                    len: t.len(),
                });
            }
        }
        for u in &users {
            PasswordHash::new(&u.password_hash).map_err(|e| AuthConfigError::BadHash {
                user: u.name.clone(),
                reason: e.to_string(),
            })?;
        }
        Ok(Auth {
            tokens: tokens.into_iter().map(String::into_bytes).collect(),
            users,
            verified: Mutex::new(HashSet::new()),
            salt: Some(SaltString::generate(&mut OsRng)),
        })
    }

    /// No tokens and no users: every request is allowed (only acceptable on loopback).
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty() && self.users.is_empty()
    }

    /// Whether an `Authorization` header value grants access.
    pub fn check(&self, header: Option<&str>) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(header) = header else { return false };
        let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" => self.token_ok(value.as_bytes()),
            // Elasticsearch API keys are base64("id:key"); a raw token is accepted too.
            "apikey" => {
                self.token_ok(value.as_bytes())
                    || base64::engine::general_purpose::STANDARD
                        .decode(value)
                        .ok()
                        .and_then(|d| String::from_utf8(d).ok())
                        .is_some_and(|d| d.split_once(':').is_some_and(|(_, key)| self.token_ok(key.as_bytes())))
            }
            "basic" => base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|d| d.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())))
                .is_some_and(|(user, password)| self.password_ok(&user, &password)),
            _ => false,
        }
    }

    fn token_ok(&self, given: &[u8]) -> bool {
        // Every token is compared, in constant time each, so timing says nothing about which
        // (or whether any) token matched.
        self.tokens.iter().fold(false, |ok, t| ok | constant_time_eq(t, given))
    }

    fn password_ok(&self, user: &str, password: &str) -> bool {
        let Some(u) = self.users.iter().find(|u| u.name == user) else {
            return false;
        };
        let memo = self.memo_key(user, password);
        if let (Some(key), Ok(seen)) = (&memo, self.verified.lock())
            && seen.contains(key)
        {
            return true;
        }
        let ok = PasswordHash::new(&u.password_hash)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
        if ok && let (Some(key), Ok(mut seen)) = (memo, self.verified.lock()) {
            seen.insert(key);
        }
        ok
    }

    fn memo_key(&self, user: &str, password: &str) -> Option<String> {
        let salt = self.salt.as_ref()?;
        let fast = argon2::Params::new(256, 1, 1, None).ok()?;
        let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, fast);
        let input = format!("{user}\u{0}{password}");
        hasher.hash_password(input.as_bytes(), salt).ok().map(|h| h.to_string())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The argon2id PHC string of `password`, for `[[server.users]]` in `trailscope.toml`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_users_and_schemes() {
        let hash = hash_password("correct horse").unwrap_or_default();
        let auth = Auth::new(
            vec!["0123456789abcdef0123".into()],
            vec![User {
                name: "alice".into(),
                password_hash: hash,
            }],
        );
        let Ok(auth) = auth else {
            panic!("auth config rejected");
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(auth.check(Some("Bearer 0123456789abcdef0123")));
        assert!(auth.check(Some("ApiKey 0123456789abcdef0123")));
        assert!(auth.check(Some(&format!("ApiKey {}", b64("id:0123456789abcdef0123")))));
        assert!(!auth.check(Some("Bearer 0123456789abcdef012")));
        assert!(!auth.check(None));
        assert!(auth.check(Some(&format!("Basic {}", b64("alice:correct horse")))));
        // Twice: the second answer comes from the memo.
        assert!(auth.check(Some(&format!("Basic {}", b64("alice:correct horse")))));
        assert!(!auth.check(Some(&format!("Basic {}", b64("alice:wrong")))));
        assert!(!auth.check(Some(&format!("Basic {}", b64("bob:correct horse")))));
        assert!(!format!("{auth:?}").contains("0123456789"));
    }

    #[test]
    fn weak_tokens_and_bad_hashes_are_refused() {
        assert!(matches!(
            Auth::new(vec!["short".into()], vec![]),
            Err(AuthConfigError::WeakToken { .. })
        ));
        let user = User {
            name: "x".into(),
            password_hash: "plaintext".into(),
        };
        assert!(matches!(
            Auth::new(vec![], vec![user]),
            Err(AuthConfigError::BadHash { .. })
        ));
    }
}
