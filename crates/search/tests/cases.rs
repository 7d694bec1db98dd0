//! Data-driven tests of the query-bar language against a table ingested from the repository's
//! fixtures (`tests/fixtures`, 19 real CloudTrail events): see `tests/cases.txt` for the format.
//!
//! Each `count:` is checked twice: the query-bar query must match that many events, and so must
//! the `sql:` WHERE clause, planned by DataFusion's SQL front end independently of our compiler.

mod common;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use trailscope_search::{Compiler, count_rows};

#[derive(Debug, Default)]
struct Case {
    line: usize,
    query: String,
    count: Option<u64>,
    sql: Option<String>,
    error: Option<String>,
    plan: Vec<String>,
    noplan: Vec<String>,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut cur: Option<Case> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            cases.extend(cur.take());
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("cases.txt:{}: expected `key: value`", i + 1));
        let value = value.strip_prefix(' ').unwrap_or(value).to_string();
        let case = cur.get_or_insert_with(|| Case {
            line: i + 1,
            ..Case::default()
        });
        match key {
            "query" => case.query = value,
            "count" => {
                case.count = Some(
                    value
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("cases.txt:{}: bad count", i + 1)),
                )
            }
            "sql" => case.sql = Some(value),
            "error" => case.error = Some(value),
            "plan" => case.plan.push(value),
            "noplan" => case.noplan.push(value),
            other => panic!("cases.txt:{}: unknown key `{other}`", i + 1),
        }
    }
    cases.extend(cur);
    cases
}

async fn sql_count(ctx: &SessionContext, clause: &str) -> Result<u64, String> {
    let v = common::sql_value(ctx, &format!("SELECT count(*) FROM cloudtrail WHERE {clause}")).await?;
    v.as_u64().ok_or_else(|| format!("count is {v}"))
}

async fn physical_plan(ctx: &SessionContext, c: &Compiler, query: &str) -> Result<String, String> {
    let filter = c.kql(query).map_err(|e| e.to_string())?;
    let df = ctx
        .table("cloudtrail")
        .await
        .and_then(|t| t.filter(filter))
        .and_then(|t| t.explain(false, false))
        .map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    let text = arrow::util::pretty::pretty_format_batches(&batches).map_err(|e| e.to_string())?;
    Ok(text.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_bar_cases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = common::fixture_table(tmp.path()).await;
    let now: DateTime<Utc> = "2024-08-03T00:00:00Z".parse().expect("now");
    let c = Compiler::new(now);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases.txt");
    let cases = parse_cases(&std::fs::read_to_string(&path).expect("read cases.txt"));
    assert!(cases.len() > 50, "too few cases parsed: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let at = format!("cases.txt:{} `{}`", case.line, case.query);
        if let Some(expected) = &case.error {
            match c.kql(&case.query) {
                Ok(_) => failures.push(format!("{at}: expected error containing {expected:?}, but it compiled")),
                Err(e) if !e.to_string().contains(expected.as_str()) => {
                    failures.push(format!(
                        "{at}: expected error containing {expected:?}, got {:?}",
                        e.to_string()
                    ));
                }
                Err(_) => {}
            }
            continue;
        }
        if let Some(expected) = case.count {
            match c.kql(&case.query) {
                Err(e) => failures.push(format!("{at}: {e}")),
                Ok(filter) => match count_rows(&ctx, filter).await {
                    Err(e) => failures.push(format!("{at}: {e}")),
                    Ok(n) if n != expected => failures.push(format!("{at}: matched {n} events, expected {expected}")),
                    Ok(_) => {}
                },
            }
            if let Some(sql) = &case.sql {
                match sql_count(&ctx, sql).await {
                    Err(e) => failures.push(format!("{at}: sql `{sql}`: {e}")),
                    Ok(n) if n != expected => {
                        failures.push(format!("{at}: sql `{sql}` counts {n}, expected {expected}"))
                    }
                    Ok(_) => {}
                }
            }
        }
        if !case.plan.is_empty() || !case.noplan.is_empty() {
            match physical_plan(&ctx, &c, &case.query).await {
                Err(e) => failures.push(format!("{at}: explain: {e}")),
                Ok(plan) => {
                    for unwanted in &case.noplan {
                        if plan.contains(unwanted.as_str()) {
                            failures.push(format!(
                                "{at}: plan contains {unwanted:?}, which should have been pruned"
                            ));
                        }
                    }
                    for want in &case.plan {
                        if !plan.contains(want.as_str()) {
                            let scan: Vec<&str> = plan
                                .lines()
                                .skip_while(|l| !l.contains("physical_plan"))
                                .map(str::trim)
                                .collect();
                            failures.push(format!(
                                "{at}: plan lacks {want:?}; scan and filter:\n{}",
                                scan.join("\n")
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
