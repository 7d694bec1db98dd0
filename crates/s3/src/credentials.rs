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

#[derive(Debug, Default)]
pub struct SdkChain {
    chain: OnceCell<SharedCredentialsProvider>,
    cached: Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
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
        let fresh = |expiry: &Option<SystemTime>| expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
        if let Ok(c) = self.cached.lock()
            && let Some((credential, expiry)) = c.as_ref()
            && fresh(expiry)
        {
            return Ok(Arc::clone(credential));
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
            *c = Some((Arc::clone(&credential), found.expiry()));
        }
        Ok(credential)
    }
}
