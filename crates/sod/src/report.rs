//! Violations as callers see them: ids as text, evidence included, and the
//! one-line JSON form of the scenario corpus and the command line.

use crate::catalogue::EntitlementId;
use crate::compile::Compiled;
use crate::eval::RawEvidence;
use crate::rules::Severity;
use serde::{Deserialize, Serialize};

/// An identity holding every function of a risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub risk_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    pub severity: Severity,
    /// A person id, or `account:<system_id>:<account_id>`.
    pub identity: String,
    /// In the order the risk lists its functions.
    pub functions: Vec<FunctionEvidence>,
}

/// How the identity holds one function of the risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionEvidence {
    pub function_id: String,
    /// Sorted by entitlement, then account.
    pub held_by: Vec<Evidence>,
}

/// One grant that contributes: `system:entitlement` held by `system:account`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Evidence {
    pub entitlement: String,
    pub account: String,
}

/// A half-open span `[from, to)` of microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub from: i64,
    pub to: i64,
}

/// A risk violated at some instant of a window, and during which spans.
/// The evidence is the union over those spans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowViolation {
    pub violation: Violation,
    pub during: Vec<Span>,
}

/// The corpus line: `{"risk_id", "risk_name"?, "process"?, "person_id",
/// "severity", "functions": [{"function_id", "entitlements", "accounts"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationLine {
    pub risk_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    pub person_id: String,
    pub severity: Severity,
    pub functions: Vec<FunctionLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionLine {
    pub function_id: String,
    /// Distinct, sorted.
    pub entitlements: Vec<String>,
    /// Distinct, sorted.
    pub accounts: Vec<String>,
}

impl From<&Violation> for ViolationLine {
    fn from(v: &Violation) -> Self {
        Self {
            risk_id: v.risk_id.clone(),
            risk_name: v.risk_name.clone(),
            process: v.process.clone(),
            person_id: v.identity.clone(),
            severity: v.severity,
            functions: v
                .functions
                .iter()
                .map(|f| {
                    let mut entitlements: Vec<String> =
                        f.held_by.iter().map(|e| e.entitlement.clone()).collect();
                    let mut accounts: Vec<String> =
                        f.held_by.iter().map(|e| e.account.clone()).collect();
                    entitlements.sort();
                    entitlements.dedup();
                    accounts.sort();
                    accounts.dedup();
                    FunctionLine {
                        function_id: f.function_id.clone(),
                        entitlements,
                        accounts,
                    }
                })
                .collect(),
        }
    }
}

impl Violation {
    /// The corpus / command-line JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(&ViolationLine::from(self)).unwrap_or_default()
    }
}

/// Renders a violation from ids.
pub(crate) fn build_violation(
    c: &Compiled,
    risk: u32,
    identity: String,
    raw: RawEvidence,
    entitlement: impl Fn(EntitlementId) -> String,
    account: impl Fn(u32) -> String,
) -> Violation {
    let r = &c.risks[risk as usize];
    Violation {
        risk_id: r.id.clone(),
        risk_name: r.name.clone(),
        process: r.process.clone(),
        severity: r.severity,
        identity,
        functions: raw
            .into_iter()
            .map(|(f, pairs)| {
                let mut held_by: Vec<Evidence> = pairs
                    .into_iter()
                    .map(|(e, a)| Evidence {
                        entitlement: entitlement(e),
                        account: account(a),
                    })
                    .collect();
                held_by.sort();
                held_by.dedup();
                FunctionEvidence {
                    function_id: c.functions[f as usize].id.clone(),
                    held_by,
                }
            })
            .collect(),
    }
}

/// The documented output order: by risk id, then identity.
pub(crate) fn sort_violations(v: &mut [Violation]) {
    v.sort_unstable_by(|a, b| (&a.risk_id, &a.identity).cmp(&(&b.risk_id, &b.identity)));
}
