//! `highlight`: marks where a hit's fields contain the query's words, with the request's
//! `pre_tags`/`post_tags` (Kibana sends `@kibana-highlighted-field@`). Whole field values are
//! returned, as Kibana asks for with its huge `fragment_size`.

use serde_json::{Map, Value as Json};
use trailscope_kql::{Query, Value, WildcardPart};

use crate::compile::Compiler;
use crate::search::glob;

/// A word to mark, in one field (by catalog path) or, for free text, in any field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: Option<String>,
    pub text: String,
}

/// The words of a query that hits should show marked.
pub fn terms(query: &Json, c: &Compiler) -> Vec<Term> {
    let mut out = Vec::new();
    collect_dsl(query, c, &mut out);
    out.retain(|t| !t.text.is_empty());
    out
}

fn collect_dsl(q: &Json, c: &Compiler, out: &mut Vec<Term>) {
    let Some(obj) = q.as_object() else { return };
    for (kind, body) in obj {
        match kind.as_str() {
            "query_string" | "simple_query_string" => {
                if let Some(ast) = body
                    .get("query")
                    .and_then(Json::as_str)
                    .and_then(|t| trailscope_kql::parse(t).ok())
                {
                    collect_kql(&ast, c, out);
                }
            }
            "bool" => {
                for key in ["must", "filter", "should"] {
                    match body.get(key) {
                        Some(Json::Array(items)) => items.iter().for_each(|i| collect_dsl(i, c, out)),
                        Some(one) => collect_dsl(one, c, out),
                        None => {}
                    }
                }
            }
            "multi_match" => {
                if let Some(text) = body.get("query").and_then(Json::as_str) {
                    out.extend(text.split_whitespace().map(|w| Term {
                        field: None,
                        text: w.to_string(),
                    }));
                }
            }
            "match" | "match_phrase" | "term" | "prefix" | "wildcard" => {
                if let Some((field, params)) = body.as_object().and_then(|o| o.iter().next()) {
                    let value = params
                        .get("query")
                        .or_else(|| params.get("value"))
                        .or_else(|| params.get("wildcard"))
                        .unwrap_or(params);
                    if let (Ok(f), Some(text)) = (c.field(field), value.as_str()) {
                        out.push(Term {
                            field: Some(f.path),
                            text: text.replace(['*', '?'], ""),
                        });
                    }
                }
            }
            "terms" => {
                if let Some((field, Json::Array(values))) = body.as_object().and_then(|o| o.iter().next())
                    && let Ok(f) = c.field(field)
                {
                    out.extend(values.iter().filter_map(Json::as_str).map(|v| Term {
                        field: Some(f.path.clone()),
                        text: v.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }
}

fn collect_kql(q: &Query, c: &Compiler, out: &mut Vec<Term>) {
    let text_of = |v: &Value| match v {
        Value::Term { text, .. } | Value::Phrase { text, .. } => text.clone(),
        // The longest literal piece of a wildcard is what shows in the value.
        Value::Wildcard { parts, .. } => parts
            .iter()
            .filter_map(|p| match p {
                WildcardPart::Literal(s) => Some(s.as_str()),
                _ => None,
            })
            .max_by_key(|s| s.len())
            .unwrap_or_default()
            .to_string(),
    };
    match q {
        Query::And(items) | Query::Or(items) => items.iter().for_each(|i| collect_kql(i, c, out)),
        Query::Match { field, value } => {
            if let Ok(f) = c.field(&field.name) {
                out.push(Term {
                    field: Some(f.path),
                    text: text_of(value),
                });
            }
        }
        Query::FreeText { value } => {
            let text = text_of(value);
            if matches!(value, Value::Term { .. }) {
                out.extend(text.split_whitespace().map(|w| Term {
                    field: None,
                    text: w.to_string(),
                }));
            } else {
                out.push(Term { field: None, text });
            }
        }
        Query::MatchAll | Query::Not(_) | Query::Range { .. } | Query::Exists { .. } => {}
    }
}

/// The `highlight` object of one hit.
pub fn highlight(source: &Map<String, Json>, terms: &[Term], spec: &Json) -> Map<String, Json> {
    let mut out = Map::new();
    if terms.is_empty() {
        return out;
    }
    let tag = |key: &str, default: &str| {
        spec.get(key)
            .and_then(Json::as_array)
            .and_then(|a| a.first())
            .and_then(Json::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let (pre, post) = (tag("pre_tags", "<em>"), tag("post_tags", "</em>"));
    let wanted: Vec<String> = spec
        .get("fields")
        .map(|f| match f {
            Json::Object(o) => o.keys().cloned().collect(),
            Json::Array(a) => a
                .iter()
                .filter_map(|x| {
                    x.as_object()
                        .and_then(|o| o.keys().next().cloned())
                        .or_else(|| x.as_str().map(str::to_string))
                })
                .collect(),
            _ => Vec::new(),
        })
        .unwrap_or_else(|| vec!["*".to_string()]);
    let c = Compiler::default();
    let mut leaves = Vec::new();
    flatten("", &Json::Object(source.clone()), &mut leaves);
    for (path, value) in leaves {
        if !wanted.iter().any(|w| glob(w, &path)) {
            continue;
        }
        let field_path = c.field(&path).map(|f| f.path).ok();
        let needles: Vec<&str> = terms
            .iter()
            .filter(|t| t.field.is_none() || t.field == field_path)
            .map(|t| t.text.as_str())
            .collect();
        if let Some(marked) = mark(&value, &needles, &pre, &post) {
            out.insert(path, Json::Array(vec![Json::String(marked)]));
        }
    }
    out
}

fn flatten(prefix: &str, v: &Json, out: &mut Vec<(String, String)>) {
    match v {
        Json::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, child, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|i| flatten(prefix, i, out)),
        Json::String(s) => out.push((prefix.to_string(), s.clone())),
        Json::Number(_) | Json::Bool(_) => out.push((prefix.to_string(), v.to_string())),
        Json::Null => {}
    }
}

/// `value` with every case-insensitive occurrence of a needle wrapped, or `None` if none occur.
fn mark(value: &str, needles: &[&str], pre: &str, post: &str) -> Option<String> {
    let lower = value.to_lowercase();
    if lower.len() != value.len() {
        // Lowercasing changed byte offsets (rare non-ASCII case): mark exact matches only.
        return mark_exact(value, needles, pre, post);
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for n in needles {
        let n = n.to_lowercase();
        if n.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(at) = lower[from..].find(&n) {
            spans.push((from + at, from + at + n.len()));
            from += at + n.len();
        }
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(value.len() + spans.len() * (pre.len() + post.len()));
    let mut at = 0;
    for (s, e) in spans {
        if s < at {
            continue;
        }
        out.push_str(&value[at..s]);
        out.push_str(pre);
        out.push_str(&value[s..e]);
        out.push_str(post);
        at = e;
    }
    out.push_str(&value[at..]);
    Some(out)
}

fn mark_exact(value: &str, needles: &[&str], pre: &str, post: &str) -> Option<String> {
    let mut out = value.to_string();
    let mut any = false;
    for n in needles.iter().filter(|n| !n.is_empty()) {
        if out.contains(n) {
            out = out.replace(n, &format!("{pre}{n}{post}"));
            any = true;
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_fields_the_query_names() {
        let c = Compiler::default();
        let q = serde_json::json!({"query_string": {"query": "eventSource:ecs.amazonaws.com and denied"}});
        let t = terms(&q, &c);
        let src: Map<String, Json> = serde_json::from_value(serde_json::json!({
            "eventSource": "ecs.amazonaws.com", "eventName": "ListClusters", "errorMessage": "Access Denied"
        }))
        .unwrap_or_default();
        let h = highlight(
            &src,
            &t,
            &serde_json::json!({"pre_tags": ["@a@"], "post_tags": ["@/a@"], "fields": {"*": {}}}),
        );
        assert_eq!(
            h.get("eventSource"),
            Some(&serde_json::json!(["@a@ecs.amazonaws.com@/a@"]))
        );
        assert_eq!(
            h.get("errorMessage"),
            Some(&serde_json::json!(["Access @a@Denied@/a@"]))
        );
        assert_eq!(h.get("eventName"), None);
    }
}
