//! Field discovery (Kibana's "refresh field list"): every field with its type and how many
//! events have it, including the paths seen inside the JSON-text columns.
//!
//! Column counts are exact. JSON paths are counted over a bounded sample of events, because
//! finding them means parsing the text; the sample size is part of the answer.

use std::collections::BTreeMap;

use arrow::array::AsArray;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::prelude::{Expr, SessionContext, lit, when};
use serde::Serialize;

use crate::error::SearchError;
use crate::fields::{Catalog, FieldType};
use crate::search::filtered;

/// Most distinct paths kept per JSON column (some responses have a key per resource id).
const MAX_PATHS_PER_COLUMN: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    /// CloudTrail's spelling, as used in `_source` and accepted by queries.
    pub name: String,
    /// Elasticsearch mapping type.
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// Events with a value (for JSON paths: within the sample).
    pub count: u64,
    pub searchable: bool,
    pub aggregatable: bool,
    /// Inside a JSON-text column (counted over the sample).
    pub json_path: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub events: u64,
    /// Events whose JSON-text columns were read to find paths.
    pub sampled_events: u64,
    pub fields: Vec<FieldInfo>,
}

/// Lists the fields of the table behind `ctx`.
pub async fn discover(ctx: &SessionContext, sample: usize) -> Result<Discovery, SearchError> {
    let catalog = Catalog::get();
    let defs: Vec<_> = catalog
        .fields()
        .filter(|f| f.path != trailscope_cloudtrail::schema::RAW_EVENT)
        .collect();
    let mut aggregates = vec![count(lit(1)).alias("__events")];
    for (i, f) in defs.iter().enumerate() {
        let present: Expr = match f.ty {
            FieldType::KeywordList => count(
                when(
                    datafusion::functions_nested::expr_fn::cardinality(f.expr.clone()).gt(lit(0u64)),
                    lit(1),
                )
                .end()?,
            ),
            _ => count(f.expr.clone()),
        };
        aggregates.push(present.alias(format!("__f{i}")));
    }
    let batches = filtered(ctx, lit(true))
        .await?
        .aggregate(vec![], aggregates)?
        .collect()
        .await?;
    let value = |name: &str| -> u64 {
        batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| b.column_by_name(name))
            .and_then(|a| a.as_primitive_opt::<arrow::datatypes::Int64Type>().map(|a| a.value(0)))
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0)
    };
    let events = value("__events");
    let mut fields: Vec<FieldInfo> = defs
        .iter()
        .enumerate()
        .map(|(i, f)| FieldInfo {
            name: f.display.clone(),
            ty: f.ty.es_type(),
            count: value(&format!("__f{i}")),
            searchable: true,
            aggregatable: f.ty.aggregatable(),
            json_path: false,
        })
        .collect();
    fields.push(FieldInfo {
        name: trailscope_cloudtrail::schema::RAW_EVENT.into(),
        ty: "text",
        count: events,
        searchable: true,
        aggregatable: false,
        json_path: false,
    });

    // Paths inside the JSON-text columns, from a sample.
    let json_fields: Vec<_> = defs.iter().filter(|f| f.ty == FieldType::Json).collect();
    let select: Vec<Expr> = json_fields
        .iter()
        .enumerate()
        .map(|(i, f)| f.expr.clone().alias(format!("__j{i}")))
        .collect();
    let rows = filtered(ctx, lit(true))
        .await?
        .select(select)?
        .limit(0, Some(sample))?
        .collect()
        .await?;
    let mut sampled = 0u64;
    for (i, f) in json_fields.iter().enumerate() {
        let mut paths: BTreeMap<String, u64> = BTreeMap::new();
        for b in &rows {
            if i == 0 {
                sampled += b.num_rows() as u64;
            }
            let Some(col) = b.column_by_name(&format!("__j{i}")) else {
                continue;
            };
            let texts = trailscope_cloudtrail::template::to_text(col.as_ref())?;
            for text in texts.iter().flatten() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
                    continue;
                };
                let mut seen = Vec::new();
                collect_paths("", &v, &mut seen);
                seen.sort_unstable();
                seen.dedup();
                for p in seen {
                    if paths.len() < MAX_PATHS_PER_COLUMN || paths.contains_key(&p) {
                        *paths.entry(p).or_default() += 1;
                    }
                }
            }
        }
        fields.extend(paths.into_iter().map(|(p, n)| FieldInfo {
            name: format!("{}.{p}", f.display),
            ty: "keyword",
            count: n,
            searchable: true,
            aggregatable: true,
            json_path: true,
        }));
    }
    fields.sort_by_key(|a| a.name.to_lowercase());
    Ok(Discovery {
        events,
        sampled_events: sampled,
        fields,
    })
}

/// Leaf paths of a JSON value; arrays are transparent.
fn collect_paths(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_paths(&path, child, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_paths(prefix, i, out)),
        _ if !prefix.is_empty() => out.push(prefix.to_string()),
        _ => {}
    }
}
