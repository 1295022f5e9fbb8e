//! A deliberately naive evaluator, straight from the semantics in the crate
//! docs: every identity × risk × function × item × grant, strings only, and
//! windows checked at every grant endpoint. Slow and obviously right; the
//! engine must agree with it.

use crate::dataset::AccountKind;
use crate::interval::Interval;
use crate::report::{Evidence, FunctionEvidence, Span, Violation, WindowViolation};
use crate::rules::{Item, Member, RuleSet};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactAccount {
    pub system: String,
    pub account: String,
    pub person: Option<String>,
    pub kind: AccountKind,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FactGrant {
    pub system: String,
    pub account: String,
    pub entitlement: String,
    pub interval: Interval,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub accounts: Vec<FactAccount>,
    pub grants: Vec<FactGrant>,
    pub as_of: Option<i64>,
}

impl Facts {
    fn identity(a: &FactAccount) -> Option<String> {
        if !a.active {
            return None;
        }
        match (&a.kind, a.person.as_deref()) {
            (AccountKind::Human, Some(p)) if !p.is_empty() => Some(p.to_owned()),
            _ => Some(format!("account:{}:{}", a.system, a.account)),
        }
    }

    /// (entitlement, grant) pairs of an account valid at `at`.
    fn held(&self, a: &FactAccount, at: Option<i64>) -> Vec<String> {
        self.grants
            .iter()
            .filter(|g| g.system == a.system && g.account == a.account)
            .filter(|g| at.is_none_or(|t| g.interval.contains(t)))
            .map(|g| g.entitlement.clone())
            .collect()
    }
}

fn member_matches(m: &Member, system: &str, entitlement: &str) -> bool {
    match m {
        Member::Ref(r) => r.system() == system && r.entitlement() == entitlement,
        Member::Glob(g) => g.system() == system && g.matches(entitlement),
    }
}

/// Pairs (entitlement, account) through which `accounts` hold function `f`.
fn function_evidence(
    facts: &Facts,
    rules: &RuleSet,
    f: &str,
    accounts: &[&FactAccount],
    at: Option<i64>,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let Some(function) = rules.function(f) else {
        return out;
    };
    for a in accounts {
        let held = facts.held(a, at);
        let label = format!("{}:{}", a.system, a.account);
        for item in &function.items {
            let members: Vec<Member> = match item {
                Item::Ref(r) => vec![Member::Ref(r.clone())],
                Item::Glob(g) => vec![Member::Glob(g.clone())],
                Item::AllOf(ms) => ms.clone(),
            };
            let all_of = matches!(item, Item::AllOf(_));
            let satisfied = !all_of
                || members
                    .iter()
                    .all(|m| held.iter().any(|e| member_matches(m, &a.system, e)));
            if !satisfied {
                continue;
            }
            for e in &held {
                if members.iter().any(|m| member_matches(m, &a.system, e)) {
                    out.insert((format!("{}:{e}", a.system), label.clone()));
                }
            }
        }
    }
    out
}

fn distinct_functions(functions: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in functions {
        if !out.contains(f) {
            out.push(f.clone());
        }
    }
    out
}

/// Per (risk, identity) violated at `at`: the per-function evidence.
fn violations_at(facts: &Facts, rules: &RuleSet, at: Option<i64>) -> Vec<Violation> {
    let identities: BTreeSet<String> = facts.accounts.iter().filter_map(Facts::identity).collect();
    let mut out = Vec::new();
    for risk in &rules.risks {
        for identity in &identities {
            let accounts: Vec<&FactAccount> = facts
                .accounts
                .iter()
                .filter(|a| Facts::identity(a).as_ref() == Some(identity))
                .collect();
            let functions: Vec<(String, BTreeSet<(String, String)>)> =
                distinct_functions(&risk.functions)
                    .into_iter()
                    .map(|f| {
                        let ev = function_evidence(facts, rules, &f, &accounts, at);
                        (f, ev)
                    })
                    .collect();
            if functions.iter().all(|(_, ev)| !ev.is_empty()) {
                out.push(Violation {
                    risk_id: risk.id.clone(),
                    risk_name: risk.name.clone(),
                    process: risk.process.clone(),
                    severity: risk.severity,
                    identity: identity.clone(),
                    functions: functions
                        .into_iter()
                        .map(|(function_id, ev)| FunctionEvidence {
                            function_id,
                            held_by: ev
                                .into_iter()
                                .map(|(entitlement, account)| Evidence {
                                    entitlement,
                                    account,
                                })
                                .collect(),
                        })
                        .collect(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.risk_id, &a.identity).cmp(&(&b.risk_id, &b.identity)));
    out
}

/// `When::Now`: at `as_of`, or every grant when there is none.
pub fn now(facts: &Facts, rules: &RuleSet) -> Vec<Violation> {
    violations_at(facts, rules, facts.as_of)
}

pub fn at(facts: &Facts, rules: &RuleSet, t: i64) -> Vec<Violation> {
    violations_at(facts, rules, Some(t))
}

pub fn window(facts: &Facts, rules: &RuleSet, from: i64, to: i64) -> Vec<WindowViolation> {
    let mut instants: BTreeSet<i64> = BTreeSet::from([from]);
    for g in &facts.grants {
        for edge in [g.interval.from, g.interval.to].into_iter().flatten() {
            if from < edge && edge < to {
                instants.insert(edge);
            }
        }
    }
    let instants: Vec<i64> = instants.into_iter().collect();
    let mut out: Vec<WindowViolation> = Vec::new();
    for (i, &t) in instants.iter().enumerate() {
        let end = instants.get(i + 1).copied().unwrap_or(to);
        for v in violations_at(facts, rules, Some(t)) {
            let existing = out
                .iter_mut()
                .find(|w| w.violation.risk_id == v.risk_id && w.violation.identity == v.identity);
            match existing {
                None => out.push(WindowViolation {
                    violation: v,
                    during: vec![Span { from: t, to: end }],
                }),
                Some(w) => {
                    match w.during.last_mut() {
                        Some(last) if last.to == t => last.to = end,
                        _ => w.during.push(Span { from: t, to: end }),
                    }
                    for (into, from) in w.violation.functions.iter_mut().zip(v.functions) {
                        into.held_by.extend(from.held_by);
                        into.held_by.sort();
                        into.held_by.dedup();
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.violation.risk_id, &a.violation.identity)
            .cmp(&(&b.violation.risk_id, &b.violation.identity))
    });
    out
}
