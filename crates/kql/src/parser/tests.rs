//! What `tests/cases.txt` cannot show: spans, the error type itself, and limits.

use super::*;

fn span(start: usize, end: usize) -> Span {
    Span { start, end }
}

fn field(name: &str, start: usize) -> Field {
    Field {
        name: name.to_owned(),
        span: span(start, start + name.len()),
    }
}

fn term(text: &str, start: usize, end: usize) -> Value {
    Value::Term {
        text: text.to_owned(),
        span: span(start, end),
    }
}

fn parse_ok(input: &str) -> Query {
    parse(input).unwrap_or_else(|e| panic!("{input:?} failed: {e}"))
}

fn parse_err(input: &str) -> ParseError {
    match parse(input) {
        Ok(query) => panic!("{input:?} parsed as {query:?}"),
        Err(error) => error,
    }
}

#[test]
fn match_spans_cover_name_and_value() {
    assert_eq!(
        parse_ok("eventsource:ecs.amazonaws.com"),
        Query::Match {
            field: field("eventsource", 0),
            value: term("ecs.amazonaws.com", 12, 29)
        }
    );
}

#[test]
fn spaced_words_span_from_first_to_last_word() {
    assert_eq!(
        parse_ok("message:  quick  brown fox  "),
        Query::Match {
            field: field("message", 0),
            value: term("quick  brown fox", 10, 26)
        }
    );
}

#[test]
fn phrase_span_includes_quotes() {
    assert_eq!(
        parse_ok(r#"a:"x \"y\"""#),
        Query::Match {
            field: field("a", 0),
            value: Value::Phrase {
                text: r#"x "y""#.to_owned(),
                span: span(2, 11)
            }
        }
    );
}

#[test]
fn wildcard_span_and_parts() {
    assert_eq!(
        parse_ok(r"eventname:Delete*\*?"),
        Query::Match {
            field: field("eventname", 0),
            value: Value::Wildcard {
                parts: vec![
                    WildcardPart::Literal("Delete".to_owned()),
                    WildcardPart::Any,
                    WildcardPart::Literal("*".to_owned()),
                    WildcardPart::One,
                ],
                span: span(10, 20),
            }
        }
    );
}

#[test]
fn value_group_matches_carry_the_field_span() {
    assert_eq!(
        parse_ok("  errorcode:(a or b)"),
        Query::Or(vec![
            Query::Match {
                field: field("errorcode", 2),
                value: term("a", 13, 14)
            },
            Query::Match {
                field: field("errorcode", 2),
                value: term("b", 18, 19)
            },
        ])
    );
}

#[test]
fn bracket_range_bound_spans() {
    assert_eq!(
        parse_ok(r#"t:["2024-01-01" TO now-1d/d}"#),
        Query::Range {
            field: field("t", 0),
            lower: Some(Bound {
                value: "2024-01-01".to_owned(),
                inclusive: true,
                span: span(3, 15)
            }),
            upper: Some(Bound {
                value: "now-1d/d".to_owned(),
                inclusive: false,
                span: span(19, 27)
            }),
        }
    );
}

#[test]
fn comparison_bound_span_and_colons() {
    assert_eq!(
        parse_ok("eventtime >= 2024-01-01T10:00:00Z"),
        Query::Range {
            field: field("eventtime", 0),
            lower: Some(Bound {
                value: "2024-01-01T10:00:00Z".to_owned(),
                inclusive: true,
                span: span(13, 33)
            }),
            upper: None,
        }
    );
}

#[test]
fn spans_are_bytes_after_multibyte_text() {
    // "é" is two bytes: byte offsets, not characters, locate the value.
    assert_eq!(
        parse_ok("né:été"),
        Query::Match {
            field: field("né", 0),
            value: term("été", 4, 9)
        }
    );
}

#[test]
fn blank_input_matches_everything() {
    for input in ["", " ", "\t\n  ", "*", " * "] {
        assert_eq!(parse_ok(input), Query::MatchAll, "{input:?}");
    }
}

#[test]
fn error_reports_byte_position_and_character_column() {
    let error = parse_err("né:\"x");
    assert_eq!(
        error,
        ParseError {
            position: 4,
            column: 4,
            message: "unterminated quoted string starting at column 4".to_owned()
        }
    );
}

#[test]
fn error_display_and_trait() {
    let error = parse_err("a:");
    assert_eq!(error.to_string(), "expected a value after ':' at column 3");
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert_eq!(boxed.to_string(), "expected a value after ':' at column 3");
}

#[test]
fn error_at_end_points_past_the_last_character() {
    let error = parse_err("é and ");
    assert_eq!((error.position, error.column), (7, 7));
    assert_eq!(error.message, "expected a query after 'and'");
}

#[test]
fn earliest_error_wins_over_later_malformed_token() {
    // The unterminated quote is lexed first but comes later in the text.
    let error = parse_err(r#"a:1 ) b:"open"#);
    assert_eq!((error.column, error.message.as_str()), (5, "unexpected ')'"));
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    let input = format!("{}a:1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(
        parse_ok(&input),
        Query::Match {
            field: field("a", MAX_DEPTH),
            value: term("1", 66, 67)
        }
    );
    let input = format!("{}a", "not ".repeat(MAX_DEPTH));
    assert!(parse(&input).is_ok());
}

#[test]
fn nesting_past_the_limit_is_an_error_not_a_crash() {
    let deep = 100_000;
    let cases = [
        format!("{}a{}", "(".repeat(deep), ")".repeat(deep)),
        format!("a:{}b{}", "(".repeat(deep), ")".repeat(deep)),
        format!("{}a", "not ".repeat(deep)),
        format!("{}a", "!".repeat(deep)),
        format!("{}a", "-".repeat(deep)),
        format!("{}a", "-(".repeat(deep)),
    ];
    for input in cases {
        let error = parse_err(&input);
        assert_eq!(
            error.message,
            "query nested more than 64 levels deep",
            "{}",
            &input[..20]
        );
    }
}

#[test]
fn long_flat_chains_do_not_recurse() {
    let input = vec!["a:1"; 50_000].join(" or ");
    let Query::Or(items) = parse_ok(&input) else {
        panic!("expected an or")
    };
    assert_eq!(items.len(), 50_000);
}

#[test]
fn column_counts_characters() {
    assert_eq!(column("", 0), 1);
    assert_eq!(column("aé😀b", 1), 2);
    assert_eq!(column("aé😀b", 3), 3);
    assert_eq!(column("aé😀b", 7), 4);
    assert_eq!(column("aé😀b", 8), 5);
}
