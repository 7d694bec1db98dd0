//! The page of hits of a search: sorted on row identities and sort keys first (newest-first
//! pages read in time windows), then only the page's rows are read back and rendered as
//! Elasticsearch hits (`_source` as CloudTrail wrote the event, plus `geoip` and `tags`).

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::prelude::{Expr, SessionContext, col, ident, lit};
use serde_json::{Map, Value as Json, json};
use trailscope_cloudtrail::schema;

use crate::compile::{Compiler, conjunction, disjunction};
use crate::error::SearchError;
use crate::fields::{FieldDef, FieldType};
use crate::highlight;
use crate::search::{INDEX, Request, SortKey, filter_source, filtered};
use crate::windows::{FIRST_WINDOW_US, Windows, bounds, read_newest};

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
        let windows = Windows::new(days, None, None, FIRST_WINDOW_US);
        let (filter, select, order, width) = (&filter, &select, &order, keys.len());
        let found = read_newest(windows, need, |w, want| async move {
            let part = filtered(ctx, bounds(w)?.and(filter.clone()))
                .await?
                .select(select.clone())?
                .sort(order.clone())?
                .limit(0, Some(want))?
                .collect()
                .await?;
            let (rows, sorts) = page_rows(&part, width)?;
            Ok::<_, SearchError>(rows.into_iter().zip(sorts).collect::<Vec<_>>())
        })
        .await?;
        found.into_iter().skip(req.from).unzip()
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
