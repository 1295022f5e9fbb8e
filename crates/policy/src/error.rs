//! Problems in a policies document: each says where it is (line, column
//! and key path) and what to write instead.

use std::fmt;

/// Where something is in the document. `line` and `column` are 1-based
/// (columns count characters); 0 when unknown. `path` is the TOML key path,
/// such as `access[2].approvers[0]`, or `cedar` for the Cedar text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub line: usize,
    pub column: usize,
    pub path: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.path.is_empty()) {
            (0, true) => f.write_str("the document"),
            (0, false) => f.write_str(&self.path),
            (_, true) => write!(f, "line {}, column {}", self.line, self.column),
            (_, false) => write!(
                f,
                "line {}, column {}, {}",
                self.line, self.column, self.path
            ),
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    BadDuration(String),
    #[error(
        "unknown approver '{0}'; use entitlement_owner, system_owner, role_owner, manager, \
         beneficiary_manager, group:NAME or person:ID (join several with | to take the first that names someone)"
    )]
    UnknownApprover(String),
    #[error("group '{0}' is not defined; add it under [groups] or fix the name")]
    UnknownGroup(String),
    #[error(
        "'{0}' is not a usable person id; write the id as the inventory has it, without spaces"
    )]
    BadPersonId(String),
    #[error("'{0}' is not a usable group name; use letters, digits, '-', '_' and '.'")]
    BadGroupName(String),
    #[error("{section} rule has an empty id; give every [[{section}]] a unique id")]
    EmptyId { section: &'static str },
    #[error("{section} rule '{id}' is defined more than once; rule ids must be unique")]
    DuplicateRule { section: &'static str, id: String },
    #[error("{0}")]
    BadMatcher(String),
    #[error("{what} = {value}; it must be between 1 and {max}")]
    BadCount {
        what: &'static str,
        value: i64,
        max: u32,
    },
    #[error("approvers is empty; name at least one approver")]
    NoApprovers,
    #[error(
        "count = {count} but these approvers name at most {most} distinct people; \
         add people (a group:NAME with enough members) or lower count"
    )]
    TooFewApprovers { count: u32, most: usize },
    #[error("{0}")]
    Cedar(String),
    #[error("[break_glass] {0}")]
    BreakGlass(String),
    #[error("[gate] {0}")]
    Gate(String),
    #[error("[[pipeline]] {0}")]
    Pipeline(String),
}

/// One problem and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct PolicyError {
    pub place: Place,
    pub problem: Problem,
}

/// Something legal but probably not what was meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct Warning {
    pub place: Place,
    pub message: String,
}

/// Every error of a document, one per line: for a command's output.
pub fn render_errors(errors: &[PolicyError]) -> String {
    match errors {
        [one] => format!("invalid policies: {one}"),
        many => {
            let mut out = format!("invalid policies ({} errors):", many.len());
            for e in many {
                out.push_str("\n  - ");
                out.push_str(&e.to_string());
            }
            out
        }
    }
}
