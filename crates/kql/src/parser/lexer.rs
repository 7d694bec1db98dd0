//! Splits query text into tokens.
//!
//! The lexer knows no grammar. `:` and the comparison operators are always tokens of their own,
//! even inside an ARN, and the parser glues touching tokens back into one value where a value is
//! expected; that keeps "which colon separates the field" a grammar decision. Only `-`, `+` and
//! `!` need a little context: they start a negation in `-errorcode:*` but belong to the word in
//! `Delete-Bucket` or `now-1d/d`.

use super::ParseError;
use crate::ast::{Span, WildcardPart};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Unquoted text, escapes resolved. `escaped` records whether a backslash was used, because an
    /// escaped word is never an operator, a field name or `TO`: `\and` is how one searches for "and".
    Word {
        parts: Vec<WildcardPart>,
        escaped: bool,
    },
    /// Text between double quotes, escapes resolved.
    Quoted(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Colon,
    Cmp(Cmp),
    AndAnd,
    OrOr,
    Bang,
    Minus,
    Plus,
    /// Malformed text (an unterminated quote, a trailing backslash). Lexing stops here, and the
    /// parser reports it only when it reaches it, so errors come out in reading order.
    Invalid(ParseError),
    /// Never produced by [`tokenize`]; the parser answers it past the last token.
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// Characters that end an unquoted word (besides whitespace, `&&` and `||`).
fn is_delimiter(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ':' | '<' | '>' | '"')
}

/// Appends literal text, merging with a literal already at the end so a value has one part per
/// run of text rather than one per character.
pub(super) fn push_literal(parts: &mut Vec<WildcardPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(WildcardPart::Literal(last)) => last.push_str(text),
        _ => parts.push(WildcardPart::Literal(text.to_owned())),
    }
}

pub(super) fn tokenize(input: &str) -> Vec<Token> {
    let mut lexer = Lexer { input, pos: 0 };
    let mut tokens: Vec<Token> = Vec::new();
    loop {
        lexer.skip_whitespace();
        let start = lexer.pos;
        // A prefix operator can only begin a clause: at the start, after whitespace or a
        // parenthesis, or right after another prefix (`!!x`, `-!x`).
        let after_prefix = tokens
            .last()
            .is_some_and(|t| t.span.end == start && matches!(t.kind, Tok::Bang | Tok::Minus | Tok::Plus));
        let at_clause_start = after_prefix
            || input
                .get(..start)
                .unwrap_or_default()
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || c == '(' || c == ')');
        match lexer.next_kind(at_clause_start) {
            None => return tokens,
            Some(Ok(kind)) => tokens.push(Token {
                kind,
                span: Span { start, end: lexer.pos },
            }),
            Some(Err(error)) => {
                let span = Span {
                    start,
                    end: input.len(),
                };
                tokens.push(Token {
                    kind: Tok::Invalid(error),
                    span,
                });
                return tokens;
            }
        }
    }
}

struct Lexer<'a> {
    input: &'a str,
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn next_kind(&mut self, at_clause_start: bool) -> Option<Result<Tok, ParseError>> {
        let mut chars = self.rest().chars();
        let c = chars.next()?;
        let next = chars.next();
        let single = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ':' => Tok::Colon,
            '<' | '>' => {
                let or_equal = next == Some('=');
                self.pos += if or_equal { 2 } else { 1 };
                return Some(Ok(Tok::Cmp(match (c, or_equal) {
                    ('<', false) => Cmp::Lt,
                    ('<', true) => Cmp::Le,
                    ('>', false) => Cmp::Gt,
                    _ => Cmp::Ge,
                })));
            }
            '&' | '|' if next == Some(c) => {
                self.pos += 2;
                return Some(Ok(if c == '&' { Tok::AndAnd } else { Tok::OrOr }));
            }
            '"' => return Some(self.quoted()),
            '!' if at_clause_start => Tok::Bang,
            // A lone `-` (as in `a - b`) is text; only `-x` negates.
            '-' | '+' if at_clause_start && next.is_some_and(|n| !n.is_whitespace() && n != ')') => {
                if c == '-' {
                    Tok::Minus
                } else {
                    Tok::Plus
                }
            }
            _ => return Some(self.word()),
        };
        self.pos += c.len_utf8();
        Some(Ok(single))
    }

    fn quoted(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.bump() {
                None => {
                    let message = format!(
                        "unterminated quoted string starting at column {}",
                        super::column(self.input, start)
                    );
                    return Err(ParseError::at(self.input, start, message));
                }
                Some('"') => return Ok(Tok::Quoted(text)),
                Some('\\') => match self.rest().chars().next() {
                    Some(c @ ('"' | '\\')) => {
                        self.pos += 1;
                        text.push(c);
                    }
                    // Only the quote and the backslash need escaping inside quotes; any other
                    // backslash is kept, so pasted Windows paths and regex-like text survive.
                    _ => text.push('\\'),
                },
                Some(c) => text.push(c),
            }
        }
    }

    fn word(&mut self) -> Result<Tok, ParseError> {
        let mut parts = Vec::new();
        let mut escaped = false;
        while let Some(c) = self.rest().chars().next() {
            let rest = self.rest();
            if c.is_whitespace() || is_delimiter(c) || rest.starts_with("&&") || rest.starts_with("||") {
                break;
            }
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                '\\' => {
                    let Some(literal) = self.bump() else {
                        return Err(ParseError::at(self.input, at, "expected a character after '\\'"));
                    };
                    escaped = true;
                    push_literal(&mut parts, literal.encode_utf8(&mut [0; 4]));
                }
                '*' => parts.push(WildcardPart::Any),
                '?' => parts.push(WildcardPart::One),
                _ => push_literal(&mut parts, c.encode_utf8(&mut [0; 4])),
            }
        }
        Ok(Tok::Word { parts, escaped })
    }
}
