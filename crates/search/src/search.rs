//! One `_search` request: the filter, the page of hits (sorted, paged with `from` or
//! `search_after`, `_source`-filtered and highlighted), the total and the aggregations,
//! computed concurrently over one DataFusion session.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::prelude::{DataFrame, Expr, SessionContext, col, ident, lit};
use serde_json::{Map, Value as Json, json};
use trailscope_cloudtrail::schema;

use crate::aggs;
use crate::compile::{Compiler, conjunction, disjunction};
use crate::dsl;
use crate::error::SearchError;
use crate::fields::{FieldDef, FieldType};
use crate::highlight;

/// The index name the events are served under.
pub const INDEX: &str = "cloudtrail";

/// Bounds that keep one request from monopolising the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `from + size` (Elasticsearch's `index.max_result_window`).
    pub max_result_window: usize,
    /// Most buckets one response may hold (Elasticsearch's `search.max_buckets`).
    pub max_buckets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_result_window: 10_000,
            max_buckets: 65_536,
        }
    }
}

/// A parsed `_search` body (URL parameters already merged in by the caller).
#[derive(Debug, Clone)]
pub struct Request {
    pub query: Json,
    pub size: usize,
    pub from: usize,
    pub sort: Vec<SortKey>,
    pub search_after: Option<Vec<Json>>,
    /// `None`: no total; otherwise count exactly.
    pub track_total_hits: bool,
    pub source: SourceFilter,
    pub aggs: Option<Json>,
    pub highlight: Option<Json>,
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub field: FieldDef,
    pub descending: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    pub enabled: bool,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

impl Request {
    /// Reads an Elasticsearch search body.
    pub fn parse(body: &Json, compiler: &Compiler, limits: &Limits) -> Result<Request, SearchError> {
        let get = |k: &str| body.get(k).filter(|v| !v.is_null());
        let size = usize_param(get("size"), "size")?.unwrap_or(10);
        let from = usize_param(get("from"), "from")?.unwrap_or(0);
        if from.saturating_add(size) > limits.max_result_window {
            return Err(SearchError::BadRequest(format!(
                "Result window is too large, from + size must be less than or equal to: [{}] but was [{}]. \
                 Page deeper with search_after.",
                limits.max_result_window,
                from.saturating_add(size)
            )));
        }
        let sort = parse_sort(get("sort"), compiler)?;
        let search_after = match get("search_after") {
            Some(Json::Array(values)) => Some(values.clone()),
            Some(other) => {
                return Err(SearchError::BadRequest(format!(
                    "[search_after] must be a list, found {other}"
                )));
            }
            None => None,
        };
        let track_total_hits = !matches!(get("track_total_hits"), Some(Json::Bool(false)));
        Ok(Request {
            query: get("query").cloned().unwrap_or_else(|| json!({"match_all": {}})),
            size,
            from,
            sort,
            search_after,
            track_total_hits,
            source: parse_source(get("_source"))?,
            aggs: get("aggs").or_else(|| get("aggregations")).cloned(),
            highlight: get("highlight").cloned(),
        })
    }
}

fn usize_param(v: Option<&Json>, name: &str) -> Result<Option<usize>, SearchError> {
    match v {
        None => Ok(None),
        Some(Json::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| SearchError::BadRequest(format!("[{name}] must be a non-negative integer, found {n}"))),
        Some(Json::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| SearchError::BadRequest(format!("[{name}] must be a non-negative integer, found '{s}'"))),
        Some(other) => Err(SearchError::BadRequest(format!(
            "[{name}] must be a non-negative integer, found {other}"
        ))),
    }
}

/// `sort` in any of Elasticsearch's shapes: `"f"`, `"f:desc"`, `{"f": "desc"}`,
/// `{"f": {"order": "desc"}}`, or a list of these. `_score` and `_doc` are accepted and ignored.
fn parse_sort(v: Option<&Json>, c: &Compiler) -> Result<Vec<SortKey>, SearchError> {
    let items: Vec<Json> = match v {
        None => Vec::new(),
        Some(Json::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
    };
    let mut keys = Vec::new();
    for item in items {
        let (name, order) = match &item {
            Json::String(s) => match s.rsplit_once(':') {
                Some((f, o)) if o == "asc" || o == "desc" => (f.to_string(), Some(o.to_string())),
                _ => (s.clone(), None),
            },
            Json::Object(o) => {
                let Some((f, spec)) = o.iter().next() else { continue };
                let order = match spec {
                    Json::String(s) => Some(s.clone()),
                    Json::Object(p) => p.get("order").and_then(Json::as_str).map(str::to_string),
                    _ => None,
                };
                (f.clone(), order)
            }
            other => return Err(SearchError::BadRequest(format!("cannot read sort {other}"))),
        };
        if name == "_score" || name == "_doc" || name == "_shard_doc" {
            continue;
        }
        let field = c.field(&name)?;
        if matches!(field.ty, FieldType::GeoPoint | FieldType::KeywordList) {
            return Err(SearchError::BadRequest(format!(
                "cannot sort on '{}' ({})",
                field.display,
                field.ty.es_type()
            )));
        }
        // Elasticsearch sorts dates newest first unless told otherwise only for _score; for
        // fields the default is ascending.
        let descending = match order.as_deref() {
            Some("desc") => true,
            Some("asc") | None => false,
            Some(o) => {
                return Err(SearchError::BadRequest(format!(
                    "sort order must be asc or desc, found '{o}'"
                )));
            }
        };
        keys.push(SortKey { field, descending });
    }
    Ok(keys)
}

fn parse_source(v: Option<&Json>) -> Result<SourceFilter, SearchError> {
    let list = |v: Option<&Json>| -> Vec<String> {
        match v {
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    Ok(match v {
        None | Some(Json::Bool(true)) => SourceFilter {
            enabled: true,
            ..Default::default()
        },
        Some(Json::Bool(false)) => SourceFilter::default(),
        Some(Json::String(_) | Json::Array(_)) => SourceFilter {
            enabled: true,
            includes: list(v),
            excludes: Vec::new(),
        },
        Some(Json::Object(o)) => SourceFilter {
            enabled: true,
            includes: list(o.get("includes").or_else(|| o.get("include"))),
            excludes: list(o.get("excludes").or_else(|| o.get("exclude"))),
        },
        Some(other) => return Err(SearchError::BadRequest(format!("cannot read _source {other}"))),
    })
}

/// The events matching `filter`, as a DataFrame over the `cloudtrail` view.
pub async fn filtered(ctx: &SessionContext, filter: Expr) -> Result<DataFrame, SearchError> {
    Ok(ctx.table(trailscope_query::TABLE).await?.filter(filter)?)
}

/// Answers a search with an Elasticsearch-shaped response body.
/// `days` are the table's `eventdate` partitions (ascending) when known: newest-first hits are
/// then read a few hours at a time ([`crate::windows`]); empty, every match is sorted.
pub async fn search(
    ctx: &SessionContext,
    req: &Request,
    compiler: &Compiler,
    limits: &Limits,
    days: &[i32],
) -> Result<Json, SearchError> {
    let started = std::time::Instant::now();
    let filter = dsl::query(compiler, &req.query)?;
    // Discover asks for the total and a histogram of the same events over time: the histogram's
    // buckets add up to the total, so the count is not computed twice.
    let histogram = req
        .aggs
        .as_ref()
        .and_then(|a| total_histogram(a, compiler))
        .filter(|_| req.track_total_hits);
    let total = async {
        if req.track_total_hits && histogram.is_none() {
            count_rows(ctx, filter.clone()).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let hits = async {
        if req.size == 0 {
            Ok(Vec::new())
        } else {
            hits_for(ctx, req, compiler, filter.clone(), days).await
        }
    };
    let aggregations = async {
        match &req.aggs {
            Some(spec) => aggs::run(ctx, compiler, filter.clone(), spec, limits).await.map(Some),
            None => Ok(None),
        }
    };
    let (total, hits, aggregations) = futures::try_join!(total, hits, aggregations)?;
    let mut body = json!({
        "took": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"max_score": null, "hits": hits},
    });
    let total = match (&histogram, &aggregations) {
        (Some(name), Some(a)) => a[name.as_str()]["buckets"]
            .as_array()
            .map(|b| b.iter().filter_map(|b| b["doc_count"].as_u64()).sum()),
        _ => total,
    };
    if let Some(total) = total {
        body["hits"]["total"] = json!({"value": total, "relation": "eq"});
    }
    if let Some(a) = aggregations {
        body["aggregations"] = a;
    }
    Ok(body)
}

/// The name of a top-level `date_histogram` whose buckets hold every matching event exactly
/// once: on `eventtime` (never null), as a list, and dropping no bucket that has events.
fn total_histogram(aggs: &Json, c: &Compiler) -> Option<String> {
    aggs.as_object()?.iter().find_map(|(name, a)| {
        let h = a.get("date_histogram")?.as_object()?;
        let on_time = h
            .get("field")
            .and_then(Json::as_str)
            .and_then(|f| c.field(f).ok())
            .is_some_and(|f| f.path == schema::EVENT_TIME);
        let keeps_all = h.get("min_doc_count").and_then(Json::as_u64).unwrap_or(0) <= 1;
        let plain =
            !h.contains_key("hard_bounds") && !h.contains_key("missing") && h.get("keyed") != Some(&Json::Bool(true));
        (on_time && keeps_all && plain).then(|| name.clone())
    })
}

/// `_count`.
pub async fn count_rows(ctx: &SessionContext, filter: Expr) -> Result<u64, SearchError> {
    let batches = filtered(ctx, filter)
        .await?
        .aggregate(vec![], vec![count(lit(1)).alias("n")])?
        .collect()
        .await?;
    Ok(first_u64(&batches))
}

pub(crate) fn first_u64(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .map(|a| a.value(0))
        })
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

/// The sort used for hits: the request's, newest first by default, and `eventid` last so pages
/// are stable and `search_after` never skips or repeats an event.
fn effective_sort(req: &Request, c: &Compiler) -> Result<Vec<SortKey>, SearchError> {
    let mut keys = req.sort.clone();
    if keys.is_empty() {
        keys.push(SortKey {
            field: c.field(schema::EVENT_TIME)?,
            descending: true,
        });
    }
    if !keys.iter().any(|k| k.field.path == "eventid") {
        keys.push(SortKey {
            field: c.field("eventid")?,
            descending: false,
        });
    }
    Ok(keys)
}

/// The page of hits `req` asks for among the events matching `filter`.
pub(crate) async fn hits_for(
    ctx: &SessionContext,
    req: &Request,
    c: &Compiler,
    filter: Expr,
    days: &[i32],
) -> Result<Vec<Json>, SearchError> {
    let keys = effective_sort(req, c)?;
    let mut filter = filter;
    if let Some(after) = &req.search_after {
        filter = filter.and(after_condition(&keys, after)?);
    }
    // Phase 1 sorts and pages using only the sort keys and each row's identity, so the
    // expensive columns (the rendered event) are computed for the page alone, in phase 2.
    let mut select = vec![
        ident(schema::SOURCE_OBJECT_ID),
        ident("sourceindex"),
        ident(schema::EVENT_DATE),
    ];
    for (i, k) in keys.iter().enumerate() {
        select.push(k.field.expr.clone().alias(format!("__sort{i}")));
    }
    let order: Vec<datafusion::logical_expr::SortExpr> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| col(format!("__sort{i}")).sort(!k.descending, k.descending))
        .collect();
    let newest_first = keys
        .first()
        .is_some_and(|k| k.descending && k.field.path == schema::EVENT_TIME);
    let (rows, sort_values) = if newest_first && !days.is_empty() {
        // Newest first: read the newest hours first and stop when the page is full, instead of
        // sorting every match.
        let need = req.from.saturating_add(req.size);
        let mut batches: Vec<RecordBatch> = Vec::new();
        let mut have = 0;
        let mut windows = crate::windows::Windows::new(days, None, None, crate::windows::FIRST_WINDOW_US);
        while let Some(w) = windows.next() {
            let part = filtered(ctx, crate::windows::bounds(w)?.and(filter.clone()))
                .await?
                .select(select.clone())?
                .sort(order.clone())?
                .limit(0, Some(need - have))?
                .collect()
                .await?;
            let n: usize = part.iter().map(RecordBatch::num_rows).sum();
            have += n;
            batches.extend(part);
            if have >= need {
                break;
            }
            windows.observed(w, n, need - have);
        }
        let (mut rows, mut sorts) = page_rows(&batches, keys.len())?;
        let skip = req.from.min(rows.len());
        rows.drain(..skip);
        sorts.drain(..skip);
        (rows, sorts)
    } else {
        let page = filtered(ctx, filter)
            .await?
            .select(select)?
            .sort(order)?
            .limit(req.from, Some(req.size))?
            .collect()
            .await?;
        page_rows(&page, keys.len())?
    };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let batches = fetch_rows(
        ctx,
        &rows,
        vec![
            ident("eventid"),
            ident(schema::RAW_EVENT),
            ident(schema::GEOIP),
            ident(schema::TAGS),
        ],
    )
    .await?;
    let terms = match &req.highlight {
        Some(_) => highlight::terms(&req.query, c),
        None => Vec::new(),
    };
    // Rows come back in storage order; put them in page order.
    let mut found: std::collections::HashMap<(String, i64), Json> = std::collections::HashMap::new();
    for batch in &batches {
        let extras = enrichment_json(batch)?;
        let objects = trailscope_cloudtrail::template::to_text(batch.column(0).as_ref())?;
        let indexes = batch.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        let ids = trailscope_cloudtrail::template::to_text(batch.column(2).as_ref())?;
        let raw = trailscope_cloudtrail::template::to_text(batch.column(3).as_ref())?;
        for row in 0..batch.num_rows() {
            let mut source: Map<String, Json> = if raw.is_null(row) {
                Map::new()
            } else {
                serde_json::from_str(raw.value(row)).unwrap_or_default()
            };
            if let Some(Json::Object(extra)) = extras.get(row) {
                for (k, v) in extra {
                    source.insert(k.clone(), v.clone());
                }
            }
            let id = if ids.is_null(row) {
                format!("{}#{}", objects.value(row), indexes.value(row))
            } else {
                ids.value(row).to_string()
            };
            let mut hit = json!({"_index": INDEX, "_id": id, "_score": null});
            if let Some(spec) = &req.highlight {
                let h = highlight::highlight(&source, &terms, spec);
                if !h.is_empty() {
                    hit["highlight"] = Json::Object(h);
                }
            }
            if req.source.enabled {
                hit["_source"] = filter_source(Json::Object(source), &req.source);
            }
            found.insert((objects.value(row).to_string(), indexes.value(row)), hit);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for (key, sort) in rows.iter().zip(sort_values) {
        if let Some(mut hit) = found.remove(&(key.object.clone(), key.index)) {
            hit["sort"] = Json::Array(sort);
            out.push(hit);
        }
    }
    Ok(out)
}

/// A row's identity in the table (unique: one per record of one source object) and its day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey {
    pub object: String,
    pub index: i64,
    pub day: i32,
}

/// The identities and sort values of a page, in order.
fn page_rows(page: &[RecordBatch], keys: usize) -> Result<(Vec<RowKey>, Vec<Vec<Json>>), SearchError> {
    let mut rows = Vec::new();
    let mut sorts = Vec::new();
    for b in page {
        let objects = trailscope_cloudtrail::template::to_text(b.column(0).as_ref())?;
        let indexes = b.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        let days = b.column(2).as_primitive::<arrow::datatypes::Date32Type>();
        for row in 0..b.num_rows() {
            rows.push(RowKey {
                object: objects.value(row).to_string(),
                index: indexes.value(row),
                day: days.value(row),
            });
            sorts.push((0..keys).map(|i| sort_value(b.column(3 + i).as_ref(), row)).collect());
        }
    }
    Ok((rows, sorts))
}

/// `columns` of exactly `rows`, after each row's object id and index: the rows' days bound the
/// partitions read, their object ids are pushed into the scan, and the caller matches the
/// (object, index) pairs exactly. Rows come back in storage order.
pub async fn fetch_rows(
    ctx: &SessionContext,
    rows: &[RowKey],
    columns: Vec<Expr>,
) -> Result<Vec<RecordBatch>, SearchError> {
    let mut days: Vec<i32> = rows.iter().map(|r| r.day).collect();
    days.sort_unstable();
    days.dedup();
    let mut objects: Vec<&str> = rows.iter().map(|r| r.object.as_str()).collect();
    objects.sort_unstable();
    objects.dedup();
    let mut indexes: Vec<i64> = rows.iter().map(|r| r.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    let filter = ident(schema::EVENT_DATE)
        .in_list(
            days.into_iter()
                .map(|d| lit(datafusion::common::ScalarValue::Date32(Some(d))))
                .collect(),
            false,
        )
        .and(ident(schema::SOURCE_OBJECT_ID).in_list(objects.into_iter().map(|o| lit(o.to_string())).collect(), false))
        .and(ident("sourceindex").in_list(indexes.into_iter().map(lit).collect(), false));
    Ok(filtered(ctx, filter)
        .await?
        .select(
            [ident(schema::SOURCE_OBJECT_ID), ident("sourceindex")]
                .into_iter()
                .chain(columns)
                .collect::<Vec<_>>(),
        )?
        .collect()
        .await?)
}

/// `geoip` and `tags` of each row as JSON objects (absent values omitted).
fn enrichment_json(batch: &RecordBatch) -> Result<Vec<Json>, SearchError> {
    let part = RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(vec![
            batch.schema().field(4).clone(),
            batch.schema().field(5).clone(),
        ])),
        vec![batch.column(4).clone(), batch.column(5).clone()],
    )?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        w.write(&part)?;
        w.finish()?;
    }
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&buf).unwrap_or_default())
}

/// A hit's sort value as Elasticsearch gives it: dates as epoch milliseconds.
fn sort_value(a: &dyn Array, row: usize) -> Json {
    if a.is_null(row) {
        return Json::Null;
    }
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            json!(
                a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                    .value(row)
                    .div_euclid(1000)
            )
        }
        DataType::Date32 => json!(i64::from(a.as_primitive::<arrow::datatypes::Date32Type>().value(row)) * 86_400_000),
        DataType::Int64 => json!(a.as_primitive::<arrow::datatypes::Int64Type>().value(row)),
        DataType::Float64 => json!(a.as_primitive::<arrow::datatypes::Float64Type>().value(row)),
        _ => trailscope_cloudtrail::template::to_text(a)
            .ok()
            .map(|t| json!(t.value(row)))
            .unwrap_or(Json::Null),
    }
}

/// Rows after `after` in the order of `keys`: `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR …`.
fn after_condition(keys: &[SortKey], after: &[Json]) -> Result<Expr, SearchError> {
    if after.len() > keys.len() {
        return Err(SearchError::BadRequest(format!(
            "search_after has {} values but the sort has {} keys",
            after.len(),
            keys.len()
        )));
    }
    let mut alternatives = Vec::new();
    let mut equal_so_far = Vec::new();
    for (k, v) in keys.iter().zip(after) {
        let value = sort_literal(&k.field, v)?;
        let e = k.field.expr.clone();
        let beyond = if k.descending {
            e.clone().lt(value.clone())
        } else {
            e.clone().gt(value.clone())
        };
        let mut branch = equal_so_far.clone();
        branch.push(beyond);
        alternatives.push(conjunction(branch));
        equal_so_far.push(e.eq(value));
    }
    Ok(disjunction(alternatives))
}

fn sort_literal(f: &FieldDef, v: &Json) -> Result<Expr, SearchError> {
    let bad = || {
        SearchError::BadRequest(format!(
            "search_after value {v} does not fit the sort field '{}'",
            f.display
        ))
    };
    Ok(match f.ty {
        FieldType::Date => {
            let ms = match v {
                Json::Number(n) => n.as_i64().ok_or_else(bad)?,
                Json::String(s) => crate::dates::parse(s, chrono::Utc::now())
                    .ok_or_else(bad)?
                    .start
                    .timestamp_millis(),
                _ => return Err(bad()),
            };
            lit(datafusion::common::ScalarValue::TimestampMicrosecond(
                Some(ms.saturating_mul(1000)),
                Some("UTC".into()),
            ))
        }
        FieldType::Day => lit(datafusion::common::ScalarValue::Date32(Some(
            i32::try_from(v.as_i64().ok_or_else(bad)?.div_euclid(86_400_000)).map_err(|_| bad())?,
        ))),
        FieldType::Long => lit(v.as_i64().ok_or_else(bad)?),
        FieldType::Double => lit(v.as_f64().ok_or_else(bad)?),
        _ => lit(v.as_str().map(str::to_string).ok_or_else(bad)?),
    })
}

/// Applies `_source` includes/excludes (dotted paths with `*` wildcards) to a document.
pub fn filter_source(doc: Json, filter: &SourceFilter) -> Json {
    if filter.includes.is_empty() && filter.excludes.is_empty() {
        return doc;
    }
    filter_object(doc, "", filter).unwrap_or_else(|| Json::Object(Map::new()))
}

fn filter_object(v: Json, prefix: &str, filter: &SourceFilter) -> Option<Json> {
    let Json::Object(map) = v else { return Some(v) };
    let mut out = Map::new();
    for (k, child) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if filter.excludes.iter().any(|p| glob(p, &path)) {
            continue;
        }
        let included = filter.includes.is_empty() || filter.includes.iter().any(|p| glob(p, &path));
        if included {
            if filter.excludes.is_empty() {
                out.insert(k, child);
            } else if let Some(kept) = filter_object(
                child,
                &path,
                &SourceFilter {
                    enabled: true,
                    includes: Vec::new(),
                    excludes: filter.excludes.clone(),
                },
            ) {
                out.insert(k, kept);
            }
        } else if child.is_object()
            && filter
                .includes
                .iter()
                .any(|p| p.starts_with(&format!("{path}.")) || p.contains('*'))
            && let Some(Json::Object(kept)) = filter_object(child, &path, filter)
            && !kept.is_empty()
        {
            out.insert(k, Json::Object(kept));
        }
    }
    Some(Json::Object(out))
}

/// `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(head) else {
        return false;
    };
    let pieces: Vec<&str> = rest.split('*').collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i == pieces.len() - 1 {
            return remaining.ends_with(piece);
        }
        match remaining.find(piece) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("user*", "userIdentity"));
        assert!(glob("*.arn", "userIdentity.arn"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("eventName", "eventName"));
    }

    #[test]
    fn source_filtering_keeps_paths() {
        let doc = json!({"eventName": "X", "userIdentity": {"arn": "a", "type": "t"}, "geoip": {"ip": "1"}});
        let f = SourceFilter {
            enabled: true,
            includes: vec!["userIdentity.arn".into(), "eventName".into()],
            excludes: vec![],
        };
        assert_eq!(
            filter_source(doc.clone(), &f),
            json!({"eventName": "X", "userIdentity": {"arn": "a"}})
        );
        let f = SourceFilter {
            enabled: true,
            includes: vec![],
            excludes: vec!["geoip".into(), "userIdentity.type".into()],
        };
        assert_eq!(
            filter_source(doc, &f),
            json!({"eventName": "X", "userIdentity": {"arn": "a"}})
        );
    }
}
