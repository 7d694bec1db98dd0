//! The syntax tree of a query-bar query. It says what the user wrote, not what it means: field
//! names are as typed, values are text. `trailscope-search` resolves fields and types.

/// Byte offsets `[start, end)` into the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// An empty query, or a bare `*`.
    MatchAll,
    /// Every item matches. The parser always gives two or more items, none itself an `And`.
    And(Vec<Query>),
    /// Some item matches. The parser always gives two or more items, none itself an `Or`.
    Or(Vec<Query>),
    Not(Box<Query>),
    /// `field:value`, `field:"a phrase"`, `field:val*`.
    Match {
        field: Field,
        value: Value,
    },
    /// `field >= x`, `field:[a TO b]`, `field:{a TO b]`, `field:>x`. `None` is an open end (`*`, or
    /// the side a comparison leaves out); both ends may be open, as in `field:[* TO *]`.
    Range {
        field: Field,
        lower: Option<Bound>,
        upper: Option<Bound>,
    },
    /// `field:*`
    Exists {
        field: Field,
    },
    /// A value without a field: matches anywhere in the event.
    FreeText {
        value: Value,
    },
}

/// A field name as written (`userIdentity.arn`), with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Unquoted text with escapes resolved. KQL keeps unquoted words together:
    /// `message: quick brown fox` is one term `quick brown fox`.
    Term { text: String, span: Span },
    /// Quoted text with escapes resolved.
    Phrase { text: String, span: Span },
    /// Unquoted text containing an unescaped `*` or `?`.
    Wildcard { parts: Vec<WildcardPart>, span: Span },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WildcardPart {
    Literal(String),
    /// `*`: any run of characters, including none.
    Any,
    /// `?`: exactly one character.
    One,
}

/// One end of a range. `value` is the text as written (quotes and escapes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub value: String,
    pub inclusive: bool,
    pub span: Span,
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Term { span, .. } | Value::Phrase { span, .. } | Value::Wildcard { span, .. } => *span,
        }
    }
}
