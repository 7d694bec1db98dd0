//! Elasticsearch requests (queries, sorting, paging, `_source`, highlight, every aggregation)
//! against the fixture table. Each check reads one value of the response by JSON pointer and
//! compares it with an answer computed independently in SQL, or with a literal.

mod common;

use chrono::{DateTime, Utc};
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};
use trailscope_search::{Compiler, Limits, Request, SearchError};

enum Want {
    /// The first value of this SQL query's first row.
    Sql(&'static str),
    Json(Value),
    /// The pointer must not resolve.
    Absent,
    /// The pointer names an array of this length.
    Len(usize),
}

use Want::{Absent, Json, Len, Sql};

async fn run(ctx: &SessionContext, body: &Value, limits: &Limits) -> Result<Value, SearchError> {
    let now: DateTime<Utc> = "2024-08-03T00:00:00Z".parse().unwrap_or_default();
    let c = Compiler::new(now);
    let req = Request::parse(body, &c, limits)?;
    // The table's days, so newest-first hits are read in windows as the server reads them.
    let days = common::sql_value(
        ctx,
        "SELECT array_agg(d ORDER BY d) FROM (SELECT DISTINCT CAST(date_part('epoch', eventdate) / 86400 AS BIGINT) AS d FROM cloudtrail)",
    )
    .await
    .map_err(SearchError::BadRequest)?;
    let days: Vec<i32> = days
        .as_array()
        .map(|ds| {
            ds.iter()
                .filter_map(|d| d.as_i64())
                .filter_map(|d| i32::try_from(d).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(!days.is_empty(), "the fixture table has days");
    trailscope_search::search(ctx, &req, &c, limits, &days).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_requests_agree_with_sql() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = common::fixture_table(tmp.path()).await;
    let limits = Limits::default();
    let terms_source = json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventSource", "size": 2}}}});
    let checks: Vec<(&str, Value, &str, Want)> = vec![
        // --- a range beyond the data: no file to read, no hits, no error (a sorted scan of
        // zero files once failed DataFusion's plan checks).
        (
            "beyond the data, newest first",
            json!({"size": 5, "track_total_hits": true, "query": {"range": {"eventTime": {"gte": "2030-01-01T00:00:00Z"}}},
                   "aggs": {"h": {"date_histogram": {"field": "eventTime", "fixed_interval": "1d"}}}}),
            "/hits/hits",
            Len(0),
        ),
        (
            "beyond the data, oldest first",
            json!({"size": 5, "sort": [{"eventTime": "asc"}], "query": {"range": {"eventTime": {"lt": "2000-01-01T00:00:00Z"}}}}),
            "/hits/total/value",
            Json(json!(0)),
        ),
        // --- terms
        (
            "terms key",
            terms_source.clone(),
            "/aggregations/a/buckets/0/key",
            Sql(
                "SELECT eventsource FROM cloudtrail WHERE eventsource IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            ),
        ),
        (
            "terms count",
            terms_source.clone(),
            "/aggregations/a/buckets/0/doc_count",
            Sql("SELECT count(*) FROM cloudtrail GROUP BY eventsource ORDER BY count(*) DESC LIMIT 1"),
        ),
        (
            "terms second",
            terms_source.clone(),
            "/aggregations/a/buckets/1/key",
            Sql(
                "SELECT eventsource FROM cloudtrail WHERE eventsource IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 1",
            ),
        ),
        (
            "terms others",
            terms_source.clone(),
            "/aggregations/a/sum_other_doc_count",
            Sql(
                "SELECT count(eventsource) - (SELECT sum(n) FROM (SELECT count(*) n FROM cloudtrail WHERE eventsource IS NOT NULL GROUP BY eventsource ORDER BY n DESC LIMIT 2)) FROM cloudtrail",
            ),
        ),
        (
            "terms total",
            terms_source,
            "/hits/total/value",
            Sql("SELECT count(*) FROM cloudtrail"),
        ),
        (
            "terms by key",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "order": {"_key": "asc"}}}}}),
            "/aggregations/a/buckets/0/key",
            Sql("SELECT min(eventsource) FROM cloudtrail"),
        ),
        (
            "terms by key, descending",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "order": {"_key": "desc"}}}}}),
            "/aggregations/a/buckets/0/key",
            Sql("SELECT max(eventsource) FROM cloudtrail"),
        ),
        (
            "terms, fewest first",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "order": {"_count": "asc"}, "size": 1}}}}),
            "/aggregations/a/buckets/0/key",
            Sql(
                "SELECT eventsource FROM cloudtrail WHERE eventsource IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1",
            ),
        ),
        (
            "terms missing",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "errorCode", "missing": "N/A"}}}}),
            "/aggregations/a/buckets/0",
            Json(json!({"key": "N/A", "doc_count": 19})),
        ),
        (
            "terms min_doc_count",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "min_doc_count": 3}}}}),
            "/aggregations/a/buckets",
            Len(3),
        ),
        (
            "terms on a list",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "resources.ARN", "size": 1}}}}),
            "/aggregations/a/buckets/0/doc_count",
            Sql(
                "SELECT count(*) FROM (SELECT unnest(resources)['arn'] AS a FROM cloudtrail) WHERE a IS NOT NULL GROUP BY a ORDER BY count(*) DESC LIMIT 1",
            ),
        ),
        (
            "terms by metric",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "order": {"m": "desc"}, "size": 1},
            "aggs": {"m": {"max": {"field": "sourceindex"}}}}}}),
            "/aggregations/a/buckets/0/m/value",
            Sql("SELECT CAST(max(sourceindex) AS DOUBLE) FROM cloudtrail WHERE eventsource IS NOT NULL"),
        ),
        // --- date histograms
        (
            "calendar years filled",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "@timestamp", "calendar_interval": "1y"}}}}),
            "/aggregations/a/buckets",
            Len(10),
        ),
        (
            "calendar first",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "calendar_interval": "year"}}}}),
            "/aggregations/a/buckets/0",
            Json(json!({"key_as_string": "2015-01-01T00:00:00.000Z", "key": 1_420_070_400_000_i64, "doc_count": 1})),
        ),
        (
            "empty year",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "calendar_interval": "1y"}}}}),
            "/aggregations/a/buckets/1/doc_count",
            Json(json!(0)),
        ),
        (
            "fixed days",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "fixed_interval": "1d", "min_doc_count": 1}}}}),
            "/aggregations/a/buckets",
            Len(8),
        ),
        (
            "fixed days count",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "fixed_interval": "24h", "min_doc_count": 1}}}}),
            "/aggregations/a/buckets/2/doc_count",
            Sql(
                "SELECT count(*) FROM cloudtrail GROUP BY date_trunc('day', eventtime) ORDER BY date_trunc('day', eventtime) LIMIT 1 OFFSET 2",
            ),
        ),
        (
            // Counted in one pass (timebuckets.rs): buckets start at multiples of 3 hours in
            // local time, as date_bin's from local midnight of 1970-01-01.
            "fixed 3h in +05:30",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "fixed_interval": "3h", "time_zone": "+05:30", "min_doc_count": 1}}}}),
            "/aggregations/a/buckets/1/doc_count",
            Sql(
                "SELECT count(*) FROM cloudtrail GROUP BY date_bin(INTERVAL '3 hours', eventtime, TIMESTAMP '1970-01-01T00:00:00+05:30') \
                 ORDER BY date_bin(INTERVAL '3 hours', eventtime, TIMESTAMP '1970-01-01T00:00:00+05:30') LIMIT 1 OFFSET 1",
            ),
        ),
        (
            "fixed 3h in +05:30, first key",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "fixed_interval": "3h", "time_zone": "+05:30", "min_doc_count": 1}}}}),
            "/aggregations/a/buckets/0/key",
            Sql(
                "SELECT CAST(to_unixtime(min(date_bin(INTERVAL '3 hours', eventtime, TIMESTAMP '1970-01-01T00:00:00+05:30'))) * 1000 AS BIGINT) FROM cloudtrail",
            ),
        ),
        (
            "time zone",
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "calendar_interval": "1d", "time_zone": "America/New_York", "min_doc_count": 1}}}}),
            "/aggregations/a/buckets/0/key_as_string",
            Json(json!("2015-06-16T00:00:00.000-04:00")),
        ),
        (
            "extended bounds",
            json!({"size": 0, "query": {"range": {"eventtime": {"gte": "2022-02-07", "lt": "2022-02-08"}}},
            "aggs": {"a": {"date_histogram": {"field": "eventtime", "fixed_interval": "1h", "extended_bounds": {"min": "2022-02-07T00:00:00Z", "max": "2022-02-07T23:00:00Z"}}}}}),
            "/aggregations/a/buckets",
            Len(24),
        ),
        // --- histogram, range, filters
        (
            "histogram",
            json!({"size": 0, "aggs": {"a": {"histogram": {"field": "sourceindex", "interval": 2}}}}),
            "/aggregations/a/buckets/0/doc_count",
            Sql("SELECT count(*) FROM cloudtrail WHERE sourceindex < 2"),
        ),
        (
            "histogram key",
            json!({"size": 0, "aggs": {"a": {"histogram": {"field": "sourceindex", "interval": 2}}}}),
            "/aggregations/a/buckets/1/key",
            Json(json!(2.0)),
        ),
        (
            "range",
            json!({"size": 0, "aggs": {"a": {"range": {"field": "sourceindex", "ranges": [{"to": 1}, {"from": 1, "to": 3}, {"from": 3}]}}}}),
            "/aggregations/a/buckets/1/doc_count",
            Sql("SELECT count(*) FROM cloudtrail WHERE sourceindex >= 1 AND sourceindex < 3"),
        ),
        (
            "range key",
            json!({"size": 0, "aggs": {"a": {"range": {"field": "sourceindex", "ranges": [{"to": 1}]}}}}),
            "/aggregations/a/buckets/0/key",
            Json(json!("*-1")),
        ),
        (
            "date_range",
            json!({"size": 0, "aggs": {"a": {"date_range": {"field": "eventtime", "ranges": [{"from": "2022-01-01"}]}}}}),
            "/aggregations/a/buckets/0/doc_count",
            Sql("SELECT count(*) FROM cloudtrail WHERE eventtime >= TIMESTAMP '2022-01-01T00:00:00Z'"),
        ),
        (
            "filters",
            json!({"size": 0, "aggs": {"a": {"filters": {"filters": {"ecs": {"match": {"eventSource": "ecs.amazonaws.com"}}, "ec2": {"query_string": {"query": "eventsource:ec2*"}}}}}}}),
            "/aggregations/a/buckets/ec2/doc_count",
            Sql("SELECT count(*) FROM cloudtrail WHERE eventsource LIKE 'ec2%'"),
        ),
        (
            "filter with metric",
            json!({"size": 0, "aggs": {"a": {"filter": {"term": {"userIdentity.type": "IAMUser"}}, "aggs": {"u": {"cardinality": {"field": "userIdentity.arn"}}}}}}),
            "/aggregations/a/u/value",
            Sql("SELECT count(DISTINCT useridentity.arn) FROM cloudtrail WHERE useridentity.type = 'IAMUser'"),
        ),
        // --- metrics
        (
            "cardinality",
            json!({"size": 0, "aggs": {"a": {"cardinality": {"field": "userIdentity.arn"}}}}),
            "/aggregations/a/value",
            Sql("SELECT count(DISTINCT useridentity.arn) FROM cloudtrail"),
        ),
        (
            "value_count",
            json!({"size": 0, "aggs": {"a": {"value_count": {"field": "eventName"}}}}),
            "/aggregations/a/value",
            Sql("SELECT count(eventname) FROM cloudtrail"),
        ),
        (
            "avg",
            json!({"size": 0, "aggs": {"a": {"avg": {"field": "sourceindex"}}}}),
            "/aggregations/a/value",
            Sql("SELECT avg(sourceindex) FROM cloudtrail"),
        ),
        (
            "sum",
            json!({"size": 0, "aggs": {"a": {"sum": {"field": "sourceindex"}}}}),
            "/aggregations/a/value",
            Sql("SELECT CAST(sum(sourceindex) AS DOUBLE) FROM cloudtrail"),
        ),
        (
            "stats max",
            json!({"size": 0, "aggs": {"a": {"stats": {"field": "sourceindex"}}}}),
            "/aggregations/a/max",
            Sql("SELECT CAST(max(sourceindex) AS DOUBLE) FROM cloudtrail"),
        ),
        (
            "stats count",
            json!({"size": 0, "aggs": {"a": {"stats": {"field": "sourceindex"}}}}),
            "/aggregations/a/count",
            Sql("SELECT count(sourceindex) FROM cloudtrail"),
        ),
        (
            "max date",
            json!({"size": 0, "aggs": {"a": {"max": {"field": "eventtime"}}}}),
            "/aggregations/a/value_as_string",
            Json(json!("2024-08-02T08:53:24.000Z")),
        ),
        (
            "min date",
            json!({"size": 0, "aggs": {"a": {"min": {"field": "eventtime"}}}}),
            "/aggregations/a/value",
            Json(json!(1_434_502_048_000.0)),
        ),
        (
            "percentiles",
            json!({"size": 0, "aggs": {"a": {"percentiles": {"field": "sourceindex", "percents": [50]}}}}),
            "/aggregations/a/values/50.0",
            Sql(
                "SELECT CAST(approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY sourceindex) AS DOUBLE) FROM cloudtrail",
            ),
        ),
        (
            "top_hits",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "size": 1},
            "aggs": {"t": {"top_hits": {"size": 1, "sort": [{"eventtime": "desc"}], "_source": ["eventName"]}}}}}}),
            "/aggregations/a/buckets/0/t/hits/hits/0/_source/eventName",
            Sql(
                "SELECT eventname FROM cloudtrail WHERE eventsource = 'ec2.amazonaws.com' ORDER BY eventtime DESC, eventid LIMIT 1",
            ),
        ),
        (
            "nested buckets",
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventsource", "size": 1},
            "aggs": {"d": {"date_histogram": {"field": "eventtime", "fixed_interval": "1m", "min_doc_count": 1}}}}}}),
            "/aggregations/a/buckets/0/d/buckets",
            Len(2),
        ),
        // --- hits, sorting, paging
        (
            "newest",
            json!({"size": 3, "sort": [{"eventtime": "desc"}]}),
            "/hits/hits/0/_source/eventName",
            Sql("SELECT eventname FROM cloudtrail ORDER BY eventtime DESC LIMIT 1"),
        ),
        (
            "default sort is newest first",
            json!({"size": 1}),
            "/hits/hits/0/_source/eventTime",
            Sql("SELECT max(eventtime) FROM cloudtrail"),
        ),
        (
            "newest first across many windows (years apart)",
            json!({"size": 15, "from": 2}),
            "/hits/hits/12/_id",
            Sql("SELECT eventid FROM cloudtrail ORDER BY eventtime DESC, eventid ASC LIMIT 1 OFFSET 14"),
        ),
        (
            "from",
            json!({"size": 1, "from": 1, "sort": ["eventtime:desc"]}),
            "/hits/hits/0/_source/eventName",
            Sql("SELECT eventname FROM cloudtrail ORDER BY eventtime DESC LIMIT 1 OFFSET 1"),
        ),
        (
            "search_after",
            json!({"size": 1, "sort": [{"eventtime": {"order": "desc"}}], "search_after": [1_722_588_804_000_i64]}),
            "/hits/hits/0/_source/eventName",
            Sql("SELECT eventname FROM cloudtrail ORDER BY eventtime DESC LIMIT 1 OFFSET 1"),
        ),
        (
            "sort values",
            json!({"size": 1, "sort": [{"eventtime": "desc"}]}),
            "/hits/hits/0/sort/0",
            Json(json!(1_722_588_804_000_i64)),
        ),
        (
            "sort ascending",
            json!({"size": 1, "sort": [{"sourceindex": "asc"}, {"eventtime": "asc"}]}),
            "/hits/hits/0/_source/eventTime",
            Sql("SELECT eventtime FROM cloudtrail ORDER BY sourceindex, eventtime LIMIT 1"),
        ),
        (
            "_source includes",
            json!({"size": 1, "_source": ["eventName"]}),
            "/hits/hits/0/_source/eventSource",
            Absent,
        ),
        (
            "_source excludes",
            json!({"size": 1, "_source": {"excludes": ["userIdentity"]}}),
            "/hits/hits/0/_source/userIdentity",
            Absent,
        ),
        (
            "_source off",
            json!({"size": 1, "_source": false}),
            "/hits/hits/0/_source",
            Absent,
        ),
        (
            "_id is the eventID",
            json!({"size": 1, "query": {"ids": {"values": ["39ad9d56-0d9d-4c36-98a4-ab3f4eb9c5b8"]}}}),
            "/hits/total/value",
            Sql("SELECT count(*) FROM cloudtrail WHERE eventid = '39ad9d56-0d9d-4c36-98a4-ab3f4eb9c5b8'"),
        ),
        (
            "highlight",
            json!({"size": 1, "query": {"query_string": {"query": "eventsource:ecs.amazonaws.com"}},
            "highlight": {"pre_tags": ["@kibana-highlighted-field@"], "post_tags": ["@/kibana-highlighted-field@"], "fields": {"*": {}}}}),
            "/hits/hits/0/highlight/eventSource/0",
            Json(json!(
                "@kibana-highlighted-field@ecs.amazonaws.com@/kibana-highlighted-field@"
            )),
        ),
        (
            "total read off the Discover histogram",
            json!({"size": 1, "query": {"query_string": {"query": "eventsource:ec2.amazonaws.com"}},
                   "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 1}}}}),
            "/hits/total/value",
            Sql("SELECT count(*) FROM cloudtrail WHERE eventsource = 'ec2.amazonaws.com'"),
        ),
        (
            "total counted when the histogram drops buckets",
            json!({"size": 0, "aggs": {"h": {"date_histogram": {"field": "eventtime", "calendar_interval": "1y", "min_doc_count": 5}}}}),
            "/hits/total/value",
            Sql("SELECT count(*) FROM cloudtrail"),
        ),
        (
            "no total",
            json!({"size": 1, "track_total_hits": false}),
            "/hits/total",
            Absent,
        ),
        // --- query DSL
        (
            "bool",
            json!({"size": 0, "query": {"bool": {
            "must": [{"match": {"eventSource": "ec2.amazonaws.com"}}],
            "filter": [{"range": {"eventtime": {"gte": "2022-01-01", "lte": "2022-12-31"}}}, {"exists": {"field": "requestParameters"}}],
            "should": [{"prefix": {"eventName": "Run"}}, {"wildcard": {"eventName": "*Instances"}}],
            "must_not": [{"term": {"eventName": "DescribeInstances"}}]}}}),
            "/hits/total/value",
            Sql(
                "SELECT count(*) FROM cloudtrail WHERE eventsource = 'ec2.amazonaws.com' AND eventtime >= TIMESTAMP '2022-01-01T00:00:00Z' AND requestparameters IS NOT NULL AND eventname <> 'DescribeInstances'",
            ),
        ),
        (
            "should alone",
            json!({"size": 0, "query": {"bool": {"should": [{"terms": {"eventsource": ["sts.amazonaws.com", "ecs.amazonaws.com"]}}, {"match_phrase": {"userAgent": "console.amazonaws.com"}}]}}}),
            "/hits/total/value",
            Sql(
                "SELECT count(*) FROM cloudtrail WHERE eventsource IN ('sts.amazonaws.com', 'ecs.amazonaws.com') OR useragent ILIKE '%console.amazonaws.com%'",
            ),
        ),
        (
            "multi_match free text",
            json!({"size": 0, "query": {"multi_match": {"type": "best_fields", "query": "fakeusername", "lenient": true}}}),
            "/hits/total/value",
            Sql("SELECT count(*) FROM cloudtrail WHERE useridentity.arn LIKE '%fakeusername%'"),
        ),
        (
            "case_insensitive term",
            json!({"size": 0, "query": {"term": {"eventName": {"value": "runinstances", "case_insensitive": true}}}}),
            "/hits/total/value",
            Json(json!(1)),
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, pointer, want) in &checks {
        let got = match run(&ctx, body, &limits).await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let value = got.pointer(pointer);
        let ok = match want {
            Absent => value.is_none(),
            Len(n) => value.and_then(Value::as_array).map(Vec::len) == Some(*n),
            Json(v) => value == Some(v),
            Sql(sql) => match common::sql_value(&ctx, sql).await {
                Ok(expected) => value.is_some_and(|v| same(v, &expected)),
                Err(e) => {
                    failures.push(format!("{name}: sql failed: {e}"));
                    continue;
                }
            },
        };
        if !ok {
            let expected = match want {
                Sql(sql) => format!("{:?}", common::sql_value(&ctx, sql).await),
                Json(v) => v.to_string(),
                Len(n) => format!("an array of {n}"),
                Absent => "nothing".into(),
            };
            failures.push(format!(
                "{name}: {pointer} is {value:?}, expected {expected}\n  response: {}",
                short(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        checks.len(),
        failures.join("\n")
    );
}

/// Numbers compare as numbers (SQL gives integers where the response has floats); times
/// compare by instant (SQL's text has no milliseconds).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            x == y || matches!((x.parse::<DateTime<Utc>>(), y.parse::<DateTime<Utc>>()), (Ok(p), Ok(q)) if p == q)
        }
        _ => a == b,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 1500 {
        format!("{}…", &s[..1500])
    } else {
        s
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_bad_requests_are_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = common::fixture_table(tmp.path()).await;
    let small = Limits {
        max_result_window: 10,
        max_buckets: 5,
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"size": 8, "from": 5}),
            "parsing_exception",
            "Result window is too large",
        ),
        (
            json!({"size": 0, "aggs": {"a": {"date_histogram": {"field": "eventtime", "calendar_interval": "1y"}}}}),
            "too_many_buckets_exception",
            "less than or equal to: [5]",
        ),
        (
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "eventname", "size": 100}}}}),
            "too_many_buckets_exception",
            "[5]",
        ),
        (
            json!({"size": 0, "aggs": {"a": {"median": {"field": "x"}}}}),
            "parsing_exception",
            "unknown aggregation type [median]",
        ),
        (
            json!({"size": 0, "aggs": {"a": {"terms": {"field": "useragent"}}}}),
            "parsing_exception",
            "cannot be aggregated",
        ),
        (
            json!({"query": {"fuzzy": {"a": "b"}}}),
            "parsing_exception",
            "unknown query [fuzzy]",
        ),
        (
            json!({"query": {"match": {"nosuchfield": "b"}}}),
            "query_shard_exception",
            "unknown field 'nosuchfield'",
        ),
        (
            json!({"query": {"query_string": {"query": "a:("}}}),
            "parse_exception",
            "at column 4",
        ),
        (
            json!({"query": {"range": {"eventtime": {"gte": "soon"}}}}),
            "query_shard_exception",
            "is not a date",
        ),
        (
            json!({"sort": [{"geoip.location": "asc"}]}),
            "parsing_exception",
            "cannot sort",
        ),
    ];
    for (body, kind, reason) in cases {
        match run(&ctx, &body, &small).await {
            Ok(r) => panic!("{body} should fail, answered {}", short(&r)),
            Err(e) => {
                assert_eq!(e.es_type(), kind, "{body}: {e}");
                assert!(e.to_string().contains(reason), "{body}: {e:?} lacks {reason:?}");
            }
        }
    }
}

/// A filter on text above the scan compares string views (`trailscope_query`'s `ViewEq`),
/// while the scan keeps the plain comparison its pruning understands; counts agree with
/// comparisons that the rule leaves alone (`IN`, `LIKE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_filters_compare_views_and_scans_keep_their_predicates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = common::fixture_table(tmp.path()).await;
    let filter = "eventsource = 'ecs.amazonaws.com' OR NOT (eventname = 'RunTask') OR awsregion <> 'us-east-1'";
    let explained = ctx
        .sql(&format!("EXPLAIN SELECT count(*) FROM cloudtrail WHERE {filter}"))
        .await
        .expect("explain")
        .collect()
        .await
        .expect("a plan");
    let plan = arrow::util::pretty::pretty_format_batches(&explained)
        .expect("printable")
        .to_string();
    let plan = &plan[plan.find("physical_plan").unwrap_or(0)..];
    for wanted in [
        "= ecs.amazonaws.com (by view)",
        "= RunTask (by view)",
        "!= us-east-1 (by view)",
        "predicate=eventsource@",
    ] {
        assert!(plan.contains(wanted), "plan lacks {wanted:?}:\n{plan}");
    }
    assert!(
        !plan[plan.find("DataSourceExec").unwrap_or(0)..].contains("(by view)"),
        "the scan's predicate is left as it was:\n{plan}"
    );
    for (ours, plain) in [
        (
            filter.to_string(),
            "eventsource IN ('ecs.amazonaws.com') OR eventname NOT IN ('RunTask') OR awsregion NOT LIKE 'us-east-1'",
        ),
        (
            "eventsource = 'ecs.amazonaws.com'".into(),
            "eventsource LIKE 'ecs.amazonaws.com'",
        ),
        ("awsregion = 'eu-central-1'".into(), "awsregion LIKE 'eu-central-1'"),
        (
            "eventsource <> 'ec2.amazonaws.com'".into(),
            "eventsource NOT LIKE 'ec2.amazonaws.com'",
        ),
    ] {
        let count = |w: String| {
            let ctx = &ctx;
            async move { common::sql_value(ctx, &format!("SELECT count(*) FROM cloudtrail WHERE {w}")).await }
        };
        let (a, b) = (count(ours.clone()).await, count(plain.to_string()).await);
        assert_eq!(a, b, "{ours} against {plain}");
        assert!(
            a.as_ref().is_ok_and(|n| n.as_i64().is_some_and(|n| n > 0)),
            "{ours} matches some events: {a:?}"
        );
    }
}
