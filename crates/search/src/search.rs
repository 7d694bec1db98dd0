//! One `_search` request: the filter, the page of hits (sorted, paged with `from` or
//! `search_after`, `_source`-filtered and highlighted), the total and the aggregations,
//! computed concurrently over one DataFusion session.

use arrow::array::{AsArray, RecordBatch};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::prelude::{DataFrame, Expr, SessionContext, lit};
use serde_json::{Map, Value as Json, json};
use trailscope_cloudtrail::schema;

use crate::aggs;
use crate::compile::Compiler;
use crate::dsl;
use crate::error::SearchError;
use crate::fields::{FieldDef, FieldType};

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

pub(crate) use crate::hits::hits_for;
pub use crate::hits::{RowKey, fetch_rows};

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
