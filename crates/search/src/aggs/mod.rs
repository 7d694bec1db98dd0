//! Elasticsearch aggregations over DataFusion.
//!
//! Each bucket aggregation is one grouped query whose single-value metric sub-aggregations
//! (`avg`, `cardinality`, `geo_centroid`, …) are computed in the same pass; bucket
//! sub-aggregations run once per bucket with the bucket's condition added to the filter. The
//! number of buckets in a response is bounded by [`Limits::max_buckets`].

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn::date_trunc;
use datafusion::functions_aggregate::expr_fn::{approx_distinct, approx_percentile_cont, avg, count, max, min, sum};
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, col, lit};
use futures::future::BoxFuture;
use serde_json::{Map, Value as Json, json};

use crate::compile::Compiler;
use crate::error::SearchError;
use crate::fields::{FieldDef, FieldType};
use crate::geocells;
use crate::search::{self, Limits, Request, count_rows, filtered};
use crate::timebuckets;
use crate::udf;
use crate::viewfold;
use calendar::{Interval, Zone};
use spec::{Agg, CondBucket, CondShape, Kind, Metric, MetricKind, TermsOrder, bad, parse_level};

mod calendar;
mod spec;

/// Runs the `aggs` object of a request over the events matching `filter`.
pub async fn run(
    ctx: &SessionContext,
    c: &Compiler,
    filter: Expr,
    spec: &Json,
    limits: &Limits,
) -> Result<Json, SearchError> {
    let aggs = parse_level(spec, c)?;
    let budget = Budget {
        used: AtomicUsize::new(0),
        max: limits.max_buckets,
    };
    let out = eval_level(ctx, c, filter, &aggs, &budget).await?;
    Ok(Json::Object(out))
}

struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl Budget {
    fn take(&self, n: usize) -> Result<(), SearchError> {
        let used = self.used.fetch_add(n, Ordering::Relaxed) + n;
        if used > self.max {
            return Err(SearchError::TooManyBuckets(format!(
                "Trying to create too many buckets. Must be less than or equal to: [{}] but this number of buckets was \
                 exceeded. This limit can be set by changing the [search.max_buckets] setting.",
                self.max
            )));
        }
        Ok(())
    }
}

fn eval_level<'a>(
    ctx: &'a SessionContext,
    c: &'a Compiler,
    filter: Expr,
    aggs: &'a [Agg],
    budget: &'a Budget,
) -> BoxFuture<'a, Result<Map<String, Json>, SearchError>> {
    Box::pin(async move {
        let mut out = Map::new();
        // Metrics of one level share one pass.
        let metrics: Vec<(&str, &Metric)> = aggs
            .iter()
            .filter_map(|a| match &a.kind {
                Kind::Metric(m) => Some((a.name.as_str(), m)),
                _ => None,
            })
            .collect();
        if !metrics.is_empty() {
            let exprs = metric_exprs(&metrics, false)?;
            let batches = filtered(ctx, filter.clone())
                .await?
                .aggregate(vec![], exprs)?
                .collect()
                .await?;
            let row = single_row(&batches);
            for (i, (name, m)) in metrics.iter().enumerate() {
                let v = match &row {
                    Some((b, r)) => metric_json(m, b, *r, i),
                    None => empty_metric(m),
                };
                out.insert((*name).to_string(), v);
            }
        }
        for a in aggs {
            let value = match &a.kind {
                Kind::Metric(_) => continue,
                Kind::TopHits { size, sort, source } => top_hits(ctx, c, filter.clone(), *size, sort, source).await?,
                Kind::Terms { .. } | Kind::DateHistogram { .. } | Kind::Histogram { .. } | Kind::GeoGrid { .. } => {
                    grouped(ctx, c, filter.clone(), a, budget).await?
                }
                Kind::Conditions { buckets, shape } => {
                    conditions(ctx, c, filter.clone(), a, buckets, *shape, budget).await?
                }
            };
            let mut value = value;
            if let (Some(meta), Json::Object(o)) = (&a.meta, &mut value) {
                o.insert("meta".into(), meta.clone());
            }
            out.insert(a.name.clone(), value);
        }
        Ok(out)
    })
}

fn single_row(batches: &[RecordBatch]) -> Option<(RecordBatch, usize)> {
    batches.iter().find(|b| b.num_rows() > 0).map(|b| (b.clone(), 0))
}

/// Aggregate expressions of `metrics`, aliased `__m{i}_{j}`.
/// `grouped`: the metrics are computed per bucket of a grouped query, not once for all events.
fn metric_exprs(metrics: &[(&str, &Metric)], grouped: bool) -> Result<Vec<Expr>, SearchError> {
    let mut out = Vec::new();
    for (i, (name, m)) in metrics.iter().enumerate() {
        let e = m.field.expr.clone();
        let numeric = || -> Result<Expr, SearchError> {
            match m.field.ty {
                FieldType::Long | FieldType::Double => Ok(cast(e.clone(), DataType::Float64)),
                FieldType::Date | FieldType::Day
                    if matches!(m.kind, MetricKind::Min | MetricKind::Max | MetricKind::Stats) =>
                {
                    Ok(cast(
                        cast(e.clone(), DataType::Timestamp(TimeUnit::Millisecond, None)),
                        DataType::Int64,
                    ))
                }
                _ => Err(bad(format!("metric [{name}]: '{}' is not numeric", m.field.display))),
            }
        };
        let alias = |j: usize| format!("__m{i}_{j}");
        match &m.kind {
            // One sketch for all events: each batch's distinct views are added once (the sketch
            // is the same). Per bucket, DataFusion's accumulator for many groups is faster.
            MetricKind::Cardinality if grouped => out.push(approx_distinct(e).alias(alias(0))),
            MetricKind::Cardinality => out.push(viewfold::approx_distinct_views(e).alias(alias(0))),
            MetricKind::ValueCount => out.push(count(e).alias(alias(0))),
            MetricKind::Min => out.push(min(numeric()?).alias(alias(0))),
            MetricKind::Max => out.push(max(numeric()?).alias(alias(0))),
            MetricKind::Avg => out.push(avg(numeric()?).alias(alias(0))),
            MetricKind::Sum => out.push(sum(numeric()?).alias(alias(0))),
            MetricKind::Stats => {
                let n = numeric()?;
                out.push(count(n.clone()).alias(alias(0)));
                out.push(min(n.clone()).alias(alias(1)));
                out.push(max(n.clone()).alias(alias(2)));
                out.push(avg(cast(n.clone(), DataType::Float64)).alias(alias(3)));
                out.push(sum(cast(n, DataType::Float64)).alias(alias(4)));
            }
            MetricKind::Percentiles(ps) => {
                let n = numeric()?;
                for (j, p) in ps.iter().enumerate() {
                    out.push(approx_percentile_cont(n.clone().sort(true, false), lit(p / 100.0), None).alias(alias(j)));
                }
            }
            MetricKind::GeoCentroid => {
                if m.field.ty != FieldType::GeoPoint {
                    return Err(bad(format!(
                        "geo_centroid [{name}]: '{}' is not a geo_point field",
                        m.field.display
                    )));
                }
                let (lat, lon) = lat_lon(&m.field);
                out.push(avg(lat.clone()).alias(alias(0)));
                out.push(avg(lon).alias(alias(1)));
                out.push(count(lat).alias(alias(2)));
            }
        }
    }
    Ok(out)
}

fn lat_lon(f: &FieldDef) -> (Expr, Expr) {
    use datafusion::functions::core::expr_fn::get_field;
    (get_field(f.expr.clone(), "lat"), get_field(f.expr.clone(), "lon"))
}

fn number_at(b: &RecordBatch, name: &str, row: usize) -> Option<f64> {
    let a = b.column_by_name(name)?;
    if a.is_null(row) {
        return None;
    }
    let a = arrow::compute::cast(a, &DataType::Float64).ok()?;
    Some(a.as_primitive::<arrow::datatypes::Float64Type>().value(row))
}

fn metric_json(m: &Metric, b: &RecordBatch, row: usize, i: usize) -> Json {
    let n = |j: usize| number_at(b, &format!("__m{i}_{j}"), row);
    let is_date = matches!(m.field.ty, FieldType::Date | FieldType::Day);
    let single = |v: Option<f64>| {
        let mut o = json!({ "value": v });
        if is_date && let Some(ms) = v {
            o["value_as_string"] = json!(Zone::Utc.format(ms as i64));
        }
        o
    };
    match &m.kind {
        MetricKind::Cardinality | MetricKind::ValueCount => json!({"value": n(0).map_or(0, |v| v as u64)}),
        MetricKind::Min | MetricKind::Max | MetricKind::Avg => single(n(0)),
        MetricKind::Sum => json!({"value": n(0).unwrap_or(0.0)}),
        MetricKind::Stats => json!({
            "count": n(0).map_or(0, |v| v as u64), "min": n(1), "max": n(2), "avg": n(3), "sum": n(4).unwrap_or(0.0)
        }),
        MetricKind::Percentiles(ps) => {
            let mut values = Map::new();
            for (j, p) in ps.iter().enumerate() {
                values.insert(format!("{p:.1}"), json!(n(j)));
            }
            json!({ "values": values })
        }
        MetricKind::GeoCentroid => match (n(0), n(1)) {
            (Some(lat), Some(lon)) => {
                json!({"location": {"lat": lat, "lon": lon}, "count": n(2).map_or(0, |v| v as u64)})
            }
            _ => json!({"count": 0}),
        },
    }
}

fn empty_metric(m: &Metric) -> Json {
    match &m.kind {
        MetricKind::Cardinality | MetricKind::ValueCount => json!({"value": 0}),
        MetricKind::Sum => json!({"value": 0.0}),
        MetricKind::Stats => json!({"count": 0, "min": null, "max": null, "avg": null, "sum": 0.0}),
        MetricKind::Percentiles(ps) => {
            json!({"values": ps.iter().map(|p| (format!("{p:.1}"), Json::Null)).collect::<Map<_, _>>()})
        }
        MetricKind::GeoCentroid => json!({"count": 0}),
        _ => json!({"value": null}),
    }
}

/// Metric sub-aggregations that can be computed in the grouped pass, and the others.
fn split_subs(subs: &[Agg]) -> (Vec<(&str, &Metric)>, Vec<Agg>) {
    let mut inline = Vec::new();
    let mut rest = Vec::new();
    for s in subs {
        match &s.kind {
            Kind::Metric(m) => inline.push((s.name.as_str(), m)),
            _ => rest.push(s.clone()),
        }
    }
    (inline, rest)
}

/// A `terms` aggregation on text with no metric under it, counted by looking at each distinct
/// view once ([`viewfold`]) instead of grouped by the text of every row: the terms with their
/// counts, cut to `size` in the requested order, and the number of events counted in some
/// bucket. `None` when the field is not read as string views or the order needs a metric.
async fn terms_by_views(
    base: &DataFrame,
    field: &FieldDef,
    size: usize,
    order: &TermsOrder,
    missing: Option<&str>,
) -> Result<Option<(Vec<(String, u64)>, i64)>, SearchError> {
    let (by_count, descending) = match order {
        TermsOrder::Count(desc) => (true, *desc),
        TermsOrder::Key(desc) => (false, *desc),
        TermsOrder::Metric(..) => return Ok(None),
    };
    if field.ty == FieldType::KeywordList
        || datafusion::logical_expr::ExprSchemable::get_type(&field.expr, base.schema())? != DataType::Utf8View
    {
        return Ok(None);
    }
    // The aggregate cuts the list itself: only `size` terms leave it.
    let cut = viewfold::TermsCut {
        size,
        by_count,
        descending,
        missing: missing.map(str::to_string),
    };
    let batches = base
        .clone()
        .aggregate(
            vec![],
            vec![viewfold::term_counts(field.expr.clone(), cut).alias("__terms")],
        )?
        .collect()
        .await?;
    let counted = single_row(&batches).and_then(|(b, row)| {
        let column = b.column_by_name("__terms")?;
        viewfold::read_terms(column.as_ref(), row)
    });
    Ok(Some(match counted {
        Some((pairs, with_value)) => (pairs, i64::try_from(with_value).unwrap_or(i64::MAX)),
        None => (Vec::new(), 0),
    }))
}

/// A `geotile_grid` whose only sub-aggregations are centroids of its own points, in one pass
/// ([`crate::geocells`]): the `size` fullest tiles (ties by key), each with its centroids.
async fn geotile_cells(
    base: &DataFrame,
    field: &FieldDef,
    zoom: u8,
    size: usize,
    centroids: &[(&str, &Metric)],
) -> Result<Vec<(ScalarValue, u64, Map<String, Json>)>, SearchError> {
    let (lat, lon) = lat_lon(field);
    let batches = base
        .clone()
        .aggregate(vec![], vec![geocells::geotile_cells(lat, lon, zoom).alias("__cells")])?
        .collect()
        .await?;
    let cells = single_row(&batches)
        .and_then(|(b, row)| geocells::read_cells(b.column_by_name("__cells")?.as_ref(), row))
        .unwrap_or_default();
    let fullest = |a: &geocells::Cell, b: &geocells::Cell| b.points.cmp(&a.points).then(a.key.cmp(&b.key));
    Ok(viewfold::first_in_order(cells, size, fullest)
        .into_iter()
        .map(|c| {
            let n = c.points as f64;
            let centroid = json!({
                "location": {"lat": c.lat_sum / n, "lon": c.lon_sum / n},
                "count": c.points,
            });
            let metrics = centroids
                .iter()
                .map(|(name, _)| ((*name).to_string(), centroid.clone()))
                .collect();
            (ScalarValue::Int64(Some(c.key)), c.points, metrics)
        })
        .collect())
}

/// A fixed-interval `date_histogram` on a time in microseconds with no metric under it, in one
/// pass ([`timebuckets`]): its non-empty buckets by start (other sub-aggregations are run per
/// bucket by the caller, as for grouped buckets). `None` for other time types.
async fn date_buckets(
    base: &DataFrame,
    field: &FieldDef,
    width: i64,
    offset: i64,
) -> Result<Option<Vec<(ScalarValue, u64, Map<String, Json>)>>, SearchError> {
    let ty = datafusion::logical_expr::ExprSchemable::get_type(&field.expr, base.schema())?;
    if !matches!(ty, DataType::Timestamp(TimeUnit::Microsecond, _)) {
        return Ok(None);
    }
    let batches = base
        .clone()
        .aggregate(
            vec![],
            vec![timebuckets::fixed_buckets(field.expr.clone(), width, offset).alias("__buckets")],
        )?
        .collect()
        .await?;
    let buckets = single_row(&batches)
        .and_then(|(b, row)| timebuckets::read_buckets(b.column_by_name("__buckets")?.as_ref(), row))
        .unwrap_or_default();
    Ok(Some(
        buckets
            .into_iter()
            .map(|(start, n)| (ScalarValue::Int64(Some(start)), n, Map::new()))
            .collect(),
    ))
}

/// terms, date_histogram, histogram and geo grids: one grouped query.
async fn grouped(
    ctx: &SessionContext,
    c: &Compiler,
    filter: Expr,
    a: &Agg,
    budget: &Budget,
) -> Result<Json, SearchError> {
    let (inline, rest) = split_subs(&a.subs);
    let mut aggregates = vec![count(lit(1)).alias("__n")];
    aggregates.extend(metric_exprs(&inline, true)?);
    let base = filtered(ctx, filter.clone()).await?;
    // Rows without a key form a group of their own, dropped when the buckets are read: a
    // filter (on the key, or on its source columns) is pushed into the scan and evaluated per
    // row there, which doubled the geo grid (the key computed twice) and cost terms a third.
    let (key, sort, limit): (Expr, Vec<datafusion::logical_expr::SortExpr>, Option<usize>) = match &a.kind {
        Kind::Terms {
            field,
            size,
            order,
            missing,
            ..
        } => {
            let key = match missing {
                Some(m) => datafusion::functions::expr_fn::coalesce(vec![
                    cast(field.expr.clone(), DataType::Utf8),
                    lit(m.clone()),
                ]),
                None => field.expr.clone(),
            };
            let sort = match order {
                TermsOrder::Count(desc) => vec![col("__n").sort(!desc, false), col("__key").sort(true, false)],
                TermsOrder::Key(desc) => vec![col("__key").sort(!desc, false)],
                TermsOrder::Metric(name, desc) => {
                    let (metric_name, sub_key) = name.split_once('.').unwrap_or((name.as_str(), ""));
                    let i = inline
                        .iter()
                        .position(|(n, _)| *n == metric_name)
                        .ok_or_else(|| bad(format!("terms [{}]: cannot order by unknown metric [{name}]", a.name)))?;
                    let j = match sub_key {
                        "" | "value" | "count" => 0,
                        "min" => 1,
                        "max" => 2,
                        "avg" => 3,
                        "sum" => 4,
                        other => return Err(bad(format!("terms [{}]: cannot order by [{other}]", a.name))),
                    };
                    vec![
                        col(format!("__m{i}_{j}")).sort(!desc, false),
                        col("__n").sort(false, false),
                        col("__key").sort(true, false),
                    ]
                }
            };
            (key, sort, Some(*size))
        }
        Kind::DateHistogram {
            field, interval, zone, ..
        } => (
            date_key(field, *interval, *zone),
            vec![col("__key").sort(true, false)],
            None,
        ),
        Kind::Histogram { field, interval, .. } => {
            let x = cast(field.expr.clone(), DataType::Float64);
            (
                datafusion::functions::expr_fn::floor(x / lit(*interval)) * lit(*interval),
                vec![col("__key").sort(true, false)],
                None,
            )
        }
        Kind::GeoGrid {
            field,
            tile,
            precision,
            size,
        } => {
            let (lat, lon) = lat_lon(field);
            let key = if *tile {
                udf::geotile(lat, lon, *precision)
            } else {
                udf::geohash(lat, lon, *precision)
            };
            (
                key,
                vec![col("__n").sort(false, false), col("__key").sort(true, false)],
                Some(*size),
            )
        }
        _ => return Err(bad(format!("[{}] is not a grouped aggregation", a.name))),
    };
    let counted = match &a.kind {
        Kind::Terms {
            field,
            size,
            order,
            missing,
            ..
        } if inline.is_empty() => terms_by_views(&base, field, *size, order, missing.as_deref())
            .await?
            .map(|(pairs, with_value)| {
                let buckets = pairs
                    .into_iter()
                    .map(|(term, n)| (ScalarValue::Utf8(Some(term)), n, Map::new()))
                    .collect::<Vec<_>>();
                (buckets, with_value)
            }),
        Kind::GeoGrid {
            field,
            tile: true,
            precision,
            size,
        } if inline
            .iter()
            .all(|(_, m)| m.kind == MetricKind::GeoCentroid && m.field.path == field.path) =>
        {
            let buckets = geotile_cells(&base, field, *precision, *size, &inline).await?;
            Some((buckets, 0))
        }
        Kind::DateHistogram {
            field,
            interval: Interval::Fixed(ms),
            zone,
            ..
        } if inline.is_empty() => date_buckets(&base, field, ms * 1000, fixed_offset(*zone))
            .await?
            .map(|buckets| (buckets, 0)),
        _ => None,
    };
    let (mut buckets, with_value) = match counted {
        Some((counted, with_value)) => {
            budget.take(counted.len())?;
            let buckets: Vec<(ScalarValue, Json, Map<String, Json>)> = counted
                .into_iter()
                .map(|(scalar, n, metrics)| {
                    let mut bucket = Map::new();
                    let key_json = key_json(&a.kind, &scalar, &mut bucket);
                    bucket.insert("doc_count".into(), json!(n));
                    bucket.extend(metrics);
                    (scalar, key_json, bucket)
                })
                .collect();
            (buckets, with_value)
        }
        None => {
            let is_list = matches!(&a.kind, Kind::Terms { field, .. } if field.ty == FieldType::KeywordList);
            let mut df = base.clone();
            if is_list {
                // Each element of a list field is a term of its own.
                if !inline.is_empty() {
                    return Err(bad(format!(
                        "terms [{}] on a list field cannot have metric sub-aggregations",
                        a.name
                    )));
                }
                df = df
                    .select(vec![key.clone().alias("__key")])?
                    .unnest_columns(&["__key"])?;
            }
            let group_key = if is_list {
                col("__key")
            } else {
                key.clone().alias("__key")
            };
            let mut grouped = df.aggregate(vec![group_key], aggregates)?;
            if matches!(a.kind, Kind::Terms { .. }) {
                // All groups' total, computed before the top-N cut in the same pass, gives
                // `sum_other_doc_count` without a second scan.
                let keyed = datafusion::prelude::when(col("__key").is_null(), lit(0i64)).otherwise(col("__n"))?;
                let total = Expr::from(datafusion::logical_expr::expr::WindowFunction::new(
                    datafusion::functions_aggregate::sum::sum_udaf(),
                    vec![keyed],
                ));
                grouped = grouped.window(vec![total.alias("__total")])?;
            }
            let mut grouped = grouped.sort(sort)?;
            if let Some(n) = limit {
                // One more: the group without a key may be among the first.
                grouped = grouped.limit(0, Some(n.saturating_add(1)))?;
            }
            let batches = grouped.collect().await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            budget.take(rows)?;

            let mut buckets = Vec::with_capacity(rows);
            for b in &batches {
                let keys = b.column_by_name("__key").cloned();
                let counts = b
                    .column_by_name("__n")
                    .and_then(|a| a.as_primitive_opt::<Int64Type>().cloned());
                let (Some(keys), Some(counts)) = (keys, counts) else {
                    continue;
                };
                for row in 0..b.num_rows() {
                    if keys.is_null(row) {
                        continue;
                    }
                    let scalar = ScalarValue::try_from_array(&keys, row)?;
                    let mut bucket = Map::new();
                    let count = counts.value(row);
                    let key_json = key_json(&a.kind, &scalar, &mut bucket);
                    bucket.insert("doc_count".into(), json!(count));
                    for (i, (name, m)) in inline.iter().enumerate() {
                        bucket.insert((*name).to_string(), metric_json(m, b, row, i));
                    }
                    buckets.push((scalar, key_json, bucket));
                }
            }
            // Events with a key, all groups' (before the cut): see `__total` above.
            let with_value = batches
                .iter()
                .find(|b| b.num_rows() > 0)
                .and_then(|b| b.column_by_name("__total"))
                .and_then(|c| c.as_primitive_opt::<Int64Type>().map(|c| c.value(0)))
                .unwrap_or(0);
            (buckets, with_value)
        }
    };

    if let Some(n) = limit {
        buckets.truncate(n);
    }

    // Gaps in histograms are buckets too (min_doc_count 0), up to the extended bounds.
    match &a.kind {
        Kind::DateHistogram {
            interval,
            zone,
            min_doc_count: 0,
            bounds,
            field,
        } => {
            buckets = fill_dates(buckets, *interval, *zone, *bounds, field, budget)?;
        }
        Kind::Histogram {
            interval,
            min_doc_count: 0,
            bounds,
            ..
        } => {
            buckets = fill_numbers(buckets, *interval, *bounds, budget)?;
        }
        Kind::DateHistogram { min_doc_count, .. } | Kind::Histogram { min_doc_count, .. } => {
            let min = i64::try_from(*min_doc_count).unwrap_or(i64::MAX);
            buckets.retain(|(_, _, b)| b.get("doc_count").and_then(Json::as_i64).unwrap_or(0) >= min);
        }
        Kind::Terms { min_doc_count, .. } => {
            let min = i64::try_from(*min_doc_count).unwrap_or(i64::MAX);
            buckets.retain(|(_, _, b)| b.get("doc_count").and_then(Json::as_i64).unwrap_or(0) >= min);
        }
        _ => {}
    }

    if !rest.is_empty() {
        for (scalar, _, bucket) in &mut buckets {
            let condition = bucket_condition(&a.kind, &key, scalar)?;
            let sub = eval_level(ctx, c, filter.clone().and(condition), &rest, budget).await?;
            bucket.extend(sub);
        }
    }

    let list: Vec<Json> = buckets.into_iter().map(|(_, _, b)| Json::Object(b)).collect();
    Ok(match &a.kind {
        Kind::Terms { .. } => {
            let listed: i64 = list
                .iter()
                .filter_map(|b| b.get("doc_count").and_then(Json::as_i64))
                .sum();
            json!({
                "doc_count_error_upper_bound": 0,
                "sum_other_doc_count": (with_value - listed).max(0),
                "buckets": list,
            })
        }
        _ => json!({ "buckets": list }),
    })
}

/// Fixed buckets start at multiples of the interval in local time, as in Elasticsearch: the
/// offset to add to a UTC instant (in microseconds) for that.
fn fixed_offset(zone: Zone) -> i64 {
    match zone {
        Zone::Fixed(o) => i64::from(o.local_minus_utc()) * 1_000_000,
        _ => 0,
    }
}

/// The bucket key of a date histogram: the bucket start as epoch microseconds.
fn date_key(field: &FieldDef, interval: Interval, zone: Zone) -> Expr {
    let micros = |e: Expr| {
        cast(
            cast(e, DataType::Timestamp(TimeUnit::Microsecond, None)),
            DataType::Int64,
        )
    };
    match interval {
        Interval::Fixed(ms) => udf::bucket_start(field.expr.clone(), ms * 1000, fixed_offset(zone)),
        Interval::Calendar(unit) => {
            let local = cast(
                field.expr.clone(),
                DataType::Timestamp(TimeUnit::Microsecond, Some(zone.name().into())),
            );
            micros(date_trunc(lit(unit.trunc_name()), local))
        }
    }
}

/// A bucket's key in the response; date keys also get `key_as_string`.
fn key_json(kind: &Kind, scalar: &ScalarValue, bucket: &mut Map<String, Json>) -> Json {
    let key = match (kind, scalar) {
        (Kind::DateHistogram { zone, .. }, ScalarValue::Int64(Some(us))) => {
            let ms = us.div_euclid(1000);
            bucket.insert("key_as_string".into(), json!(zone.format(ms)));
            json!(ms)
        }
        (Kind::Histogram { .. }, ScalarValue::Float64(Some(x))) => json!(x),
        (Kind::GeoGrid { tile: true, .. }, ScalarValue::Int64(Some(packed))) => json!(udf::tile_key(*packed)),
        (_, ScalarValue::TimestampMicrosecond(Some(us), _)) => {
            let ms = us.div_euclid(1000);
            bucket.insert("key_as_string".into(), json!(Zone::Utc.format(ms)));
            json!(ms)
        }
        (_, ScalarValue::Int64(Some(n))) => json!(n),
        (_, ScalarValue::Float64(Some(x))) => json!(x),
        (_, s) if s.is_null() => Json::Null,
        (_, s) => json!(s.to_string()),
    };
    bucket.insert("key".into(), key.clone());
    key
}

fn bucket_condition(kind: &Kind, key: &Expr, scalar: &ScalarValue) -> Result<Expr, SearchError> {
    Ok(match kind {
        Kind::DateHistogram {
            field, interval, zone, ..
        } => {
            let ScalarValue::Int64(Some(us)) = scalar else {
                return Ok(lit(false));
            };
            let end = match interval {
                Interval::Fixed(ms) => us + ms * 1000,
                Interval::Calendar(unit) => zone.next(us.div_euclid(1000), *unit).map_or(i64::MAX, |ms| ms * 1000),
            };
            let t = crate::dates::timestamp;
            let mut e = field.expr.clone().gt_eq(t(*us)).and(field.expr.clone().lt(t(end)));
            if field.path == trailscope_cloudtrail::schema::EVENT_TIME {
                let day = |v: i64| lit(ScalarValue::Date32(Some(trailscope_cloudtrail::epoch_days(v))));
                e = e.and(datafusion::prelude::ident(trailscope_cloudtrail::schema::EVENT_DATE).gt_eq(day(*us)));
                e = e.and(datafusion::prelude::ident(trailscope_cloudtrail::schema::EVENT_DATE).lt_eq(day(end)));
            }
            e
        }
        Kind::Histogram { field, interval, .. } => {
            let ScalarValue::Float64(Some(x)) = scalar else {
                return Ok(lit(false));
            };
            let v = cast(field.expr.clone(), DataType::Float64);
            v.clone().gt_eq(lit(*x)).and(v.lt(lit(x + interval)))
        }
        Kind::Terms {
            field,
            missing: Some(m),
            ..
        } if scalar.to_string() == *m => field
            .expr
            .clone()
            .is_null()
            .or(cast(field.expr.clone(), DataType::Utf8).eq(lit(m.clone()))),
        Kind::Terms { field, .. } if field.ty == FieldType::KeywordList => {
            datafusion::functions_nested::expr_fn::array_has(field.expr.clone(), lit(scalar.clone()))
        }
        _ => key.clone().eq(lit(scalar.clone())),
    })
}

type Bucket = (ScalarValue, Json, Map<String, Json>);

fn empty_bucket(scalar: ScalarValue, kind: &Kind) -> Bucket {
    let mut b = Map::new();
    let k = key_json(kind, &scalar, &mut b);
    b.insert("doc_count".into(), json!(0));
    (scalar, k, b)
}

fn fill_dates(
    buckets: Vec<Bucket>,
    interval: Interval,
    zone: Zone,
    bounds: Option<(i64, i64)>,
    field: &FieldDef,
    budget: &Budget,
) -> Result<Vec<Bucket>, SearchError> {
    let key_of = |b: &Bucket| match b.0 {
        ScalarValue::Int64(Some(us)) => Some(us.div_euclid(1000)),
        _ => None,
    };
    let first = buckets.first().and_then(key_of);
    let last = buckets.last().and_then(key_of);
    let kind = Kind::DateHistogram {
        field: field.clone(),
        interval,
        zone,
        min_doc_count: 0,
        bounds,
    };
    let floor = |ms: i64| -> i64 {
        match interval {
            Interval::Fixed(w) => {
                let off = zone.offset_at(ms).local_minus_utc() as i64 * 1000;
                let off = if matches!(zone, Zone::Fixed(_)) { off } else { 0 };
                (ms + off).div_euclid(w) * w - off
            }
            // Buckets of the data already start on calendar boundaries; bounds are used as given.
            Interval::Calendar(_) => ms,
        }
    };
    let (lo, hi) = match (first, last, bounds) {
        (Some(f), Some(l), Some((bmin, bmax))) => (f.min(floor(bmin)), l.max(floor(bmax))),
        (Some(f), Some(l), None) => (f, l),
        (None, None, Some((bmin, bmax))) if matches!(interval, Interval::Fixed(_)) => (floor(bmin), floor(bmax)),
        _ => return Ok(buckets),
    };
    let mut by_key: std::collections::BTreeMap<i64, Bucket> =
        buckets.into_iter().filter_map(|b| Some((key_of(&b)?, b))).collect();
    let mut at = lo;
    let mut added = 0usize;
    while at <= hi {
        by_key.entry(at).or_insert_with(|| {
            added += 1;
            empty_bucket(ScalarValue::Int64(Some(at * 1000)), &kind)
        });
        if added > budget.max {
            break;
        }
        at = match interval {
            Interval::Fixed(w) => at + w,
            Interval::Calendar(unit) => match zone.next(at, unit) {
                Some(n) if n > at => n,
                _ => break,
            },
        };
    }
    budget.take(added)?;
    Ok(by_key.into_values().collect())
}

fn fill_numbers(
    buckets: Vec<Bucket>,
    interval: f64,
    bounds: Option<(f64, f64)>,
    budget: &Budget,
) -> Result<Vec<Bucket>, SearchError> {
    let key_of = |b: &Bucket| match b.0 {
        ScalarValue::Float64(Some(x)) => Some(x),
        _ => None,
    };
    let (Some(mut lo), Some(mut hi)) = (buckets.first().and_then(key_of), buckets.last().and_then(key_of)) else {
        return Ok(buckets);
    };
    if let Some((bmin, bmax)) = bounds {
        lo = lo.min((bmin / interval).floor() * interval);
        hi = hi.max((bmax / interval).floor() * interval);
    }
    let steps = ((hi - lo) / interval).round();
    if steps > budget.max as f64 {
        budget.take(budget.max.saturating_add(1))?;
    }
    let kind = Kind::Histogram {
        field: Compiler::default().field("sourceindex")?,
        interval,
        min_doc_count: 0,
        bounds,
    };
    let mut out = Vec::new();
    let mut existing = buckets.into_iter().peekable();
    let mut added = 0;
    for i in 0..=(steps as u64) {
        let k = lo + i as f64 * interval;
        match existing.peek() {
            Some(b) if key_of(b).is_some_and(|x| (x - k).abs() < interval / 2.0) => out.extend(existing.next()),
            _ => {
                added += 1;
                out.push(empty_bucket(ScalarValue::Float64(Some(k)), &kind));
            }
        }
    }
    out.extend(existing);
    budget.take(added)?;
    Ok(out)
}

async fn conditions(
    ctx: &SessionContext,
    c: &Compiler,
    filter: Expr,
    a: &Agg,
    buckets: &[CondBucket],
    shape: CondShape,
    budget: &Budget,
) -> Result<Json, SearchError> {
    budget.take(buckets.len())?;
    let mut out = Vec::new();
    for b in buckets {
        let f = filter.clone().and(b.condition.clone());
        let n = count_rows(ctx, f.clone()).await?;
        let mut bucket = Map::new();
        if shape == CondShape::List && (b.from.is_some() || b.to.is_some()) {
            bucket.insert("key".into(), json!(b.key));
        }
        if let Some(from) = &b.from {
            bucket.insert("from".into(), from.clone());
        }
        if let Some(to) = &b.to {
            bucket.insert("to".into(), to.clone());
        }
        bucket.insert("doc_count".into(), json!(n));
        bucket.extend(eval_level(ctx, c, f, &a.subs, budget).await?);
        out.push((b.key.clone(), bucket));
    }
    Ok(match shape {
        CondShape::Single => Json::Object(out.into_iter().next().map(|(_, b)| b).unwrap_or_default()),
        CondShape::Keyed => {
            json!({ "buckets": out.into_iter().map(|(k, b)| (k, Json::Object(b))).collect::<Map<_, _>>() })
        }
        CondShape::List => json!({ "buckets": out.into_iter().map(|(_, b)| Json::Object(b)).collect::<Vec<_>>() }),
    })
}

async fn top_hits(
    ctx: &SessionContext,
    c: &Compiler,
    filter: Expr,
    size: usize,
    sort: &Json,
    source: &Json,
) -> Result<Json, SearchError> {
    let mut body = json!({ "size": size, "track_total_hits": true });
    if !sort.is_null() {
        body["sort"] = sort.clone();
    }
    if !source.is_null() {
        body["_source"] = source.clone();
    }
    let req = Request::parse(&body, c, &Limits::default())?;
    let total = count_rows(ctx, filter.clone()).await?;
    let hits = search::hits_for(ctx, &req, c, filter, &[]).await?;
    Ok(json!({"hits": {"total": {"value": total, "relation": "eq"}, "max_score": null, "hits": hits}}))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, StructArray, new_null_array};
    use arrow::datatypes::Fields;
    use trailscope_cloudtrail::schema;

    use super::*;

    /// A `cloudtrail` table of `geoip` alone, in two partitions: points of a few hundred
    /// cities, some rows without a location.
    fn points_table() -> SessionContext {
        let location = |rows: usize, seed: u64| -> ArrayRef {
            let mut x = seed;
            let (mut lat, mut lon, mut valid) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rows {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let city = (x >> 33) % 311;
                lat.push(-70.0 + city as f64 * 0.45);
                lon.push(-170.0 + (city as f64 * 11.7) % 340.0);
                valid.push(!(x >> 21).is_multiple_of(13));
            }
            let fields = match schema::geoip_fields()
                .find("location")
                .map(|(_, f)| f.data_type().clone())
            {
                Some(DataType::Struct(f)) => f,
                _ => Fields::empty(),
            };
            Arc::new(StructArray::new(
                fields,
                vec![Arc::new(Float64Array::from(lat)), Arc::new(Float64Array::from(lon))],
                Some(valid.into()),
            ))
        };
        let geoip = |rows: usize, seed: u64| -> ArrayRef {
            let columns = schema::geoip_fields()
                .iter()
                .map(|f| match f.name().as_str() {
                    "location" => location(rows, seed),
                    _ => new_null_array(f.data_type(), rows),
                })
                .collect();
            Arc::new(StructArray::new(schema::geoip_fields(), columns, None))
        };
        let batch = |seed: u64| {
            RecordBatch::try_from_iter([(schema::GEOIP, geoip(4000, seed))]).unwrap_or_else(|e| panic!("{e}"))
        };
        let parts = vec![vec![batch(1), batch(2)], vec![batch(3)]];
        let table =
            datafusion::datasource::MemTable::try_new(batch(0).schema(), parts).unwrap_or_else(|e| panic!("{e}"));
        let ctx = SessionContext::new();
        ctx.register_table(trailscope_query::TABLE, Arc::new(table))
            .unwrap_or_else(|e| panic!("{e}"));
        crate::udf::register(&ctx);
        ctx
    }

    #[tokio::test]
    async fn geotile_cells_agree_with_the_grouped_query() {
        let ctx = points_table();
        let c = Compiler::new(chrono::Utc::now());
        let limits = Limits::default();
        let centroid = json!({"geo_centroid": {"field": "geoip.location"}});
        let one_pass = json!({"g": {"geotile_grid": {"field": "geoip.location", "precision": 6, "size": 50},
            "aggs": {"c": centroid}}});
        // Another metric beside the centroid sends the grid through the grouped query.
        let grouped = json!({"g": {"geotile_grid": {"field": "geoip.location", "precision": 6, "size": 50},
            "aggs": {"c": centroid, "n": {"value_count": {"field": "geoip.location"}}}}});
        let a = run(&ctx, &c, lit(true), &one_pass, &limits)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let b = run(&ctx, &c, lit(true), &grouped, &limits)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (&a["g"]["buckets"], &b["g"]["buckets"]);
        assert_eq!(a.as_array().map(Vec::len), Some(50), "{a}");
        for (x, y) in a
            .as_array()
            .into_iter()
            .flatten()
            .zip(b.as_array().into_iter().flatten())
        {
            assert_eq!((&x["key"], &x["doc_count"]), (&y["key"], &y["doc_count"]));
            assert_eq!(x["c"]["count"], y["c"]["count"]);
            for axis in ["lat", "lon"] {
                let (p, q) = (x["c"]["location"][axis].as_f64(), y["c"]["location"][axis].as_f64());
                assert!(p.zip(q).is_some_and(|(p, q)| (p - q).abs() < 1e-9), "{x} {y}");
            }
        }
    }
}
