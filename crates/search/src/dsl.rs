//! Elasticsearch query DSL → DataFusion predicates, through the same [`Compiler`] as the
//! query bar, so `{"match": {"eventSource": …}}` and `eventSource:…` mean the same thing.

use datafusion::prelude::{Expr, cast, lit};
use serde_json::Value as Json;

use crate::compile::{Compiler, RangeBound, conjunction, disjunction, negate, wildcard_parts};
use crate::error::SearchError;

/// Compiles one query object (`{"bool": {...}}`, `{"match_all": {}}`, …).
pub fn query(c: &Compiler, q: &Json) -> Result<Expr, SearchError> {
    let obj = q
        .as_object()
        .ok_or_else(|| bad_request(format!("a query must be an object, found {q}")))?;
    let mut parts = Vec::with_capacity(obj.len());
    for (kind, body) in obj {
        parts.push(clause(c, kind, body)?);
    }
    Ok(conjunction(parts))
}

fn clause(c: &Compiler, kind: &str, body: &Json) -> Result<Expr, SearchError> {
    match kind {
        "match_all" => Ok(lit(true)),
        "match_none" => Ok(lit(false)),
        "query_string" | "simple_query_string" => {
            let text = body
                .get("query")
                .and_then(Json::as_str)
                .ok_or_else(|| bad_request(format!("[{kind}] needs a \"query\" string")))?;
            c.kql(text)
        }
        "match" | "match_phrase" | "match_phrase_prefix" => {
            let (field, params) = single_field(kind, body)?;
            let f = c.field(field)?;
            let value = params.get("query").unwrap_or(params);
            let text = scalar_text(kind, value)?;
            match kind {
                "match_phrase" => c.term(&f, &text, true),
                "match_phrase_prefix" => c.wildcard(
                    &f,
                    &[
                        trailscope_kql::WildcardPart::Literal(text),
                        trailscope_kql::WildcardPart::Any,
                    ],
                    false,
                ),
                _ => {
                    let and = params
                        .get("operator")
                        .and_then(Json::as_str)
                        .is_some_and(|o| o.eq_ignore_ascii_case("and"));
                    if and || !f.ty.eq(&crate::fields::FieldType::Text) && !f.ty.eq(&crate::fields::FieldType::Json) {
                        c.term(&f, &text, false)
                    } else {
                        // Elasticsearch's match on text is OR over the words by default.
                        let words: Vec<Expr> = text
                            .split_whitespace()
                            .map(|w| c.term(&f, w, false))
                            .collect::<Result<_, _>>()?;
                        Ok(disjunction(words))
                    }
                }
            }
        }
        "multi_match" => {
            let text = scalar_text(kind, body.get("query").unwrap_or(&Json::Null))?;
            let fields: Vec<&str> = body
                .get("fields")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let phrase = body.get("type").and_then(Json::as_str) == Some("phrase");
            if fields.is_empty() || fields.iter().any(|f| f.contains('*')) {
                let value = if phrase {
                    trailscope_kql::Value::Phrase {
                        text,
                        span: Default::default(),
                    }
                } else {
                    trailscope_kql::Value::Term {
                        text,
                        span: Default::default(),
                    }
                };
                return Ok(c.free_text(&value));
            }
            let mut any = Vec::new();
            for name in fields {
                let name = name.split('^').next().unwrap_or(name);
                any.push(c.term(&c.field(name)?, &text, phrase)?);
            }
            Ok(disjunction(any))
        }
        "term" => {
            let (field, params) = single_field(kind, body)?;
            let f = c.field(field)?;
            let value = scalar_text(kind, params.get("value").unwrap_or(params))?;
            if params.get("case_insensitive").and_then(Json::as_bool) == Some(true) {
                return c.wildcard(&f, &[trailscope_kql::WildcardPart::Literal(value)], true);
            }
            c.term(&f, &value, true)
        }
        "terms" => {
            let (field, values) = body
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| *k != "boost"))
                .ok_or_else(|| bad_request("[terms] needs a field and a list of values".into()))?;
            let f = c.field(field)?;
            let values = values
                .as_array()
                .ok_or_else(|| bad_request(format!("[terms] values of '{field}' must be a list")))?;
            any_term(c, kind, &f, values)
        }
        "ids" => {
            let values = body.get("values").and_then(Json::as_array).cloned().unwrap_or_default();
            any_term(c, kind, &c.field("eventid")?, &values)
        }
        "range" => {
            let (field, params) = single_field(kind, body)?;
            let f = c.field(field)?;
            let bound = |keys: [&str; 2], inclusive_key: &str| -> Result<Option<RangeBound>, SearchError> {
                for k in keys {
                    if let Some(v) = params.get(k).filter(|v| !v.is_null()) {
                        return Ok(Some(RangeBound {
                            value: scalar_text(kind, v)?,
                            inclusive: k == inclusive_key,
                        }));
                    }
                }
                Ok(None)
            };
            let lower = bound(["gte", "gt"], "gte")?;
            let upper = bound(["lte", "lt"], "lte")?;
            // The old `from`/`to` form, inclusive by default.
            let lower = lower.or(params.get("from").filter(|v| !v.is_null()).map(|v| RangeBound {
                value: json_text(v),
                inclusive: params.get("include_lower").and_then(Json::as_bool).unwrap_or(true),
            }));
            let upper = upper.or(params.get("to").filter(|v| !v.is_null()).map(|v| RangeBound {
                value: json_text(v),
                inclusive: params.get("include_upper").and_then(Json::as_bool).unwrap_or(true),
            }));
            c.range(&f, lower, upper)
        }
        "exists" => {
            let field = body
                .get("field")
                .and_then(Json::as_str)
                .ok_or_else(|| bad_request("[exists] needs a \"field\"".into()))?;
            Ok(c.exists(&c.field(field)?))
        }
        "prefix" | "wildcard" => {
            let (field, params) = single_field(kind, body)?;
            let f = c.field(field)?;
            let value = params
                .get("value")
                .or_else(|| params.get("wildcard"))
                .or_else(|| params.get("prefix"))
                .unwrap_or(params);
            let text = scalar_text(kind, value)?;
            let ci = params.get("case_insensitive").and_then(Json::as_bool) == Some(true);
            let parts = if kind == "prefix" {
                vec![
                    trailscope_kql::WildcardPart::Literal(text),
                    trailscope_kql::WildcardPart::Any,
                ]
            } else {
                wildcard_parts(&text)
            };
            c.wildcard(&f, &parts, ci)
        }
        "bool" => bool_query(c, body),
        "constant_score" => query(c, body.get("filter").unwrap_or(&Json::Null)),
        other => Err(bad_request(format!(
            "unknown query [{other}]; supported: query_string, match, match_phrase, multi_match, term, terms, ids, range, \
             exists, prefix, wildcard, bool, constant_score, match_all, match_none"
        ))),
    }
}

fn bool_query(c: &Compiler, body: &Json) -> Result<Expr, SearchError> {
    let list = |key: &str| -> Result<Vec<Expr>, SearchError> {
        match body.get(key) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => items.iter().map(|q| query(c, q)).collect(),
            Some(one) => Ok(vec![query(c, one)?]),
        }
    };
    let mut required = list("must")?;
    required.extend(list("filter")?);
    let should = list("should")?;
    let must_not = list("must_not")?;
    let min_should = match body.get("minimum_should_match") {
        Some(Json::Number(n)) => n.as_u64().unwrap_or(1),
        Some(Json::String(s)) => s.trim_end_matches('%').parse().unwrap_or(1),
        // Elasticsearch: with must/filter present, should clauses only score; alone, one must match.
        _ => u64::from(required.is_empty()),
    };
    if !should.is_empty() && min_should > 0 {
        if min_should == 1 {
            required.push(disjunction(should));
        } else {
            let hits = should
                .into_iter()
                .map(|e| cast(e.is_true(), arrow::datatypes::DataType::Int64))
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| lit(0i64));
            required.push(hits.gt_eq(lit(i64::try_from(min_should).unwrap_or(i64::MAX))));
        }
    }
    for e in must_not {
        required.push(negate(e));
    }
    Ok(conjunction(required))
}

/// Matches any of `values` exactly (`terms`, `ids`).
fn any_term(c: &Compiler, kind: &str, f: &crate::fields::FieldDef, values: &[Json]) -> Result<Expr, SearchError> {
    let any = values
        .iter()
        .map(|v| scalar_text(kind, v).and_then(|t| c.term(f, &t, true)))
        .collect::<Result<_, _>>()?;
    Ok(disjunction(any))
}

/// `{"field": params}` → (field, params), skipping Elasticsearch's non-field keys.
fn single_field<'a>(kind: &str, body: &'a Json) -> Result<(&'a str, &'a Json), SearchError> {
    body.as_object()
        .and_then(|o| o.iter().find(|(k, _)| !matches!(k.as_str(), "boost" | "_name")))
        .map(|(k, v)| (k.as_str(), v))
        .ok_or_else(|| {
            bad_request(format!(
                "[{kind}] needs a field, as {{\"{kind}\": {{\"eventSource\": ...}}}}"
            ))
        })
}

fn scalar_text(kind: &str, v: &Json) -> Result<String, SearchError> {
    match v {
        Json::String(_) | Json::Number(_) | Json::Bool(_) => Ok(json_text(v)),
        other => Err(bad_request(format!(
            "[{kind}] expects a text, number or boolean value, found {other}"
        ))),
    }
}

fn json_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn bad_request(m: String) -> SearchError {
    SearchError::BadRequest(m)
}
