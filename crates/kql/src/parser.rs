//! Recursive descent over the tokens of [`lexer`].
//!
//! The grammar, loosest binding first (NOT binds tightest; two clauses side by side mean AND):
//!
//! ```text
//! query   = EOF | or EOF
//! or      = and (("or" | "||") and)*
//! and     = unary (("and" | "&&")? unary)*
//! unary   = ("not" | "!" | "-") unary | "+" unary | primary
//! primary = "(" or ")" | clause
//! clause  = FIELD ":" ("(" or ")" | value) | FIELD CMP bound | PHRASE | words
//! value   = PHRASE | ("[" | "{") bound "TO" bound ("]" | "}") | CMP bound | words
//! ```
//!
//! Inside `field:( … )` the same `or`/`and`/`unary` rules run with [`Scope::Values`], where a
//! primary is a value of that field instead of a clause: `field:(a or not b)` becomes
//! `field:a or not field:b`.
//!
//! Two habits of KQL shape the rest:
//! - Unquoted words run together: `message: quick brown fox` is one value. A value keeps taking
//!   words until an operator, a parenthesis, a quote, a prefix (`-x`) or, outside `field:( … )`,
//!   the start of another field clause (`a:1 b:2`).
//! - The lexer splits at every `:`, so the parser glues touching tokens back together; that is how
//!   `arn:aws:iam::123456789012:user/alice` stays one value after the first `field:`.

mod lexer;
#[cfg(test)]
mod tests;

use thiserror::Error;

use crate::ast::{Bound, Field, Query, Span, Value, WildcardPart};
use lexer::{Cmp, Tok, Token, push_literal};

/// How deeply parentheses and prefix operators may nest. Each level costs a few stack frames; no
/// real query comes near this, and a hostile one must get an error rather than a stack overflow.
const MAX_DEPTH: usize = 64;

/// Why a query could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at column {column}")]
pub struct ParseError {
    /// Byte offset into the query text where the problem is (the text's length at its end).
    pub position: usize,
    /// `position` as a 1-based column counted in characters, as the user sees it.
    pub column: usize,
    /// What was expected or found, for the user: `expected a value after ':'`.
    pub message: String,
}

impl ParseError {
    fn at(input: &str, position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            column: column(input, position),
            message: message.into(),
        }
    }
}

fn column(input: &str, position: usize) -> usize {
    input.char_indices().take_while(|&(i, _)| i < position).count() + 1
}

/// Parses query-bar text. Empty or blank text, and a lone `*`, match everything.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let mut parser = Parser::new(input);
    if matches!(parser.peek().kind, Tok::Eof) {
        return Ok(Query::MatchAll);
    }
    let query = parser.or(Scope::Top, None)?;
    match parser.peek().kind {
        Tok::Eof => Ok(query),
        _ => Err(parser.unexpected()),
    }
}

/// Whether the parser is reading clauses, or values of one field inside `field:( … )`.
#[derive(Clone, Copy)]
enum Scope<'f> {
    Top,
    Values(&'f Field),
}

impl Scope<'_> {
    fn noun(self) -> &'static str {
        match self {
            Scope::Top => "query",
            Scope::Values(_) => "value",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Not,
}

/// Unquoted value text being assembled from touching tokens and the words after them.
struct Piece {
    parts: Vec<WildcardPart>,
    span: Span,
}

impl Piece {
    fn append(&mut self, parts: &[WildcardPart]) {
        for part in parts {
            match part {
                WildcardPart::Literal(text) => push_literal(&mut self.parts, text),
                other => self.parts.push(other.clone()),
            }
        }
    }

    fn into_value(self) -> Value {
        let span = self.span;
        if self.parts.iter().all(|part| matches!(part, WildcardPart::Literal(_))) {
            let text = self
                .parts
                .into_iter()
                .filter_map(|part| match part {
                    WildcardPart::Literal(text) => Some(text),
                    _ => None,
                })
                .collect();
            Value::Term { text, span }
        } else {
            Value::Wildcard {
                parts: self.parts,
                span,
            }
        }
    }

    /// The text with wildcards written back as `*` and `?`: a range bound is compared, not
    /// pattern-matched, so `*` in it is just a character.
    fn into_text(self) -> String {
        self.parts
            .into_iter()
            .map(|part| match part {
                WildcardPart::Literal(text) => text,
                WildcardPart::Any => "*".to_owned(),
                WildcardPart::One => "?".to_owned(),
            })
            .collect()
    }
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    /// Answered past the last token, so lookahead never needs bounds checks.
    eof: Token,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        let end = input.len();
        let eof = Token {
            kind: Tok::Eof,
            span: Span { start: end, end },
        };
        Self {
            input,
            tokens: lexer::tokenize(input),
            eof,
            pos: 0,
            depth: 0,
        }
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        self.tokens.get(self.pos + ahead).unwrap_or(&self.eof)
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn text(&self, span: Span) -> &'a str {
        self.input.get(span.start..span.end).unwrap_or_default()
    }

    /// The current token as the user wrote it, quoted for a message: `'AND'`.
    fn describe(&self) -> String {
        match self.peek().kind {
            Tok::Eof => "end of query".to_owned(),
            _ => format!("'{}'", self.text(self.peek().span)),
        }
    }

    /// An error at the current token, unless the lexer already found that token malformed: then
    /// its own message (an unterminated quote, say) says more than "expected …".
    fn fail(&self, message: impl Into<String>) -> ParseError {
        match &self.peek().kind {
            Tok::Invalid(error) => error.clone(),
            _ => ParseError::at(self.input, self.peek().span.start, message),
        }
    }

    fn unexpected(&self) -> ParseError {
        self.fail(format!("unexpected {}", self.describe()))
    }

    fn missing(&self, noun: &str, after: Option<&str>) -> ParseError {
        match after {
            Some(after) => self.fail(format!("expected a {noun} after {after}")),
            None => self.unexpected(),
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(format!("query nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    /// The operator at the cursor, if any. A keyword touching a following `:` or comparison is a
    /// field name instead (`not:x`), as in KQL, where operators are set apart by spaces.
    fn op(&self) -> Option<Op> {
        let token = self.peek();
        match &token.kind {
            Tok::AndAnd => Some(Op::And),
            Tok::OrOr => Some(Op::Or),
            Tok::Bang => Some(Op::Not),
            Tok::Word { escaped: false, .. } => {
                let word = self.text(token.span);
                let op = [("and", Op::And), ("or", Op::Or), ("not", Op::Not)]
                    .into_iter()
                    .find_map(|(name, op)| word.eq_ignore_ascii_case(name).then_some(op))?;
                let next = self.peek_at(1);
                let names_field = next.span.start == token.span.end && matches!(next.kind, Tok::Colon | Tok::Cmp(_));
                (!names_field).then_some(op)
            }
            _ => None,
        }
    }

    /// The field at the cursor, if a field clause starts here: a plain name followed (spaces
    /// allowed, as in `eventsource : ecs.amazonaws.com`) by `:` or a comparison.
    fn field_start(&self) -> Option<Field> {
        let token = self.peek();
        let Tok::Word { escaped: false, .. } = token.kind else {
            return None;
        };
        let name = self.text(token.span);
        let separated = matches!(self.peek_at(1).kind, Tok::Colon | Tok::Cmp(_));
        (separated && is_field_name(name)).then(|| Field {
            name: name.to_owned(),
            span: token.span,
        })
    }

    fn or(&mut self, scope: Scope<'_>, after: Option<&str>) -> Result<Query, ParseError> {
        let mut items = vec![self.and(scope, after)?];
        while self.op() == Some(Op::Or) {
            let op = self.describe();
            self.pos += 1;
            items.push(self.and(scope, Some(&op))?);
        }
        Ok(join(items, Op::Or))
    }

    fn and(&mut self, scope: Scope<'_>, after: Option<&str>) -> Result<Query, ParseError> {
        let mut items = vec![self.unary(scope, after)?];
        loop {
            match self.op() {
                Some(Op::Or) => break,
                Some(Op::And) => {
                    let op = self.describe();
                    self.pos += 1;
                    items.push(self.unary(scope, Some(&op))?);
                }
                _ if matches!(self.peek().kind, Tok::Eof | Tok::RParen) => break,
                // Side by side means AND.
                _ => items.push(self.unary(scope, None)?),
            }
        }
        Ok(join(items, Op::And))
    }

    fn unary(&mut self, scope: Scope<'_>, after: Option<&str>) -> Result<Query, ParseError> {
        let negate = match self.peek().kind {
            Tok::Minus => true,
            // Lucene's "required": the clause itself, which adjacency already ANDs.
            Tok::Plus => false,
            _ if self.op() == Some(Op::Not) => true,
            _ => return self.primary(scope, after),
        };
        let op = self.describe();
        self.enter()?;
        self.pos += 1;
        let inner = self.unary(scope, Some(&op))?;
        self.depth -= 1;
        Ok(if negate { Query::Not(Box::new(inner)) } else { inner })
    }

    fn primary(&mut self, scope: Scope<'_>, after: Option<&str>) -> Result<Query, ParseError> {
        match self.peek().kind {
            Tok::LParen => self.group(scope),
            Tok::Eof | Tok::RParen | Tok::Invalid(_) => Err(self.missing(scope.noun(), after)),
            _ if matches!(self.op(), Some(Op::And | Op::Or)) => Err(self.missing(scope.noun(), after)),
            _ => match scope {
                Scope::Top => self.clause(),
                Scope::Values(field) => self.value(field, false, after),
            },
        }
    }

    /// `( … )`, with the cursor on the `(`.
    fn group(&mut self, scope: Scope<'_>) -> Result<Query, ParseError> {
        let open = self.peek().span.start;
        self.enter()?;
        self.pos += 1;
        let inner = self.or(scope, Some("'('"))?;
        if !matches!(self.peek().kind, Tok::RParen) {
            let column = column(self.input, open);
            return Err(self.fail(format!("expected ')' to close '(' opened at column {column}")));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn clause(&mut self) -> Result<Query, ParseError> {
        if let Some(field) = self.field_start() {
            self.pos += 1;
            if let Tok::Cmp(op) = self.peek().kind {
                return self.compare(field, op);
            }
            self.pos += 1; // the ':'
            return match self.peek().kind {
                Tok::LParen => self.group(Scope::Values(&field)),
                _ => self.value(&field, true, Some("':'")),
            };
        }
        match self.peek().kind {
            Tok::Quoted(_) => {
                let (text, span) = self.quoted()?;
                Ok(Query::FreeText {
                    value: Value::Phrase { text, span },
                })
            }
            Tok::Colon | Tok::Cmp(_) => Err(self.fail(format!("expected a field name before {}", self.describe()))),
            _ => {
                let piece = self.words(true).ok_or_else(|| self.unexpected())?;
                // Lucene spells "everything" `*:*`; `*` is not a field name, so catch it whole.
                if matches!(self.text(piece.span), "*" | "*:*") {
                    return Ok(Query::MatchAll);
                }
                Ok(Query::FreeText {
                    value: piece.into_value(),
                })
            }
        }
    }

    /// A value of `field`: after `field:` (`top`, where another field clause ends the words) or
    /// inside `field:( … )`.
    fn value(&mut self, field: &Field, top: bool, after: Option<&str>) -> Result<Query, ParseError> {
        match self.peek().kind {
            Tok::Quoted(_) => {
                let (text, span) = self.quoted()?;
                Ok(Query::Match {
                    field: field.clone(),
                    value: Value::Phrase { text, span },
                })
            }
            Tok::LBracket | Tok::LBrace => self.bracket_range(field.clone()),
            Tok::Cmp(op) => self.compare(field.clone(), op),
            Tok::Word { .. } if self.op().is_some() => Err(self.missing("value", after)),
            _ => {
                let piece = self.words(top).ok_or_else(|| self.missing("value", after))?;
                if self.text(piece.span) == "*" {
                    return Ok(Query::Exists { field: field.clone() });
                }
                Ok(Query::Match {
                    field: field.clone(),
                    value: piece.into_value(),
                })
            }
        }
    }

    /// `>= bound` and friends, with the cursor on the operator.
    fn compare(&mut self, field: Field, op: Cmp) -> Result<Query, ParseError> {
        let symbol = self.describe();
        self.pos += 1;
        if matches!(self.op(), Some(Op::And | Op::Or | Op::Not)) {
            return Err(self.fail(format!("expected a value after {symbol}")));
        }
        let inclusive = matches!(op, Cmp::Ge | Cmp::Le);
        let bound = self.bound(false, inclusive, &symbol)?;
        Ok(match op {
            Cmp::Gt | Cmp::Ge => Query::Range {
                field,
                lower: bound,
                upper: None,
            },
            Cmp::Lt | Cmp::Le => Query::Range {
                field,
                lower: None,
                upper: bound,
            },
        })
    }

    /// `[a TO b]`, `{a TO b}` or a mix, with the cursor on the opening bracket.
    fn bracket_range(&mut self, field: Field) -> Result<Query, ParseError> {
        let open = self.peek().span;
        let lower_inclusive = matches!(self.peek().kind, Tok::LBracket);
        let opener = self.describe();
        self.pos += 1;
        let lower = self.bound(true, lower_inclusive, &opener)?;
        let at_to = matches!(self.peek().kind, Tok::Word { escaped: false, .. })
            && self.text(self.peek().span).eq_ignore_ascii_case("to");
        if !at_to {
            return Err(self.fail("expected 'TO' in range"));
        }
        let to = self.describe();
        self.pos += 1;
        let mut upper = self.bound(true, false, &to)?;
        let upper_inclusive = match self.peek().kind {
            Tok::RBracket => true,
            Tok::RBrace => false,
            _ => {
                let column = column(self.input, open.start);
                return Err(self.fail(format!("expected ']' or '}}' to close range opened at column {column}")));
            }
        };
        self.pos += 1;
        if let Some(upper) = &mut upper {
            upper.inclusive = upper_inclusive;
        }
        Ok(Query::Range { field, lower, upper })
    }

    /// One range bound; `None` for `*`, an open end. Inside brackets a closing bracket ends it.
    fn bound(&mut self, in_brackets: bool, inclusive: bool, after: &str) -> Result<Option<Bound>, ParseError> {
        if let Tok::Quoted(_) = self.peek().kind {
            let (value, span) = self.quoted()?;
            return Ok(Some(Bound { value, inclusive, span }));
        }
        let piece = self
            .glued(in_brackets)
            .ok_or_else(|| self.fail(format!("expected a value after {after}")))?;
        if self.text(piece.span) == "*" {
            return Ok(None);
        }
        let span = piece.span;
        Ok(Some(Bound {
            value: piece.into_text(),
            inclusive,
            span,
        }))
    }

    /// The quoted string at the cursor. Text stuck to its closing quote (`"abc"*`, `"a"b`) is
    /// refused: it is a typo or a misunderstanding, and reading it as a second clause would
    /// silently search for something else.
    fn quoted(&mut self) -> Result<(String, Span), ParseError> {
        let token = self.peek();
        let (Tok::Quoted(text), span) = (&token.kind, token.span) else {
            return Err(self.unexpected());
        };
        let text = text.clone();
        self.pos += 1;
        let next = self.peek();
        let stuck = next.span.start == span.end
            && !matches!(
                next.kind,
                Tok::LParen | Tok::RParen | Tok::RBracket | Tok::RBrace | Tok::AndAnd | Tok::OrOr | Tok::Eof
            );
        if stuck {
            return Err(self.fail("expected a space or an operator after a quoted string"));
        }
        Ok((text, span))
    }

    /// Unquoted value text: touching tokens, then further words while they cannot start anything
    /// else (see the module docs). `top` also stops before another field clause.
    fn words(&mut self, top: bool) -> Option<Piece> {
        let mut piece = self.glued(false)?;
        loop {
            let continues = matches!(
                self.peek().kind,
                Tok::Word { .. } | Tok::Colon | Tok::Cmp(_) | Tok::LBracket | Tok::RBracket | Tok::LBrace | Tok::RBrace
            ) && self.op().is_none()
                && !(top && self.field_start().is_some());
            if !continues {
                return Some(piece);
            }
            let Some(next) = self.glued(false) else {
                return Some(piece);
            };
            // Keep the spacing as typed: it is part of what the user searches for.
            let gap = self.text(Span {
                start: piece.span.end,
                end: next.span.start,
            });
            push_literal(&mut piece.parts, gap);
            piece.append(&next.parts);
            piece.span.end = next.span.end;
        }
    }

    /// The run of tokens from the cursor with no whitespace between them, read as value text.
    fn glued(&mut self, in_brackets: bool) -> Option<Piece> {
        let mut glued: Option<Piece> = None;
        loop {
            let token = self.peek();
            let span = token.span;
            let gluable = match token.kind {
                Tok::Word { .. }
                | Tok::Colon
                | Tok::Cmp(_)
                | Tok::Minus
                | Tok::Plus
                | Tok::Bang
                | Tok::LBracket
                | Tok::LBrace => true,
                Tok::RBracket | Tok::RBrace => !in_brackets,
                _ => false,
            };
            if !gluable || glued.as_ref().is_some_and(|piece| piece.span.end != span.start) {
                break;
            }
            let piece = glued.get_or_insert(Piece {
                parts: Vec::new(),
                span,
            });
            match &token.kind {
                Tok::Word { parts, .. } => piece.append(parts),
                _ => push_literal(&mut piece.parts, self.text(span)),
            }
            piece.span.end = span.end;
            self.pos += 1;
        }
        glued
    }
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

/// Joins `items` with AND or OR, flattening nested joins of the same kind (`a and (b and c)` is
/// one AND of three) and unwrapping a single item, so the tree has one shape however the query
/// was bracketed.
fn join(items: Vec<Query>, op: Op) -> Query {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match (item, op) {
            (Query::And(inner), Op::And) | (Query::Or(inner), Op::Or) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    match <[Query; 1]>::try_from(flat) {
        Ok([only]) => only,
        Err(flat) if op == Op::Or => Query::Or(flat),
        Err(flat) => Query::And(flat),
    }
}
