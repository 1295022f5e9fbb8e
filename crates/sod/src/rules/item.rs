//! What a function is made of: references, patterns and all-of groups.

use super::error::RuleError;
use super::file::RawItem;
use crate::glob::wildcard_match;
use std::fmt;

/// `system_id:entitlement_id`, split at the first `:` so that entitlement ids
/// may themselves contain `:`. Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntitlementRef {
    system: String,
    entitlement: String,
}

/// Why a text is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("'{0}' has no ':'; write system_id:entitlement_id")]
    NoColon(String),
    #[error("'{0}' has an empty system part; write system_id:entitlement_id")]
    EmptySystem(String),
    #[error("'{0}' has an empty entitlement part; write system_id:entitlement_id")]
    EmptyEntitlement(String),
    #[error(
        "'{0}' has a wildcard in the system part; only the entitlement part may contain * or ?"
    )]
    GlobInSystem(String),
}

/// Splits `system:entitlement` and checks both sides; wildcards are allowed
/// in the entitlement part only.
pub(crate) fn split_reference(text: &str) -> Result<(&str, &str), RefError> {
    let (system, entitlement) = text
        .split_once(':')
        .ok_or_else(|| RefError::NoColon(text.to_owned()))?;
    if system.is_empty() {
        return Err(RefError::EmptySystem(text.to_owned()));
    }
    if entitlement.is_empty() {
        return Err(RefError::EmptyEntitlement(text.to_owned()));
    }
    if system.contains(['*', '?']) {
        return Err(RefError::GlobInSystem(text.to_owned()));
    }
    Ok((system, entitlement))
}

impl EntitlementRef {
    /// Parses `system:entitlement`. Wildcards in the entitlement part are
    /// taken literally here; rule files read them as [`Glob`]s instead.
    pub fn parse(text: &str) -> Result<Self, RefError> {
        let (system, entitlement) = split_reference(text)?;
        Ok(Self::new(system, entitlement))
    }

    pub fn new(system: impl Into<String>, entitlement: impl Into<String>) -> Self {
        Self {
            system: system.into(),
            entitlement: entitlement.into(),
        }
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn entitlement(&self) -> &str {
        &self.entitlement
    }
}

impl fmt::Display for EntitlementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.entitlement)
    }
}

/// A pattern over the entitlement ids of one system: `*` matches any run of
/// characters, `?` exactly one. The system part is literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Glob {
    system: String,
    pattern: String,
}

impl Glob {
    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether `entitlement` (an id of this glob's system) matches.
    pub fn matches(&self, entitlement: &str) -> bool {
        wildcard_match(&self.pattern, entitlement)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system, self.pattern)
    }
}

/// One member of an all-of group (or a whole item on its own).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    Ref(EntitlementRef),
    Glob(Glob),
}

impl Member {
    /// A reference, or a glob when the entitlement part has `*` or `?`.
    pub fn parse(text: &str) -> Result<Self, RefError> {
        let (system, entitlement) = split_reference(text)?;
        Ok(if entitlement.contains(['*', '?']) {
            Self::Glob(Glob {
                system: system.to_owned(),
                pattern: entitlement.to_owned(),
            })
        } else {
            Self::Ref(EntitlementRef::new(system, entitlement))
        })
    }

    pub fn system(&self) -> &str {
        match self {
            Self::Ref(r) => r.system(),
            Self::Glob(g) => g.system(),
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ref(r) => r.fmt(f),
            Self::Glob(g) => g.fmt(f),
        }
    }
}

/// One way to hold a function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// Holding this entitlement.
    Ref(EntitlementRef),
    /// Holding any entitlement of the system whose id matches.
    Glob(Glob),
    /// One account holding every member (all of one system).
    AllOf(Vec<Member>),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ref(r) => r.fmt(f),
            Self::Glob(g) => g.fmt(f),
            Self::AllOf(members) => {
                f.write_str("{ all = [")?;
                for (i, m) in members.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}\"{m}\"")?;
                }
                f.write_str("] }")
            }
        }
    }
}

/// A problem with one item, before we know which function it belongs to.
pub(crate) enum ItemProblem {
    Reference(RefError),
    EmptyGroup,
    MixedSystems { group: String, systems: Vec<String> },
}

impl ItemProblem {
    pub(crate) fn in_function(self, function: &str) -> RuleError {
        let function = function.to_owned();
        match self {
            Self::Reference(problem) => RuleError::MalformedReference { function, problem },
            Self::EmptyGroup => RuleError::EmptyGroup { function },
            Self::MixedSystems { group, systems } => RuleError::MixedSystems {
                function,
                group,
                systems,
            },
        }
    }
}

impl Item {
    pub(crate) fn from_raw(raw: RawItem) -> Result<Self, Vec<ItemProblem>> {
        match raw {
            RawItem::Text(text) => match Member::parse(&text) {
                Ok(Member::Ref(r)) => Ok(Self::Ref(r)),
                Ok(Member::Glob(g)) => Ok(Self::Glob(g)),
                Err(e) => Err(vec![ItemProblem::Reference(e)]),
            },
            RawItem::AllOf(texts) => {
                if texts.is_empty() {
                    return Err(vec![ItemProblem::EmptyGroup]);
                }
                let mut members = Vec::with_capacity(texts.len());
                let mut problems = Vec::new();
                for text in &texts {
                    match Member::parse(text) {
                        Ok(m) => members.push(m),
                        Err(e) => problems.push(ItemProblem::Reference(e)),
                    }
                }
                let mut systems: Vec<String> =
                    members.iter().map(|m| m.system().to_owned()).collect();
                systems.sort();
                systems.dedup();
                if systems.len() > 1 {
                    let group = Self::AllOf(members.clone()).to_string();
                    problems.push(ItemProblem::MixedSystems { group, systems });
                }
                if problems.is_empty() {
                    Ok(Self::AllOf(members))
                } else {
                    Err(problems)
                }
            }
        }
    }
}

impl From<&Item> for RawItem {
    fn from(item: &Item) -> Self {
        match item {
            Item::Ref(r) => Self::Text(r.to_string()),
            Item::Glob(g) => Self::Text(g.to_string()),
            Item::AllOf(members) => Self::AllOf(members.iter().map(ToString::to_string).collect()),
        }
    }
}
