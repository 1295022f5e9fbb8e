//! Rule file errors: each says what is wrong, where, and what to write instead.

use super::item::RefError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("a {kind} has an empty id; give every [[{kind}]] a non-empty id")]
    EmptyId { kind: &'static str },
    #[error("function '{id}' is defined more than once; function ids must be unique")]
    DuplicateFunction { id: String },
    #[error("risk '{id}' is defined more than once; risk ids must be unique")]
    DuplicateRisk { id: String },
    #[error(
        "risk '{risk}' names function '{function}', which is not defined; add a [[function]] with id = \"{function}\" or fix the name"
    )]
    UnknownFunction { risk: String, function: String },
    #[error(
        "risk '{risk}' lists {distinct} distinct function(s); a conflict needs at least 2 distinct functions"
    )]
    TooFewFunctions { risk: String, distinct: usize },
    #[error("risk '{risk}' has severity '{value}'; use one of low, medium, high, critical")]
    BadSeverity { risk: String, value: String },
    #[error("function '{function}' has no entitlements; list at least one \"system:entitlement\"")]
    EmptyEntitlements { function: String },
    #[error("function '{function}': {problem}")]
    MalformedReference { function: String, problem: RefError },
    #[error("function '{function}' has an empty all-of group; list at least one member")]
    EmptyGroup { function: String },
    #[error(
        "function '{function}': all-of group {group} spans systems {}; one account must hold every member, so list members of one system only",
        systems.join(", ")
    )]
    MixedSystems {
        function: String,
        group: String,
        systems: Vec<String>,
    },
}

/// Every problem found in a rule file, in file order per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl RuleErrors {
    pub fn iter(&self) -> impl Iterator<Item = &RuleError> {
        self.0.iter()
    }
}

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "invalid rules: {one}"),
            many => {
                write!(f, "invalid rules ({} errors):", many.len())?;
                for e in many {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RuleErrors {}
