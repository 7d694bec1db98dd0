//! `trailscope lookup-events`: the AWS CLI's `aws cloudtrail lookup-events`, with its argument
//! syntax, pagination (`--max-items`, `--page-size`, `--starting-token`) and output shapes,
//! answered from the local table or, with `--endpoint-url`, by a trailscope server (SigV4-signed
//! with the standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` variables).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::ValueEnum;
use serde_json::{Map, Value as Json, json};
use trailscope_lookup::{Lookup, Table, TokenKey, token};

use crate::Cli;
use crate::awsformat;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LookupOutput {
    Json,
    Text,
    Table,
}

#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// `AttributeKey=KEY,AttributeValue=VALUE` (the AWS CLI's shorthand) or the JSON list; keys:
    /// EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource,
    /// AccessKeyId. More than one must all match (AWS allows only one).
    #[arg(long, num_args = 1.., value_name = "AttributeKey=KEY,AttributeValue=VALUE")]
    pub lookup_attributes: Vec<String>,
    /// Earliest event time: ISO 8601 (`2026-11-01`, `2026-11-01T12:00:00Z`; UTC unless a zone
    /// is given) or seconds since 1970.
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,
    /// Latest event time, as --start-time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,
    /// `insight` for CloudTrail Insights events.
    #[arg(long, value_name = "CATEGORY")]
    pub event_category: Option<String>,
    /// Most events to print in all; a `NextToken` follows when there are more.
    #[arg(long, alias = "max-results", value_name = "N")]
    pub max_items: Option<usize>,
    /// Events per request (1–50).
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// Continue from the `NextToken` a previous run printed.
    #[arg(long, value_name = "TOKEN")]
    pub starting_token: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    pub output: LookupOutput,
    /// A trailscope server to ask instead of the local table (e.g. http://127.0.0.1:9280).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Region in the request's signature (any region is accepted by trailscope).
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
}

/// Where the key that seals `NextToken`s lives, so tokens survive restarts and work across the
/// CLI and the server of one data directory.
pub fn token_key_path(home: &Path) -> PathBuf {
    crate::commands::state_dir(home).join("lookup-token.key")
}

/// Reads the token key, creating it (owner-only) on first use.
pub fn token_key(home: &Path) -> Result<TokenKey> {
    let path = token_key_path(home);
    let mut bytes = [0u8; token::KEY_BYTES];
    match std::fs::read(&path) {
        Ok(b) if b.len() == token::KEY_BYTES => {
            bytes.copy_from_slice(&b);
            return Ok(TokenKey::new(bytes));
        }
        Ok(_) => bail!(
            "{} is not a {}-byte key; delete it to make a new one",
            path.display(),
            token::KEY_BYTES
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("cannot get random bytes for the token key: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut f) => f
            .write_all(&bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return token_key(home),
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    Ok(TokenKey::new(bytes))
}

/// A time as the AWS CLI reads one, as seconds since 1970.
fn parse_time(text: &str, flag: &str) -> Result<Json> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(json!(n));
    }
    if let Ok(f) = t.parse::<f64>() {
        return Ok(json!(f));
    }
    let utc: Option<DateTime<Utc>> = DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t.trim_end_matches('Z'), f).ok())
            .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        });
    match utc {
        Some(u) if u.timestamp_subsec_micros() == 0 => Ok(json!(u.timestamp())),
        Some(u) => Ok(json!(u.timestamp_micros() as f64 / 1e6)),
        None => bail!(
            "{flag} '{text}' is not a time: use ISO 8601 (2026-11-01, 2026-11-01T12:00:00Z) or seconds since 1970"
        ),
    }
}

/// `--lookup-attributes` values: shorthand (`AttributeKey=K,AttributeValue=V`, the value may
/// hold commas) or a JSON list.
fn parse_attributes(values: &[String]) -> Result<Vec<Json>> {
    let mut out = Vec::new();
    for v in values {
        let t = v.trim();
        if t.starts_with('[') || t.starts_with('{') {
            let parsed: Json =
                serde_json::from_str(t).with_context(|| format!("--lookup-attributes: invalid JSON: {t}"))?;
            match parsed {
                Json::Array(items) => out.extend(items),
                item => out.push(item),
            }
            continue;
        }
        let mut attr = Map::new();
        let mut current: Option<(String, String)> = None;
        for piece in t.split(',') {
            let known = ["AttributeKey=", "AttributeValue="]
                .iter()
                .find(|p| piece.starts_with(*p));
            match (known, current.as_mut()) {
                (Some(prefix), _) => {
                    if let Some((k, v)) = current.take() {
                        attr.insert(k, Json::String(v));
                    }
                    current = Some((
                        prefix.trim_end_matches('=').to_string(),
                        piece[prefix.len()..].to_string(),
                    ));
                }
                (None, Some((_, value))) => {
                    value.push(',');
                    value.push_str(piece);
                }
                (None, None) => bail!("--lookup-attributes: expected AttributeKey=KEY,AttributeValue=VALUE, got '{t}'"),
            }
        }
        if let Some((k, v)) = current {
            attr.insert(k, Json::String(v));
        }
        if !attr.contains_key("AttributeKey") || !attr.contains_key("AttributeValue") {
            bail!("--lookup-attributes: expected AttributeKey=KEY,AttributeValue=VALUE, got '{t}'");
        }
        out.push(Json::Object(attr));
    }
    Ok(out)
}

/// The request body of one page, without `MaxResults` and `NextToken`.
fn base_request(args: &LookupArgs) -> Result<Map<String, Json>> {
    let mut body = Map::new();
    if !args.lookup_attributes.is_empty() {
        body.insert(
            "LookupAttributes".into(),
            Json::Array(parse_attributes(&args.lookup_attributes)?),
        );
    }
    if let Some(t) = &args.start_time {
        body.insert("StartTime".into(), parse_time(t, "--start-time")?);
    }
    if let Some(t) = &args.end_time {
        body.insert("EndTime".into(), parse_time(t, "--end-time")?);
    }
    if let Some(c) = &args.event_category {
        body.insert("EventCategory".into(), Json::String(c.clone()));
    }
    Ok(body)
}

/// An error answered by the API (local or remote), printed as the AWS CLI prints it.
#[derive(Debug)]
struct ServiceError {
    code: String,
    message: String,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "An error occurred ({}) when calling the LookupEvents operation: {}",
            self.code, self.message
        )
    }
}

impl std::error::Error for ServiceError {}

struct LocalVersion {
    ctx: datafusion::prelude::SessionContext,
    version: Option<u64>,
    days: Vec<i32>,
}

impl LocalVersion {
    async fn open(lake: &trailscope_lake::Lake) -> Result<LocalVersion> {
        Ok(LocalVersion {
            ctx: trailscope_search::session(lake).await?,
            version: lake.version(),
            days: lake.days()?,
        })
    }
}

/// Answers pages, locally or from a server.
enum Pager {
    /// The table versions read so far: the current one, and the one a `--starting-token`
    /// names (so pages stay on the version the first page read).
    Local {
        location: trailscope_lake::Location,
        versions: Vec<LocalVersion>,
        key: TokenKey,
    },
    Remote {
        client: reqwest::Client,
        url: reqwest::Url,
        access_key_id: String,
        secret: String,
        region: String,
    },
}

impl Pager {
    async fn page(&mut self, body: &Json) -> Result<Json> {
        match self {
            Pager::Local {
                location,
                versions,
                key,
            } => {
                let bytes = serde_json::to_vec(body)?;
                let service = |e: trailscope_lookup::LookupError| {
                    anyhow::Error::new(ServiceError {
                        code: e.code().to_string(),
                        message: e.to_string(),
                    })
                };
                let req = Lookup::from_json(&bytes).map_err(service)?;
                let cursor = trailscope_lookup::cursor(&req, key).map_err(service)?;
                if let Some(c) = &cursor
                    && !versions.iter().any(|v| v.version == c.version)
                {
                    let Some(v) = c.version else {
                        bail!("the token is for an empty table version; start again without --starting-token");
                    };
                    let lake = trailscope_lake::Lake::open_version(location.clone(), v)
                        .await
                        .with_context(|| format!("table version {v} of the token can no longer be read; start again without --starting-token"))?;
                    versions.push(LocalVersion::open(&lake).await?);
                }
                let wanted = cursor
                    .as_ref()
                    .map_or_else(|| versions.first().and_then(|v| v.version), |c| c.version);
                let Some(v) = versions.iter().find(|v| v.version == wanted) else {
                    bail!("no table version {wanted:?}");
                };
                let table = Table {
                    ctx: &v.ctx,
                    version: v.version,
                    days: &v.days,
                };
                trailscope_lookup::lookup(&table, &req, cursor.as_ref(), key)
                    .await
                    .map_err(service)
            }
            Pager::Remote {
                client,
                url,
                access_key_id,
                secret,
                region,
            } => {
                let bytes = serde_json::to_vec(body)?;
                let host = match url.port() {
                    Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                };
                let amz_date = Utc::now().format(trailscope_sigv4::AMZ_DATE).to_string();
                let target = format!("{}{}", trailscope_lookup::TARGET_PREFIX, trailscope_lookup::OPERATION);
                let headers = [
                    ("content-type", "application/x-amz-json-1.1"),
                    ("host", host.as_str()),
                    ("x-amz-date", amz_date.as_str()),
                    ("x-amz-target", target.as_str()),
                ];
                let request = trailscope_sigv4::Request {
                    method: "POST",
                    path: url.path(),
                    query: url.query().unwrap_or(""),
                    headers: &headers,
                    body: &bytes,
                };
                let authorization = trailscope_sigv4::sign(&request, access_key_id, secret, region, "cloudtrail")?;
                let mut r = client
                    .post(url.clone())
                    .body(bytes.clone())
                    .header("authorization", authorization);
                for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
                    r = r.header(*k, *v);
                }
                let response = r.send().await.with_context(|| format!("cannot reach {url}"))?;
                let status = response.status();
                let text = response
                    .text()
                    .await
                    .with_context(|| format!("cannot read the answer of {url}"))?;
                let answer: Json = serde_json::from_str(&text)
                    .with_context(|| format!("{url} answered HTTP {status} with something that is not JSON"))?;
                if !status.is_success() {
                    let code = answer["__type"].as_str().unwrap_or("Unknown");
                    let code = code.rsplit('#').next().unwrap_or(code).to_string();
                    let message = answer["message"]
                        .as_str()
                        .or(answer["Message"].as_str())
                        .unwrap_or("")
                        .to_string();
                    return Err(anyhow::Error::new(ServiceError { code, message }));
                }
                Ok(answer)
            }
        }
    }
}

async fn pager(cli: &Cli, args: &LookupArgs) -> Result<Pager> {
    match &args.endpoint_url {
        Some(endpoint) => {
            let url =
                reqwest::Url::parse(endpoint).with_context(|| format!("--endpoint-url '{endpoint}' is not a URL"))?;
            let access_key_id = std::env::var("AWS_ACCESS_KEY_ID").map_err(|_| {
                anyhow!("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to sign requests to {endpoint}")
            })?;
            let secret = std::env::var("AWS_SECRET_ACCESS_KEY")
                .map_err(|_| anyhow!("set AWS_SECRET_ACCESS_KEY to sign requests to {endpoint}"))?;
            Ok(Pager::Remote {
                client: reqwest::Client::new(),
                url,
                access_key_id,
                secret,
                region: args.region.clone(),
            })
        }
        None => {
            let lake = cli.data_dir.open_existing().await?;
            Ok(Pager::Local {
                location: lake.location().clone(),
                versions: vec![LocalVersion::open(&lake).await?],
                key: token_key(&cli.home())?,
            })
        }
    }
}

pub async fn run(cli: &Cli, args: &LookupArgs) -> Result<ExitCode> {
    let base = base_request(args)?;
    if let Some(n) = args.page_size
        && !(1..=50).contains(&n)
    {
        bail!("--page-size must be between 1 and 50, not {n}");
    }
    let mut pager = pager(cli, args).await?;
    let page_size = args.page_size.unwrap_or(50);
    let mut remaining = args.max_items;
    let mut token = args.starting_token.clone();
    let mut pages: Vec<Vec<Json>> = Vec::new();
    loop {
        if remaining == Some(0) {
            break;
        }
        let mut body = base.clone();
        let size = remaining.map_or(page_size, |r| r.min(page_size));
        body.insert("MaxResults".into(), json!(size));
        if let Some(t) = &token {
            body.insert("NextToken".into(), Json::String(t.clone()));
        }
        let answer = match pager.page(&Json::Object(body)).await {
            Ok(a) => a,
            Err(e) if e.downcast_ref::<ServiceError>().is_some() => {
                eprintln!("\n{e}");
                return Ok(ExitCode::from(254));
            }
            Err(e) => return Err(e),
        };
        let events = answer["Events"].as_array().cloned().unwrap_or_default();
        if let Some(r) = remaining.as_mut() {
            *r = r.saturating_sub(events.len());
        }
        pages.push(events);
        token = answer["NextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut out = std::io::stdout().lock();
    let text = match args.output {
        LookupOutput::Json => awsformat::json(&pages, token.as_deref()),
        LookupOutput::Text => awsformat::text(&pages, token.as_deref()),
        LookupOutput::Table => awsformat::table(&pages, token.as_deref()),
    };
    out.write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_aws_cli_shorthand_and_json() -> Result<()> {
        let got = parse_attributes(&[
            "AttributeKey=ResourceName,AttributeValue=ecs".to_string(),
            "AttributeKey=EventName,AttributeValue=a,b".to_string(),
            r#"[{"AttributeKey":"Username","AttributeValue":"root"}]"#.to_string(),
        ])?;
        assert_eq!(
            Json::Array(got),
            json!([
                {"AttributeKey": "ResourceName", "AttributeValue": "ecs"},
                {"AttributeKey": "EventName", "AttributeValue": "a,b"},
                {"AttributeKey": "Username", "AttributeValue": "root"}
            ])
        );
        assert!(parse_attributes(&["EventName=x".to_string()]).is_err());
        Ok(())
    }

    #[test]
    fn reads_times_as_the_aws_cli_does() -> Result<()> {
        assert_eq!(parse_time("2015-02-20", "t")?, json!(1_424_390_400));
        assert_eq!(parse_time("2015-02-20T23:55:29Z", "t")?, json!(1_424_476_529));
        assert_eq!(parse_time("2015-02-20T23:55:29", "t")?, json!(1_424_476_529));
        assert_eq!(parse_time("2015-02-21T00:55:29+01:00", "t")?, json!(1_424_476_529));
        assert_eq!(parse_time("1424476529", "t")?, json!(1_424_476_529));
        assert!(parse_time("yesterday", "t").is_err());
        Ok(())
    }
}
