//! `trailscope s3-check`: can these credentials read CloudTrail's logs in this bucket?

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

#[derive(Debug, Clone, clap::Args)]
pub struct S3CheckArgs {
    /// The logs' location: s3://bucket or s3://bucket/prefix (e.g. s3://my-trail/AWSLogs/011173820421/CloudTrail/).
    #[arg(value_name = "S3_URL")]
    pub url: String,
    /// The bucket's region (default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// An S3-compatible endpoint, e.g. http://127.0.0.1:9000 (AWS_ENDPOINT_URL_S3 and
    /// AWS_ENDPOINT_URL also work); requests are path-style.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Exit 0 only when both ListBucket and GetObject work.
pub async fn check(args: &S3CheckArgs) -> Result<ExitCode> {
    let url = trailscope_s3::S3Url::parse(&args.url)?;
    let connection = trailscope_s3::Connection {
        region: args.region.clone(),
        endpoint: args.endpoint_url.clone(),
        // A check answers quickly: a few retries, not the minutes an ingest may wait.
        max_retries: Some(2),
        retry_timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    };
    let store = connection.store(&url.bucket).await?;
    let report = trailscope_s3::check(&store, &url).await;
    print!("{}", report.render());
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
