//! Runs the query → tree cases in `cases.txt` (the format is described at the top of that file).
//!
//! Besides the expected outcome, every case is checked for invariants the S-expressions do not
//! show: spans lie on character boundaries and cover what they claim, error columns agree with
//! error positions, and no prefix of the query makes the parser panic.

use std::fmt::Write as _;

use trailscope_kql::{Bound, ParseError, Query, Span, Value, WildcardPart, parse};

const CASES: &str = include_str!("cases.txt");
const CASES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases.txt");

struct Case<'a> {
    /// 1-based line of the expectation in `cases.txt`.
    line: usize,
    query: &'a str,
    expected: &'a str,
}

fn read_cases(text: &str) -> Vec<Case<'_>> {
    let mut cases = Vec::new();
    let mut query = None;
    for (index, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix('>') {
            assert!(
                query.is_none(),
                "cases.txt:{}: query without an expectation before it",
                index + 1
            );
            query = Some(rest.strip_prefix(' ').unwrap_or(rest));
        } else if line.trim().is_empty() || line.starts_with('#') {
            continue;
        } else {
            let query = query
                .take()
                .unwrap_or_else(|| panic!("cases.txt:{}: expectation without a `>` query line", index + 1));
            cases.push(Case {
                line: index + 1,
                query,
                expected: line.trim(),
            });
        }
    }
    assert!(query.is_none(), "cases.txt ends with a query that has no expectation");
    cases
}

fn outcome(query: &str) -> String {
    match parse(query) {
        Ok(tree) => render(&tree),
        Err(error) => format!("error: {} {}", error.column, error.message),
    }
}

fn render(query: &Query) -> String {
    let mut out = String::new();
    render_into(&mut out, query);
    out
}

fn render_into(out: &mut String, query: &Query) {
    match query {
        Query::MatchAll => out.push_str("(all)"),
        Query::And(items) | Query::Or(items) => {
            out.push_str(if matches!(query, Query::And(_)) { "(and" } else { "(or" });
            for item in items {
                out.push(' ');
                render_into(out, item);
            }
            out.push(')');
        }
        Query::Not(inner) => {
            out.push_str("(not ");
            render_into(out, inner);
            out.push(')');
        }
        Query::Match { field, value } => {
            let _ = write!(out, "(match {} {})", field.name, render_value(value));
        }
        Query::Exists { field } => {
            let _ = write!(out, "(exists {})", field.name);
        }
        Query::FreeText { value } => {
            let _ = write!(out, "(text {})", render_value(value));
        }
        Query::Range { field, lower, upper } => {
            let lower = lower.as_ref().map_or("*".to_owned(), |b| {
                format!("{}{}", if b.inclusive { '[' } else { '{' }, quote(&b.value))
            });
            let upper = upper.as_ref().map_or("*".to_owned(), |b| {
                format!("{}{}", quote(&b.value), if b.inclusive { ']' } else { '}' })
            });
            let _ = write!(out, "(range {} {lower} {upper})", field.name);
        }
    }
}

fn render_value(value: &Value) -> String {
    match value {
        Value::Term { text, .. } => format!("t{}", quote(text)),
        Value::Phrase { text, .. } => format!("p{}", quote(text)),
        Value::Wildcard { parts, .. } => {
            let mut pattern = String::new();
            for part in parts {
                match part {
                    WildcardPart::Any => pattern.push('*'),
                    WildcardPart::One => pattern.push('?'),
                    WildcardPart::Literal(text) => {
                        for c in text.chars() {
                            if matches!(c, '*' | '?' | '\\' | '"') {
                                pattern.push('\\');
                            }
                            pattern.push(c);
                        }
                    }
                }
            }
            format!("w\"{pattern}\"")
        }
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', r"\\").replace('"', "\\\""))
}

/// The text under `span`, or a problem noted if the span is empty or cuts a character.
fn span_text<'a>(input: &'a str, span: Span, what: &str, problems: &mut Vec<String>) -> Option<&'a str> {
    let text = input.get(span.start..span.end).filter(|text| !text.is_empty());
    if text.is_none() {
        problems.push(format!("{what} span {span:?} is empty or not on character boundaries"));
    }
    text
}

/// Problems with the spans in `query`, as messages.
fn check_spans(input: &str, query: &Query, problems: &mut Vec<String>) {
    match query {
        Query::MatchAll => {}
        Query::And(items) | Query::Or(items) => {
            if items.len() < 2 {
                problems.push(format!("group of {} items", items.len()));
            }
            for item in items {
                check_spans(input, item, problems);
            }
        }
        Query::Not(inner) => check_spans(input, inner, problems),
        Query::Match { field, value } => {
            if span_text(input, field.span, "field", problems).is_some_and(|name| name != field.name) {
                problems.push(format!("field span {:?} does not cover {:?}", field.span, field.name));
            }
            check_value(input, value, problems);
        }
        Query::FreeText { value } => check_value(input, value, problems),
        Query::Exists { field } => {
            span_text(input, field.span, "field", problems);
        }
        Query::Range { field, lower, upper } => {
            span_text(input, field.span, "field", problems);
            for Bound { span, .. } in [lower, upper].into_iter().flatten() {
                span_text(input, *span, "bound", problems);
            }
        }
    }
}

fn check_value(input: &str, value: &Value, problems: &mut Vec<String>) {
    let text = span_text(input, value.span(), "value", problems);
    let quoted = text.is_some_and(|t| t.len() >= 2 && t.starts_with('"') && t.ends_with('"'));
    if matches!(value, Value::Phrase { .. }) != quoted {
        problems.push(format!("value span {:?} disagrees with quoting", value.span()));
    }
}

fn check_error(input: &str, error: &ParseError, problems: &mut Vec<String>) {
    match input.get(..error.position) {
        Some(before) if before.chars().count() + 1 == error.column => {}
        _ => problems.push(format!(
            "position {} does not match column {}",
            error.position, error.column
        )),
    }
    if error.to_string() != format!("{} at column {}", error.message, error.column) {
        problems.push(format!("Display gives {:?}", error.to_string()));
    }
}

#[test]
fn cases() {
    let cases = read_cases(CASES);
    assert!(cases.len() >= 80, "only {} cases read from cases.txt", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let actual = outcome(case.query);
        if actual != case.expected {
            failures.push(format!(
                "cases.txt:{}: {:?}\n  expected: {}\n  actual:   {actual}",
                case.line, case.query, case.expected
            ));
        }
        let mut problems = Vec::new();
        match parse(case.query) {
            Ok(tree) => check_spans(case.query, &tree, &mut problems),
            Err(error) => check_error(case.query, &error, &mut problems),
        }
        for (end, _) in case.query.char_indices() {
            // Any prefix is something a user may be typing right now; it must not panic.
            let _ = parse(&case.query[..end]);
        }
        for problem in problems {
            failures.push(format!("cases.txt:{}: {:?}: {problem}", case.line, case.query));
        }
    }
    if std::env::var_os("UPDATE_CASES").is_some() {
        rewrite_expectations(&cases);
        return;
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed (UPDATE_CASES=1 rewrites the expectations):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Replaces every expectation line with what the parser now gives; review the diff afterwards.
fn rewrite_expectations(cases: &[Case<'_>]) {
    let mut lines: Vec<String> = CASES.lines().map(str::to_owned).collect();
    for case in cases {
        if let Some(line) = lines.get_mut(case.line - 1) {
            *line = outcome(case.query);
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    if let Err(error) = std::fs::write(CASES_PATH, text) {
        panic!("cannot write {CASES_PATH}: {error}");
    }
}
