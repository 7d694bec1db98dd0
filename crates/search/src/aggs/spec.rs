//! What an `aggs` object asks for: parsed and checked against the field catalog before any
//! query runs, so a bad request fails whole with the aggregation's name in the message.

use datafusion::prelude::Expr;
use serde_json::Value as Json;

use super::calendar::{Interval, Zone, calendar_unit, fixed_interval, parse_zone};
use crate::compile::{Compiler, RangeBound};
use crate::dsl;
use crate::error::SearchError;
use crate::fields::{FieldDef, FieldType};

#[derive(Debug, Clone)]
pub(super) struct Agg {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) subs: Vec<Agg>,
    pub(super) meta: Option<Json>,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    Terms {
        field: FieldDef,
        size: usize,
        order: TermsOrder,
        missing: Option<String>,
        min_doc_count: u64,
    },
    DateHistogram {
        field: FieldDef,
        interval: Interval,
        zone: Zone,
        min_doc_count: u64,
        bounds: Option<(i64, i64)>,
    },
    Histogram {
        field: FieldDef,
        interval: f64,
        min_doc_count: u64,
        bounds: Option<(f64, f64)>,
    },
    /// `range`, `date_range`, `filter`, `filters`: buckets defined by conditions.
    Conditions {
        buckets: Vec<CondBucket>,
        shape: CondShape,
    },
    GeoGrid {
        field: FieldDef,
        tile: bool,
        precision: u8,
        size: usize,
    },
    Metric(Metric),
    TopHits {
        size: usize,
        sort: Json,
        source: Json,
    },
}

#[derive(Debug, Clone)]
pub(super) struct CondBucket {
    pub(super) key: String,
    pub(super) condition: Expr,
    /// `from`/`to` of a range bucket, as given.
    pub(super) from: Option<Json>,
    pub(super) to: Option<Json>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CondShape {
    /// `filter`: one bucket whose fields sit directly in the aggregation.
    Single,
    /// `filters` with named filters: an object of buckets.
    Keyed,
    /// `filters` with a list, or `range`: a list of buckets.
    List,
}

#[derive(Debug, Clone)]
pub(super) enum TermsOrder {
    Count(bool),
    Key(bool),
    /// By a single-value metric sub-aggregation (`{"avg_x": "desc"}`).
    Metric(String, bool),
}

#[derive(Debug, Clone)]
pub(super) struct Metric {
    pub(super) kind: MetricKind,
    pub(super) field: FieldDef,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum MetricKind {
    Cardinality,
    ValueCount,
    Min,
    Max,
    Avg,
    Sum,
    Stats,
    Percentiles(Vec<f64>),
    GeoCentroid,
}

pub(super) fn bad(m: String) -> SearchError {
    SearchError::BadRequest(m)
}

pub(super) fn parse_level(spec: &Json, c: &Compiler) -> Result<Vec<Agg>, SearchError> {
    let obj = spec.as_object().ok_or_else(|| {
        bad(format!(
            "aggregations must be an object of named aggregations, found {spec}"
        ))
    })?;
    obj.iter().map(|(name, body)| parse_agg(name, body, c)).collect()
}

pub(super) fn parse_agg(name: &str, body: &Json, c: &Compiler) -> Result<Agg, SearchError> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad(format!("aggregation [{name}] must be an object")))?;
    let mut kind = None;
    let mut subs = Vec::new();
    let mut meta = None;
    for (k, v) in obj {
        match k.as_str() {
            "aggs" | "aggregations" => subs = parse_level(v, c)?,
            "meta" => meta = Some(v.clone()),
            _ if kind.is_none() => kind = Some(parse_kind(name, k, v, c)?),
            _ => return Err(bad(format!("aggregation [{name}] has two types: found [{k}] as well"))),
        }
    }
    let kind = kind.ok_or_else(|| bad(format!("aggregation [{name}] has no type")))?;
    if matches!(kind, Kind::Metric(_) | Kind::TopHits { .. }) && !subs.is_empty() {
        return Err(bad(format!("metric aggregation [{name}] cannot have sub-aggregations")));
    }
    Ok(Agg {
        name: name.to_string(),
        kind,
        subs,
        meta,
    })
}

pub(super) fn field_of(name: &str, v: &Json, c: &Compiler) -> Result<FieldDef, SearchError> {
    let f = v
        .get("field")
        .and_then(Json::as_str)
        .ok_or_else(|| bad(format!("aggregation [{name}] needs a \"field\"")))?;
    c.field(f)
}

pub(super) fn u64_of(v: &Json, key: &str) -> Option<u64> {
    v.get(key)
        .and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
}

pub(super) fn parse_kind(name: &str, kind: &str, v: &Json, c: &Compiler) -> Result<Kind, SearchError> {
    let metric = |k: MetricKind| -> Result<Kind, SearchError> {
        Ok(Kind::Metric(Metric {
            kind: k,
            field: field_of(name, v, c)?,
        }))
    };
    Ok(match kind {
        "terms" => {
            let field = field_of(name, v, c)?;
            if matches!(field.ty, FieldType::GeoPoint | FieldType::Text | FieldType::Json) {
                return Err(bad(format!(
                    "terms aggregation [{name}]: field '{}' is {} and cannot be aggregated by value",
                    field.display,
                    field.ty.es_type()
                )));
            }
            let order = match v.get("order") {
                None => TermsOrder::Count(true),
                Some(o) => {
                    let o = o.as_array().and_then(|a| a.first()).unwrap_or(o);
                    let (k, dir) = o
                        .as_object()
                        .and_then(|m| m.iter().next())
                        .ok_or_else(|| bad(format!("terms aggregation [{name}]: cannot read order {o}")))?;
                    let desc = dir.as_str() == Some("desc");
                    match k.as_str() {
                        "_count" => TermsOrder::Count(desc),
                        "_key" | "_term" => TermsOrder::Key(desc),
                        other => TermsOrder::Metric(other.to_string(), desc),
                    }
                }
            };
            Kind::Terms {
                field,
                size: usize::try_from(u64_of(v, "size").unwrap_or(10)).unwrap_or(usize::MAX),
                order,
                missing: v
                    .get("missing")
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string)),
                min_doc_count: u64_of(v, "min_doc_count").unwrap_or(1).max(1),
            }
        }
        "date_histogram" => {
            let field = field_of(name, v, c)?;
            if !matches!(field.ty, FieldType::Date | FieldType::Day) {
                return Err(bad(format!(
                    "date_histogram [{name}]: '{}' is not a date field",
                    field.display
                )));
            }
            let interval = if let Some(f) = v.get("fixed_interval").and_then(Json::as_str) {
                Interval::Fixed(
                    fixed_interval(f)
                        .ok_or_else(|| bad(format!("date_histogram [{name}]: cannot read fixed_interval '{f}'")))?,
                )
            } else if let Some(f) = v.get("calendar_interval").and_then(Json::as_str) {
                Interval::Calendar(calendar_unit(f).ok_or_else(|| {
                    bad(format!(
                        "date_histogram [{name}]: '{f}' is not a calendar interval (1m, 1h, 1d, 1w, 1M, 1q, 1y)"
                    ))
                })?)
            } else if let Some(f) = v.get("interval").and_then(Json::as_str) {
                calendar_unit(f)
                    .map(Interval::Calendar)
                    .or_else(|| fixed_interval(f).map(Interval::Fixed))
                    .ok_or_else(|| bad(format!("date_histogram [{name}]: cannot read interval '{f}'")))?
            } else {
                return Err(bad(format!(
                    "date_histogram [{name}] needs fixed_interval or calendar_interval"
                )));
            };
            let zone = match v.get("time_zone").and_then(Json::as_str) {
                None => Zone::Utc,
                Some(z) => {
                    parse_zone(z).ok_or_else(|| bad(format!("date_histogram [{name}]: unknown time_zone '{z}'")))?
                }
            };
            let bounds = match v.get("extended_bounds").or_else(|| v.get("hard_bounds")) {
                Some(b) => {
                    let t = |k: &str| {
                        b.get(k).and_then(|x| {
                            x.as_i64().or_else(|| {
                                x.as_str()
                                    .and_then(|s| crate::dates::parse(s, c.now))
                                    .map(|i| i.start.timestamp_millis())
                            })
                        })
                    };
                    Some((
                        t("min").ok_or_else(|| {
                            bad(format!("date_histogram [{name}]: extended_bounds.min is not a date"))
                        })?,
                        t("max").ok_or_else(|| {
                            bad(format!("date_histogram [{name}]: extended_bounds.max is not a date"))
                        })?,
                    ))
                }
                None => None,
            };
            Kind::DateHistogram {
                field,
                interval,
                zone,
                min_doc_count: u64_of(v, "min_doc_count").unwrap_or(0),
                bounds,
            }
        }
        "histogram" => {
            let field = field_of(name, v, c)?;
            if !matches!(field.ty, FieldType::Long | FieldType::Double) {
                return Err(bad(format!("histogram [{name}]: '{}' is not numeric", field.display)));
            }
            let interval = v
                .get("interval")
                .and_then(Json::as_f64)
                .filter(|i| *i > 0.0)
                .ok_or_else(|| bad(format!("histogram [{name}] needs a positive interval")))?;
            let bounds = v
                .get("extended_bounds")
                .and_then(|b| Some((b.get("min")?.as_f64()?, b.get("max")?.as_f64()?)));
            Kind::Histogram {
                field,
                interval,
                min_doc_count: u64_of(v, "min_doc_count").unwrap_or(0),
                bounds,
            }
        }
        "range" | "date_range" => {
            let field = field_of(name, v, c)?;
            let ranges = v
                .get("ranges")
                .and_then(Json::as_array)
                .ok_or_else(|| bad(format!("{kind} [{name}] needs \"ranges\"")))?;
            let mut buckets = Vec::new();
            for r in ranges {
                let text = |k: &str| {
                    r.get(k)
                        .filter(|x| !x.is_null())
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                };
                let (from, to) = (text("from"), text("to"));
                let condition = c.range(
                    &field,
                    from.clone().map(|value| RangeBound { value, inclusive: true }),
                    to.clone().map(|value| RangeBound {
                        value,
                        inclusive: false,
                    }),
                )?;
                let key = r.get("key").and_then(Json::as_str).map_or_else(
                    || {
                        format!(
                            "{}-{}",
                            from.clone().unwrap_or_else(|| "*".into()),
                            to.clone().unwrap_or_else(|| "*".into())
                        )
                    },
                    str::to_string,
                );
                buckets.push(CondBucket {
                    key,
                    condition,
                    from: r.get("from").cloned(),
                    to: r.get("to").cloned(),
                });
            }
            Kind::Conditions {
                buckets,
                shape: if v.get("keyed").and_then(Json::as_bool) == Some(true) {
                    CondShape::Keyed
                } else {
                    CondShape::List
                },
            }
        }
        "filter" => Kind::Conditions {
            buckets: vec![CondBucket {
                key: String::new(),
                condition: dsl::query(c, v)?,
                from: None,
                to: None,
            }],
            shape: CondShape::Single,
        },
        "filters" => {
            let filters = v
                .get("filters")
                .ok_or_else(|| bad(format!("filters [{name}] needs \"filters\"")))?;
            match filters {
                Json::Object(named) => Kind::Conditions {
                    buckets: named
                        .iter()
                        .map(|(k, q)| {
                            Ok(CondBucket {
                                key: k.clone(),
                                condition: dsl::query(c, q)?,
                                from: None,
                                to: None,
                            })
                        })
                        .collect::<Result<_, SearchError>>()?,
                    shape: CondShape::Keyed,
                },
                Json::Array(list) => Kind::Conditions {
                    buckets: list
                        .iter()
                        .enumerate()
                        .map(|(i, q)| {
                            Ok(CondBucket {
                                key: i.to_string(),
                                condition: dsl::query(c, q)?,
                                from: None,
                                to: None,
                            })
                        })
                        .collect::<Result<_, SearchError>>()?,
                    shape: CondShape::List,
                },
                other => return Err(bad(format!("filters [{name}]: cannot read {other}"))),
            }
        }
        "geohash_grid" | "geotile_grid" => {
            let field = field_of(name, v, c)?;
            if field.ty != FieldType::GeoPoint {
                return Err(bad(format!(
                    "{kind} [{name}]: '{}' is not a geo_point field (try geoip.location)",
                    field.display
                )));
            }
            let tile = kind == "geotile_grid";
            let default = if tile { 7 } else { 5 };
            let precision = u64_of(v, "precision").unwrap_or(default);
            let max = if tile { 29 } else { 12 };
            if precision > max {
                return Err(bad(format!("{kind} [{name}]: precision must be at most {max}")));
            }
            Kind::GeoGrid {
                field,
                tile,
                precision: u8::try_from(precision).unwrap_or(0),
                size: usize::try_from(u64_of(v, "size").unwrap_or(10_000)).unwrap_or(usize::MAX),
            }
        }
        "cardinality" => metric(MetricKind::Cardinality)?,
        "value_count" => metric(MetricKind::ValueCount)?,
        "min" => metric(MetricKind::Min)?,
        "max" => metric(MetricKind::Max)?,
        "avg" => metric(MetricKind::Avg)?,
        "sum" => metric(MetricKind::Sum)?,
        "stats" => metric(MetricKind::Stats)?,
        "geo_centroid" => metric(MetricKind::GeoCentroid)?,
        "percentiles" => {
            let percents = match v.get("percents") {
                Some(Json::Array(p)) => p.iter().filter_map(Json::as_f64).collect(),
                _ => vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0],
            };
            if percents.iter().any(|p| !(0.0..=100.0).contains(p)) {
                return Err(bad(format!("percentiles [{name}]: percents must be within 0 and 100")));
            }
            metric(MetricKind::Percentiles(percents))?
        }
        "top_hits" => Kind::TopHits {
            size: usize::try_from(u64_of(v, "size").unwrap_or(3)).unwrap_or(3),
            sort: v.get("sort").cloned().unwrap_or(Json::Null),
            source: v.get("_source").cloned().unwrap_or(Json::Null),
        },
        other => {
            return Err(bad(format!(
                "unknown aggregation type [{other}] in [{name}]; supported: terms, date_histogram, histogram, range, \
                 date_range, filter, filters, geohash_grid, geotile_grid, cardinality, value_count, min, max, avg, sum, \
                 stats, percentiles, geo_centroid, top_hits"
            )));
        }
    })
}
