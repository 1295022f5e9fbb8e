//! SCIM filters (RFC 7644 §3.4.2.2): a recursive-descent parser and an
//! evaluator over JSON documents.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ```
//!
//! `not` binds tighter than `and`, which binds tighter than `or`. Operators,
//! keywords and attribute names are case-insensitive; string comparisons are
//! case-insensitive except for the attributes [`case_exact`] names. Input is
//! bounded ([`MAX_LEN`], [`MAX_DEPTH`], [`MAX_TERMS`]) so that a hostile filter
//! can neither exhaust the stack nor take long to evaluate.

use serde_json::Value;
use soxctl_model::time::Timestamp;
use std::cmp::Ordering;
use std::fmt;

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// The deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 32;
/// The most comparisons one filter may hold.
pub const MAX_TERMS: usize = 128;

/// An attribute path: `[urn:…:]name[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URI when the path is qualified with one.
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `urn:…:name.sub`, `name.sub` or `name`.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let fail = || FilterError::new(format!("'{text}' is not an attribute path"));
        let (uri, rest) = if text
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        {
            let (uri, rest) = text.rsplit_once(':').ok_or_else(fail)?;
            (Some(uri.to_owned()), rest)
        } else {
            (None, text)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        let valid = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
        };
        if !valid(name) || sub.is_some_and(|s| !valid(s)) {
            return Err(fail());
        }
        Ok(Self {
            uri,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A filter that does not parse: RFC 7644's `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl FilterError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Value(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b'[' => {
                tokens.push(Token::OpenBracket);
                i += 1;
            }
            b']' => {
                tokens.push(Token::CloseBracket);
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    return Err(FilterError::new("a string is not closed with '\"'"));
                }
                i += 1;
                let text = &input[start..i];
                let value: String = serde_json::from_str(text)
                    .map_err(|e| FilterError::new(format!("bad string {text}: {e}")))?;
                tokens.push(Token::Value(Value::String(value)));
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' | b'[' | b']' | b'"'
                    )
                {
                    i += 1;
                }
                // A word ends at a character boundary: every delimiter is ASCII.
                let word = &input[start..i];
                let first = word.as_bytes().first().copied().unwrap_or(b' ');
                if first == b'-' || first.is_ascii_digit() {
                    let number: serde_json::Number = serde_json::from_str(word)
                        .map_err(|_| FilterError::new(format!("'{word}' is not a number")))?;
                    tokens.push(Token::Value(Value::Number(number)));
                } else {
                    match word.to_ascii_lowercase().as_str() {
                        "true" => tokens.push(Token::Value(Value::Bool(true))),
                        "false" => tokens.push(Token::Value(Value::Bool(false))),
                        "null" => tokens.push(Token::Value(Value::Null)),
                        _ => tokens.push(Token::Word(word.to_owned())),
                    }
                }
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn descend(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(format!(
                "the filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_keyword("not") && matches!(self.tokens.get(self.at + 1), Some(Token::Open)) {
            self.at += 1;
            self.descend()?;
            let inner = self.group()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if matches!(self.peek(), Some(Token::Open)) {
            self.descend()?;
            let inner = self.group()?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.attr_expression()
    }

    /// `( FILTER )`
    fn group(&mut self) -> Result<Filter, FilterError> {
        match self.next() {
            Some(Token::Open) => {}
            _ => return Err(FilterError::new("expected '('")),
        }
        let inner = self.or()?;
        match self.next() {
            Some(Token::Close) => Ok(inner),
            _ => Err(FilterError::new("a '(' is not closed with ')'")),
        }
    }

    fn attr_expression(&mut self) -> Result<Filter, FilterError> {
        let path = match self.next() {
            Some(Token::Word(word)) => AttrPath::parse(&word)?,
            Some(other) => {
                return Err(FilterError::new(format!(
                    "expected an attribute name, found {}",
                    describe(&other)
                )));
            }
            None => {
                return Err(FilterError::new(
                    "the filter ends where an attribute name belongs",
                ));
            }
        };
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(FilterError::new(format!(
                "the filter has more than {MAX_TERMS} comparisons"
            )));
        }
        if matches!(self.peek(), Some(Token::OpenBracket)) {
            self.at += 1;
            if path.sub.is_some() {
                return Err(FilterError::new(format!(
                    "'{path}[…]': a value filter applies to a multi-valued attribute, not a sub-attribute"
                )));
            }
            self.descend()?;
            let inner = self.or()?;
            self.depth -= 1;
            match self.next() {
                Some(Token::CloseBracket) => {}
                _ => return Err(FilterError::new("a '[' is not closed with ']'")),
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        let op = match self.next() {
            Some(Token::Word(word)) if word.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path));
            }
            Some(Token::Word(word)) => CompareOp::parse(&word).ok_or_else(|| {
                FilterError::new(format!(
                    "'{word}' is not an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"
                ))
            })?,
            Some(other) => {
                return Err(FilterError::new(format!(
                    "expected an operator after '{path}', found {}",
                    describe(&other)
                )));
            }
            None => return Err(FilterError::new(format!("'{path}' has no operator"))),
        };
        match self.next() {
            Some(Token::Value(value)) => {
                check_date_comparison(&path, &value)?;
                Ok(Filter::Compare { path, op, value })
            }
            Some(other) => Err(FilterError::new(format!(
                "expected a value (a \"string\", number, true, false or null), found {}",
                describe(&other)
            ))),
            None => Err(FilterError::new(format!(
                "'{path}' has no value to compare with"
            ))),
        }
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Value(v) => v.to_string(),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::OpenBracket => "'['".into(),
        Token::CloseBracket => "']'".into(),
    }
}

impl Filter {
    /// Parses a filter; the error says what is wrong and where.
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        if input.len() > MAX_LEN {
            return Err(FilterError::new(format!(
                "the filter is longer than {MAX_LEN} bytes"
            )));
        }
        let tokens = tokenize(input)?;
        if tokens.is_empty() {
            return Err(FilterError::new("the filter is empty"));
        }
        let mut parser = Parser {
            tokens,
            at: 0,
            depth: 0,
            terms: 0,
        };
        let filter = parser.or()?;
        match parser.next() {
            None => Ok(filter),
            Some(token) => Err(FilterError::new(format!(
                "unexpected {} after a complete filter (combine filters with and/or)",
                describe(&token)
            ))),
        }
    }

    /// Whether `doc` (a whole resource) matches. `core` is the URI of the
    /// resource's core schema: a path qualified with it reads the top level;
    /// a path qualified with another URI reads that extension's object.
    pub fn matches(&self, doc: &Value, core: &str) -> bool {
        self.eval(doc, Some(core))
    }

    /// Whether an element of a multi-valued attribute matches (the filter
    /// inside a value path: its attribute names are the element's).
    pub fn eval_element(&self, element: &Value) -> bool {
        self.eval(element, None)
    }

    fn eval(&self, doc: &Value, core: Option<&str>) -> bool {
        match self {
            Self::And(a, b) => a.eval(doc, core) && b.eval(doc, core),
            Self::Or(a, b) => a.eval(doc, core) || b.eval(doc, core),
            Self::Not(a) => !a.eval(doc, core),
            Self::Present(path) => values(doc, path, core).iter().any(|v| present(v)),
            Self::Compare { path, op, value } => {
                let exact = case_exact(path);
                let found = values(doc, path, core);
                match op {
                    // "not equal" holds unless some value is equal (absent included).
                    CompareOp::Ne => !found
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, value, exact)),
                    CompareOp::Eq if value.is_null() => !found.iter().any(|v| present(v)),
                    _ => found.iter().any(|v| compare(v, *op, value, exact)),
                }
            }
            Self::ValuePath { path, filter } => {
                let elements = values(doc, path, core);
                elements.iter().any(|element| filter.eval(element, None))
            }
        }
    }
}

/// Attributes whose string values compare case-sensitively (RFC 7643
/// `caseExact`); every other attribute compares case-insensitively.
pub fn case_exact(path: &AttrPath) -> bool {
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    matches!(name.as_str(), "id" | "externalid" | "$ref")
        || matches!(
            (name.as_str(), sub.as_deref()),
            ("meta", Some("version" | "location"))
                | ("members" | "groups" | "manager", Some("value" | "$ref"))
        )
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(o) => o.values().any(present),
        _ => true,
    }
}

/// The value of `key` in `object`, matched case-insensitively.
pub fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The values `path` designates in `doc`, flattened over multi-valued
/// attributes. A complex multi-valued attribute without a sub-attribute
/// compares its elements' `value` (RFC 7644 §3.4.2.2), except inside a
/// value path, where the elements themselves are wanted.
fn values<'a>(doc: &'a Value, path: &AttrPath, core: Option<&str>) -> Vec<&'a Value> {
    let base = match (&path.uri, core) {
        (Some(uri), Some(core)) if !uri.eq_ignore_ascii_case(core) => match get_ci(doc, uri) {
            Some(extension) => extension,
            None => return Vec::new(),
        },
        _ => doc,
    };
    let Some(top) = get_ci(base, &path.name) else {
        return Vec::new();
    };
    let elements: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match &path.sub {
        Some(sub) => elements
            .into_iter()
            .filter_map(|e| get_ci(e, sub))
            .collect(),
        None => elements,
    }
}

/// `meta.created` and `meta.lastModified` are dateTime attributes (RFC
/// 7643 §3.1): compared with anything but a date and time, a filter would
/// silently match nothing, so it is an `invalidFilter`.
fn check_date_comparison(path: &AttrPath, value: &Value) -> Result<(), FilterError> {
    let dated = path.name.eq_ignore_ascii_case("meta")
        && path.sub.as_deref().is_some_and(|s| {
            s.eq_ignore_ascii_case("lastModified") || s.eq_ignore_ascii_case("created")
        });
    let is_date = value.as_str().is_some_and(|s| Timestamp::parse(s).is_ok());
    if dated && !is_date {
        return Err(FilterError::new(format!(
            "'{path}' is a date and time: compare it with an RFC 3339 string such as \"2026-03-31T00:00:00Z\", not {}",
            soxctl_model::identity::escape(&value.to_string())
        )));
    }
    Ok(())
}

fn compare(found: &Value, op: CompareOp, wanted: &Value, exact: bool) -> bool {
    // A complex value stands for its `value` sub-attribute.
    let found = match found {
        Value::Object(_) => match get_ci(found, "value") {
            Some(v) => v,
            None => return false,
        },
        other => other,
    };
    match (found, wanted) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = if exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Eq => a == b,
                CompareOp::Ne => a != b,
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                    // Dates compare as instants, other strings lexically.
                    let ordering = match (Timestamp::parse(&a), Timestamp::parse(&b)) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        _ => a.cmp(&b),
                    };
                    ordered(ordering, op)
                }
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
                return false;
            };
            match a.partial_cmp(&b) {
                Some(ordering) => match op {
                    CompareOp::Eq => ordering == Ordering::Equal,
                    CompareOp::Ne => ordering != Ordering::Equal,
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
                    _ => ordered(ordering, op),
                },
                None => false,
            }
        }
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        _ => false,
    }
}

fn ordered(ordering: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
