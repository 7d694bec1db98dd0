//! The AWS SDK's default credential chain as an object_store credential provider: environment,
//! shared config and credentials files (`AWS_PROFILE`, SSO, `credential_process`), web
//! identity, container and instance metadata. object_store alone knows neither profiles nor SSO.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use tokio::sync::OnceCell;

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Credentials are reused at least this long, even when they expire soon after (metadata
/// services hand out such near the end of their life).
const MIN_REUSE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct SdkChain {
    chain: OnceCell<SharedCredentialsProvider>,
    cached: Mutex<Option<Cached>>,
    /// One refresh at a time: sixteen fetches finding the credentials stale make one call.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Cached {
    credential: Arc<AwsCredential>,
    expiry: Option<SystemTime>,
    fetched: SystemTime,
}

impl Cached {
    fn fresh(&self, now: SystemTime) -> bool {
        match self.expiry {
            None => true,
            Some(e) => {
                e > now + REFRESH_BEFORE_EXPIRY || (e > now + Duration::from_secs(10) && now < self.fetched + MIN_REUSE)
            }
        }
    }
}

impl SdkChain {
    pub fn new() -> Self {
        Self::default()
    }

    /// The chain, built on first use (building reads the profile files).
    pub async fn provider(&self) -> SharedCredentialsProvider {
        self.chain
            .get_or_init(|| async {
                let chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
                    .build()
                    .await;
                SharedCredentialsProvider::new(chain)
            })
            .await
            .clone()
    }
}

#[async_trait::async_trait]
impl CredentialProvider for SdkChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let cached = || {
            self.cached.lock().ok().and_then(|c| {
                c.as_ref()
                    .filter(|c| c.fresh(SystemTime::now()))
                    .map(|c| Arc::clone(&c.credential))
            })
        };
        if let Some(c) = cached() {
            return Ok(c);
        }
        let _one = self.refreshing.lock().await;
        // Another fetch may have refreshed them while this one waited.
        if let Some(c) = cached() {
            return Ok(c);
        }
        let found = self
            .provider()
            .await
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Unauthenticated {
                path: String::new(),
                source: format!(
                    "<Code>NoCredentials</Code> no AWS credentials were found ({e}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where a role is attached"
                )
                .into(),
            })?;
        let credential = Arc::new(AwsCredential {
            key_id: found.access_key_id().to_string(),
            secret_key: found.secret_access_key().to_string(),
            token: found.session_token().map(str::to_string),
        });
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(Cached {
                credential: Arc::clone(&credential),
                expiry: found.expiry(),
                fetched: SystemTime::now(),
            });
        }
        Ok(credential)
    }
}
