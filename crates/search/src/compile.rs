//! Query-bar queries → DataFusion predicates.
//!
//! Field semantics follow what a Kibana user gets from a CloudTrail index: keyword fields match
//! exactly (case-sensitive, as Elasticsearch keywords do), text fields (`useragent`,
//! `errormessage`, the JSON-text columns) match contained words ignoring case, dates accept ISO
//! text and date math, IP fields accept CIDR blocks, and free text matches anywhere in the event.
//! Predicates are plain column comparisons where possible, so DataFusion can push them into the
//! Parquet scan; every `eventtime` bound also bounds the `eventdate` partition.

use chrono::{DateTime, Utc};
use datafusion::common::ScalarValue;
use datafusion::functions_nested::expr_fn::{array_has, array_to_string, cardinality};
use datafusion::logical_expr::expr::Like;
use datafusion::prelude::{Expr, ident, lit, regexp_like};
use trailscope_cloudtrail::schema;
use trailscope_kql::{Query, Value, WildcardPart};

use crate::dates;
use crate::error::SearchError;
use crate::fields::{Catalog, FieldDef, FieldType};
use crate::udf;

/// One end of a range as text, with whether it is included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeBound {
    pub value: String,
    pub inclusive: bool,
}

/// Compiles queries against the catalog, with `now` fixed for date math.
#[derive(Debug, Clone)]
pub struct Compiler {
    pub now: DateTime<Utc>,
    catalog: &'static Catalog,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler::new(Utc::now())
    }
}

impl Compiler {
    pub fn new(now: DateTime<Utc>) -> Self {
        Compiler {
            now,
            catalog: Catalog::get(),
        }
    }

    /// Parses and compiles query-bar text.
    pub fn kql(&self, text: &str) -> Result<Expr, SearchError> {
        let ast = trailscope_kql::parse(text).map_err(|error| SearchError::Syntax {
            query: text.to_string(),
            error,
        })?;
        self.query(&ast)
    }

    pub fn field(&self, name: &str) -> Result<FieldDef, SearchError> {
        Ok(self.catalog.resolve(name)?)
    }

    pub fn query(&self, q: &Query) -> Result<Expr, SearchError> {
        Ok(match q {
            Query::MatchAll => lit(true),
            Query::And(items) => conjunction(items.iter().map(|i| self.query(i)).collect::<Result<_, _>>()?),
            Query::Or(items) => disjunction(items.iter().map(|i| self.query(i)).collect::<Result<_, _>>()?),
            Query::Not(inner) => negate(self.query(inner)?),
            Query::Match { field, value } => {
                let f = self.field(&field.name)?;
                match value {
                    Value::Term { text, .. } => self.term(&f, text, false)?,
                    Value::Phrase { text, .. } => self.term(&f, text, true)?,
                    Value::Wildcard { parts, .. } => self.wildcard(&f, parts, false)?,
                }
            }
            Query::Range { field, lower, upper } => {
                let f = self.field(&field.name)?;
                let b = |b: &trailscope_kql::Bound| RangeBound {
                    value: b.value.clone(),
                    inclusive: b.inclusive,
                };
                self.range(&f, lower.as_ref().map(b), upper.as_ref().map(b))?
            }
            Query::Exists { field } => self.exists(&self.field(&field.name)?),
            Query::FreeText { value } => self.free_text(value),
        })
    }

    /// `field:value` (a term or, with `phrase`, a quoted phrase).
    pub fn term(&self, f: &FieldDef, value: &str, phrase: bool) -> Result<Expr, SearchError> {
        let e = f.expr.clone();
        Ok(match f.ty {
            FieldType::Keyword => e.eq(lit(value.to_string())),
            FieldType::Text | FieldType::Json => {
                if phrase {
                    contains(e, value)
                } else {
                    conjunction(value.split_whitespace().map(|w| contains(e.clone(), w)).collect())
                }
            }
            FieldType::Ip if value.contains('/') => {
                if udf::Cidr::parse(value).is_none() {
                    return Err(bad(f, format!("'{value}' is not an IP address or CIDR block")));
                }
                udf::cidr_match(e, value)
            }
            FieldType::Ip => e.eq(lit(value.to_string())),
            FieldType::Boolean => match value.to_ascii_lowercase().as_str() {
                v @ ("true" | "false") => e.eq(lit(v.to_string())),
                _ => return Err(bad(f, format!("expected true or false, found '{value}'"))),
            },
            FieldType::Long => e.eq(lit(self.long(f, value)?)),
            FieldType::Double => e.eq(lit(self.double(f, value)?)),
            FieldType::Date | FieldType::Day => {
                let at = self.date(f, value)?;
                let b = |t: DateTime<Utc>, inclusive| (t, inclusive);
                self.time_range(f, Some(b(at.start, true)), Some(b(at.end, false)))
            }
            FieldType::KeywordList => array_has(e, lit(value.to_string())),
            FieldType::GeoPoint => {
                return Err(bad(
                    f,
                    "a geo point cannot be matched by value; use a geo aggregation or the latitude/longitude fields"
                        .into(),
                ));
            }
        })
    }

    /// `field:pat*tern`; Elasticsearch's `wildcard` query with `case_insensitive`.
    pub fn wildcard(&self, f: &FieldDef, parts: &[WildcardPart], case_insensitive: bool) -> Result<Expr, SearchError> {
        let e = f.expr.clone();
        Ok(match f.ty {
            FieldType::Keyword | FieldType::Ip | FieldType::Boolean => like(e, &like_pattern(parts), case_insensitive),
            FieldType::Text | FieldType::Json => like(e, &format!("%{}%", like_pattern(parts)), true),
            FieldType::KeywordList => {
                let flags = if case_insensitive { "im" } else { "m" };
                regexp_like(
                    array_to_string(e, lit("\n")),
                    lit(format!("^{}$", regex_pattern(parts))),
                    Some(lit(flags)),
                )
            }
            FieldType::Long | FieldType::Double | FieldType::Date | FieldType::Day | FieldType::GeoPoint => {
                return Err(bad(
                    f,
                    format!("wildcards apply to text, not to {} values", f.ty.es_type()),
                ));
            }
        })
    }

    /// `field:*`: the event has a value for the field.
    pub fn exists(&self, f: &FieldDef) -> Expr {
        match f.ty {
            FieldType::KeywordList => cardinality(f.expr.clone()).gt(lit(0u64)),
            _ => f.expr.clone().is_not_null(),
        }
    }

    /// A range; bounds are text as written and are typed by the field.
    pub fn range(
        &self,
        f: &FieldDef,
        lower: Option<RangeBound>,
        upper: Option<RangeBound>,
    ) -> Result<Expr, SearchError> {
        let e = f.expr.clone();
        let cmp = |v: Expr, b: &RangeBound, is_lower: bool| match (is_lower, b.inclusive) {
            (true, true) => e.clone().gt_eq(v),
            (true, false) => e.clone().gt(v),
            (false, true) => e.clone().lt_eq(v),
            (false, false) => e.clone().lt(v),
        };
        let mut parts = Vec::new();
        match f.ty {
            FieldType::Date | FieldType::Day => {
                // A bound written at day precision covers the whole day: `<= 2024-01-01`
                // includes its last second, `> 2024-01-01` starts the next day.
                let lo = lower
                    .map(|b| {
                        self.date(f, &b.value)
                            .map(|at| (if b.inclusive { at.start } else { at.end }, true))
                    })
                    .transpose()?;
                let hi = upper
                    .map(|b| {
                        self.date(f, &b.value)
                            .map(|at| (if b.inclusive { at.end } else { at.start }, false))
                    })
                    .transpose()?;
                return Ok(self.time_range(f, lo, hi));
            }
            FieldType::Long => {
                for (b, is_lower) in lower.iter().map(|b| (b, true)).chain(upper.iter().map(|b| (b, false))) {
                    parts.push(cmp(lit(self.long(f, &b.value)?), b, is_lower));
                }
            }
            FieldType::Double => {
                for (b, is_lower) in lower.iter().map(|b| (b, true)).chain(upper.iter().map(|b| (b, false))) {
                    parts.push(cmp(lit(self.double(f, &b.value)?), b, is_lower));
                }
            }
            FieldType::Keyword | FieldType::Ip | FieldType::Boolean | FieldType::Text | FieldType::Json => {
                // Paths inside JSON text hold numbers as text: compare numerically when both
                // the written bounds are numbers, as a JSON number field would.
                let numeric = [&lower, &upper]
                    .iter()
                    .all(|b| b.as_ref().is_none_or(|b| b.value.parse::<f64>().is_ok()))
                    && f.inside_json;
                for (b, is_lower) in lower.iter().map(|b| (b, true)).chain(upper.iter().map(|b| (b, false))) {
                    if numeric {
                        let v: f64 = b.value.parse().unwrap_or_default();
                        let n = datafusion::prelude::try_cast(e.clone(), arrow::datatypes::DataType::Float64);
                        parts.push(match (is_lower, b.inclusive) {
                            (true, true) => n.gt_eq(lit(v)),
                            (true, false) => n.gt(lit(v)),
                            (false, true) => n.lt_eq(lit(v)),
                            (false, false) => n.lt(lit(v)),
                        });
                    } else {
                        parts.push(cmp(lit(b.value.clone()), b, is_lower));
                    }
                }
            }
            FieldType::KeywordList | FieldType::GeoPoint => {
                return Err(bad(f, format!("ranges do not apply to {} fields", f.ty.es_type())));
            }
        }
        Ok(if parts.is_empty() {
            self.exists(f)
        } else {
            conjunction(parts)
        })
    }

    /// `[lo, hi)` on a time field (each bound's flag says whether it is inclusive); on
    /// `eventtime` also a bound on the `eventdate` partition so whole days are skipped.
    pub fn time_range(
        &self,
        f: &FieldDef,
        lo: Option<(DateTime<Utc>, bool)>,
        hi: Option<(DateTime<Utc>, bool)>,
    ) -> Expr {
        let mut parts = Vec::new();
        let day = |t: DateTime<Utc>| {
            lit(ScalarValue::Date32(Some(trailscope_cloudtrail::epoch_days(
                t.timestamp_micros(),
            ))))
        };
        let value = |t: DateTime<Utc>| match f.ty {
            FieldType::Day => day(t),
            _ => dates::timestamp(t.timestamp_micros()),
        };
        // A bound at midnight UTC on `eventtime` is exactly a bound on the `eventdate` partition:
        // whole days are then selected by partition alone, with no per-row time comparison.
        let midnight = |t: DateTime<Utc>| t.timestamp_micros().rem_euclid(86_400_000_000) == 0;
        let on_event_time = f.path == schema::EVENT_TIME;
        if let Some((t, inclusive)) = lo {
            if on_event_time && inclusive && midnight(t) {
                parts.push(ident(schema::EVENT_DATE).gt_eq(day(t)));
            } else {
                parts.push(if inclusive {
                    f.expr.clone().gt_eq(value(t))
                } else {
                    f.expr.clone().gt(value(t))
                });
                if on_event_time {
                    parts.push(ident(schema::EVENT_DATE).gt_eq(day(t)));
                }
            }
        }
        if let Some((t, inclusive)) = hi {
            if on_event_time && !inclusive && midnight(t) {
                parts.push(ident(schema::EVENT_DATE).lt(day(t)));
            } else if f.ty == FieldType::Day && !inclusive {
                // An exclusive instant bound on a day column: the day holding the instant just
                // before it is the last one.
                parts.push(f.expr.clone().lt_eq(day(t - chrono::Duration::microseconds(1))));
            } else {
                parts.push(if inclusive {
                    f.expr.clone().lt_eq(value(t))
                } else {
                    f.expr.clone().lt(value(t))
                });
                if on_event_time {
                    parts.push(ident(schema::EVENT_DATE).lt_eq(day(t)));
                }
            }
        }
        if parts.is_empty() {
            f.expr.clone().is_not_null()
        } else {
            conjunction(parts)
        }
    }

    /// A value without a field: every word must appear somewhere in the event (any text
    /// column, or the rest of the original record), ignoring case.
    pub fn free_text(&self, value: &Value) -> Expr {
        match value {
            Value::Term { text, .. } => conjunction(text.split_whitespace().map(contains_anywhere).collect()),
            Value::Phrase { text, .. } => contains_anywhere(text),
            // A wildcard needs LIKE; its longest literal piece, when it has one, narrows the
            // rows first with the fast search.
            Value::Wildcard { parts, .. } => {
                let like = anywhere(&format!("%{}%", like_pattern(parts)));
                let longest = parts
                    .iter()
                    .filter_map(|p| match p {
                        WildcardPart::Literal(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .max_by_key(|s| s.len());
                match longest {
                    Some(piece) if !piece.is_empty() => contains_anywhere(piece).and(like),
                    _ => like,
                }
            }
        }
    }

    fn long(&self, f: &FieldDef, value: &str) -> Result<i64, SearchError> {
        value
            .trim()
            .parse()
            .map_err(|_| bad(f, format!("expected a whole number, found '{value}'")))
    }

    fn double(&self, f: &FieldDef, value: &str) -> Result<f64, SearchError> {
        value
            .trim()
            .parse()
            .map_err(|_| bad(f, format!("expected a number, found '{value}'")))
    }

    fn date(&self, f: &FieldDef, value: &str) -> Result<dates::Instant, SearchError> {
        dates::parse(value, self.now).ok_or_else(|| {
            bad(
                f,
                format!("'{value}' is not a date (use 2024-01-31, 2024-01-31T12:00:00Z, epoch milliseconds or now-1d)"),
            )
        })
    }
}

fn bad(f: &FieldDef, message: String) -> SearchError {
    SearchError::BadValue {
        field: f.display.clone(),
        message,
    }
}

/// `a AND b AND …` (true when empty).
pub fn conjunction(items: Vec<Expr>) -> Expr {
    items.into_iter().reduce(Expr::and).unwrap_or_else(|| lit(true))
}

/// `a OR b OR …` (false when empty).
pub fn disjunction(items: Vec<Expr>) -> Expr {
    items.into_iter().reduce(Expr::or).unwrap_or_else(|| lit(false))
}

/// NOT that treats a missing value as not matching, as a search engine does: `not errorcode:X`
/// includes events without an error code (SQL's three-valued NOT would drop them).
pub fn negate(e: Expr) -> Expr {
    Expr::Not(Box::new(e.is_true()))
}

fn like(e: Expr, pattern: &str, case_insensitive: bool) -> Expr {
    Expr::Like(Like::new(
        false,
        Box::new(e),
        Box::new(lit(pattern.to_string())),
        Some('\\'),
        case_insensitive,
    ))
}

fn contains(e: Expr, text: &str) -> Expr {
    like(e, &format!("%{}%", escape_like(text)), true)
}

/// The columns free text looks in: every text leaf and the list fields. Not the template: it
/// holds the record's key names, and `username` would match every event through them.
fn text_columns() -> Vec<Expr> {
    Catalog::get()
        .fields()
        .filter(|f| {
            f.path != schema::RAW_EVENT
                && matches!(
                    f.ty,
                    FieldType::Keyword
                        | FieldType::Text
                        | FieldType::Json
                        | FieldType::Ip
                        | FieldType::Boolean
                        | FieldType::KeywordList
                )
        })
        .map(|f| f.expr.clone())
        .collect()
}

/// `text` somewhere in the event's text values, ignoring ASCII case.
fn contains_anywhere(text: &str) -> Expr {
    udf::text_contains(text, text_columns())
}

/// A LIKE pattern over the same columns as [`contains_anywhere`].
fn anywhere(pattern: &str) -> Expr {
    let mut columns = Vec::new();
    for f in Catalog::get().fields() {
        match f.ty {
            FieldType::Keyword | FieldType::Text | FieldType::Json | FieldType::Ip | FieldType::Boolean
                if f.path != schema::RAW_EVENT =>
            {
                columns.push(like(f.expr.clone(), pattern, true));
            }
            FieldType::KeywordList => columns.push(like(array_to_string(f.expr.clone(), lit(" ")), pattern, true)),
            _ => {}
        }
    }
    disjunction(columns)
}

pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn like_pattern(parts: &[WildcardPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            WildcardPart::Literal(s) => escape_like(s),
            WildcardPart::Any => "%".into(),
            WildcardPart::One => "_".into(),
        })
        .collect()
}

fn regex_pattern(parts: &[WildcardPart]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            WildcardPart::Literal(s) => {
                for c in s.chars() {
                    if c.is_ascii_punctuation() {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            WildcardPart::Any => out.push_str(".*"),
            WildcardPart::One => out.push('.'),
        }
    }
    out
}

/// Splits an Elasticsearch wildcard pattern (`*`, `?`, `\` escapes) into parts.
pub fn wildcard_parts(pattern: &str) -> Vec<WildcardPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => literal.extend(chars.next()),
            '*' | '?' => {
                if !literal.is_empty() {
                    parts.push(WildcardPart::Literal(std::mem::take(&mut literal)));
                }
                parts.push(if c == '*' { WildcardPart::Any } else { WildcardPart::One });
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(WildcardPart::Literal(literal));
    }
    parts
}
