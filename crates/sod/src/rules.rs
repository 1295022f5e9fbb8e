//! The rule file: business functions and the risks that combine them.
//!
//! [`RuleSet::parse`] reads the TOML form and validates it completely, so a
//! `RuleSet` value is always well formed: every risk names at least two
//! distinct defined functions, every reference has a system and an
//! entitlement part, every all-of group stays within one system. The JSON
//! form (serde) has the same shape as the TOML form, so a rule set stored in
//! the ledger reads back through the same validation.

mod error;
mod file;
mod item;

pub use error::{RuleError, RuleErrors};
pub(crate) use item::split_reference;
pub use item::{EntitlementRef, Glob, Item, Member, RefError};

use file::{RawFunction, RawItem, RawRisk, RuleFile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// How bad a violation of a risk is, the severity of findings too.
/// Ordered: `Low < Medium < High < Critical`.
pub use soxctl_model::finding::Severity;

/// A business function: held when an identity holds any one of its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub items: Vec<Item>,
}

/// A risk: violated by an identity that holds every one of its functions at
/// the same instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub id: String,
    pub name: Option<String>,
    pub severity: Severity,
    pub process: Option<String>,
    pub reason: Option<String>,
    pub description: Option<String>,
    /// Function ids as written; at least two distinct ones, all defined.
    pub functions: Vec<String>,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RuleFile", try_from = "RuleFile")]
pub struct RuleSet {
    pub functions: Vec<Function>,
    pub risks: Vec<Risk>,
}

impl RuleSet {
    /// Parses and validates a TOML rule file, reporting every problem found.
    pub fn parse(text: &str) -> Result<Self, RuleErrors> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((0, 0));
            RuleErrors(vec![RuleError::Syntax {
                line,
                column,
                message: e.message().trim_end().replace('\n', "; "),
            }])
        })?;
        Self::try_from(file)
    }

    /// The TOML form; [`RuleSet::parse`] of it gives back an equal rule set.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&RuleFile::from(self.clone()))
    }

    pub fn function(&self, id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.id == id)
    }

    pub fn risk(&self, id: &str) -> Option<&Risk> {
        self.risks.iter().find(|r| r.id == id)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

impl TryFrom<RuleFile> for RuleSet {
    type Error = RuleErrors;

    fn try_from(file: RuleFile) -> Result<Self, RuleErrors> {
        let mut errors = Vec::new();
        // Ids come from the raw file so that a function with a bad item is
        // still "defined" for the risks that name it: one mistake, one error.
        let mut defined = HashMap::new();
        for f in &file.function {
            if defined.insert(f.id.clone(), ()).is_some() {
                errors.push(RuleError::DuplicateFunction { id: f.id.clone() });
            }
        }
        let mut risk_ids = HashMap::new();
        for r in &file.risk {
            if risk_ids.insert(r.id.as_str(), ()).is_some() {
                errors.push(RuleError::DuplicateRisk { id: r.id.clone() });
            }
        }
        let functions: Vec<Function> = file
            .function
            .into_iter()
            .filter_map(|raw| validate_function(raw, &mut errors))
            .collect();
        let risks: Vec<Risk> = file
            .risk
            .into_iter()
            .filter_map(|raw| validate_risk(raw, &defined, &mut errors))
            .collect();
        if errors.is_empty() {
            Ok(Self { functions, risks })
        } else {
            Err(RuleErrors(errors))
        }
    }
}

fn validate_function(raw: RawFunction, errors: &mut Vec<RuleError>) -> Option<Function> {
    let before = errors.len();
    if raw.id.is_empty() {
        errors.push(RuleError::EmptyId { kind: "function" });
    }
    if raw.entitlements.is_empty() {
        errors.push(RuleError::EmptyEntitlements {
            function: raw.id.clone(),
        });
    }
    let mut items = Vec::with_capacity(raw.entitlements.len());
    for raw_item in raw.entitlements {
        match Item::from_raw(raw_item) {
            Ok(item) => items.push(item),
            Err(problems) => errors.extend(problems.into_iter().map(|p| p.in_function(&raw.id))),
        }
    }
    (errors.len() == before).then_some(Function {
        id: raw.id,
        name: raw.name,
        description: raw.description,
        items,
    })
}

fn validate_risk(
    raw: RawRisk,
    functions: &HashMap<String, ()>,
    errors: &mut Vec<RuleError>,
) -> Option<Risk> {
    let before = errors.len();
    if raw.id.is_empty() {
        errors.push(RuleError::EmptyId { kind: "risk" });
    }
    let severity = raw.severity.parse::<Severity>().ok();
    if severity.is_none() {
        errors.push(RuleError::BadSeverity {
            risk: raw.id.clone(),
            value: raw.severity.clone(),
        });
    }
    for function in &raw.functions {
        if !functions.contains_key(function) {
            errors.push(RuleError::UnknownFunction {
                risk: raw.id.clone(),
                function: function.clone(),
            });
        }
    }
    let distinct = raw.functions.iter().collect::<BTreeSet<_>>().len();
    if distinct < 2 {
        errors.push(RuleError::TooFewFunctions {
            risk: raw.id.clone(),
            distinct,
        });
    }
    match severity {
        Some(severity) if errors.len() == before => Some(Risk {
            id: raw.id,
            name: raw.name,
            severity,
            process: raw.process,
            reason: raw.reason,
            description: raw.description,
            functions: raw.functions,
        }),
        _ => None,
    }
}

impl From<RuleSet> for RuleFile {
    fn from(rules: RuleSet) -> Self {
        Self {
            function: rules
                .functions
                .into_iter()
                .map(|f| RawFunction {
                    id: f.id,
                    name: f.name,
                    description: f.description,
                    entitlements: f.items.iter().map(RawItem::from).collect(),
                })
                .collect(),
            risk: rules
                .risks
                .into_iter()
                .map(|r| RawRisk {
                    id: r.id,
                    name: r.name,
                    severity: r.severity.as_str().to_owned(),
                    process: r.process,
                    reason: r.reason,
                    description: r.description,
                    functions: r.functions,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
