//! The AWS CLI's output formats for a paginated `lookup-events`, so scripts that parse
//! `aws cloudtrail lookup-events --output json|text|table` parse ours unchanged. The rules are
//! those of awscli 1.x's formatters (`awscli/formatter.py`, `awscli/text.py`,
//! `awscli/table.py`); the tests in `tests/it/lookup.rs` compare with the real AWS CLI.

use serde_json::{Map, Value as Json};

/// `--output json`: every page's events in one list, then the resume token if the run stopped
/// early (indent 4, as Python's `json.dumps(indent=4)`).
pub fn json(pages: &[Vec<Json>], next_token: Option<&str>) -> String {
    let mut body = Map::new();
    body.insert("Events".into(), Json::Array(pages.iter().flatten().cloned().collect()));
    if let Some(t) = next_token {
        body.insert("NextToken".into(), Json::String(t.to_string()));
    }
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    let _ = serde::Serialize::serialize(&Json::Object(body), &mut ser);
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push('\n');
    text
}

/// A scalar as Python's `str()` shows it (the AWS CLI's text output).
pub(crate) fn py_str(v: &Json) -> String {
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::String(s) => s.clone(),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) if !n.is_f64() => i.to_string(),
            (_, Some(f)) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            (_, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn is_scalar(v: &Json) -> bool {
    !matches!(v, Json::Object(_) | Json::Array(_))
}

/// `--output text`: each page on its own (columns are the sorted scalar keys of that page's
/// events), one `EVENTS` line per event followed by its `RESOURCES` lines, then `NEXTTOKEN`.
pub fn text(pages: &[Vec<Json>], next_token: Option<&str>) -> String {
    let mut out = String::new();
    for page in pages {
        format_list(page, Some("Events"), &mut out);
    }
    if let Some(t) = next_token {
        out.push_str("NEXTTOKEN\t");
        out.push_str(t);
        out.push('\n');
    }
    out
}

fn format_value(v: &Json, identifier: Option<&str>, scalar_keys: Option<&[String]>, out: &mut String) {
    match v {
        Json::Object(map) => format_dict(map, identifier, scalar_keys, out),
        Json::Array(items) => format_list(items, identifier, out),
        scalar => {
            out.push_str(&py_str(scalar));
            out.push('\n');
        }
    }
}

fn format_list(items: &[Json], identifier: Option<&str>, out: &mut String) {
    if items.is_empty() {
        return;
    }
    if items.iter().any(|i| matches!(i, Json::Object(_))) {
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(Json::as_object)
            .flat_map(|m| m.iter().filter(|(_, v)| is_scalar(v)).map(|(k, _)| k.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        for item in items {
            format_value(item, identifier, Some(&keys), out);
        }
    } else if items.iter().any(|i| matches!(i, Json::Array(_))) {
        let scalars: Vec<&Json> = items.iter().filter(|i| is_scalar(i)).collect();
        if !scalars.is_empty() {
            format_scalars(&scalars, identifier, out);
        }
        for item in items.iter().filter(|i| !is_scalar(i)) {
            format_value(item, identifier, None, out);
        }
    } else {
        format_scalars(&items.iter().collect::<Vec<_>>(), identifier, out);
    }
}

fn format_scalars(items: &[&Json], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(id) => {
            for item in items {
                out.push_str(&format!("{}\t{}\n", id.to_uppercase(), py_str(item)));
            }
        }
        None => {
            out.push_str(&items.iter().map(|i| py_str(i)).collect::<Vec<_>>().join("\t"));
            out.push('\n');
        }
    }
}

fn format_dict(map: &Map<String, Json>, identifier: Option<&str>, scalar_keys: Option<&[String]>, out: &mut String) {
    let mut scalars: Vec<String> = Vec::new();
    let mut rest: Vec<(&String, &Json)> = Vec::new();
    match scalar_keys {
        None => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                if is_scalar(v) {
                    scalars.push(py_str(v));
                } else {
                    rest.push((k, v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(map.get(k).map(py_str).unwrap_or_default());
            }
            let mut others: Vec<(&String, &Json)> = map.iter().filter(|(k, _)| !keys.contains(k)).collect();
            others.sort_by(|a, b| a.0.cmp(b.0));
            rest = others;
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (k, v) in rest {
        format_value(v, Some(k), None, out);
    }
}

/// `--output table`.
pub fn table(pages: &[Vec<Json>], next_token: Option<&str>) -> String {
    crate::awstable::render(pages, next_token)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_lists_sorted_scalar_columns_then_nested_lists() {
        let page = vec![
            json!({"EventId": "a", "EventName": "RunTask", "EventTime": 1424476529.0,
                   "Resources": [{"ResourceType": "AWS::ECS::Cluster", "ResourceName": "prod"}],
                   "CloudTrailEvent": "{}"}),
            json!({"EventId": "b", "Username": "root", "EventTime": 1424476528.0, "Resources": [],
                   "CloudTrailEvent": "{}"}),
        ];
        assert_eq!(
            text(&[page], Some("tok")),
            "EVENTS\t{}\ta\tRunTask\t1424476529.0\t\n\
             RESOURCES\tprod\tAWS::ECS::Cluster\n\
             EVENTS\t{}\tb\t\t1424476528.0\troot\n\
             NEXTTOKEN\ttok\n"
        );
    }

    #[test]
    fn json_is_indented_by_four_like_python() {
        let page = vec![json!({"EventId": "a", "EventTime": 1424476529.0, "Resources": []})];
        assert_eq!(
            json(&[page], None),
            "{\n    \"Events\": [\n        {\n            \"EventId\": \"a\",\n            \"EventTime\": 1424476529.0,\n            \"Resources\": []\n        }\n    ]\n}\n"
        );
    }
}
