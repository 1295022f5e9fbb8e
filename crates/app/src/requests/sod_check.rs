//! SoD before anything is granted: the violations a request's access would
//! create for the person who would hold it, and whether an approver would
//! be put in conflict by holding it too.

use crate::error::{Result, WorkflowError};
use crate::requests::context::Context;
use soxctl_model::request::{AccessAsk, SodFlag};
use soxctl_model::time::Timestamp;

fn additions(ask: &AccessAsk) -> Vec<String> {
    ask.items
        .iter()
        .map(|i| format!("{}:{}", i.system_id, i.entitlement_id))
        .collect()
}

fn window(ctx: &Context, ask: &AccessAsk) -> (i64, i64) {
    let from = ctx.now.micros();
    let secs = i64::try_from(ask.duration_secs).unwrap_or(i64::MAX / 1_000_000);
    (from, from.saturating_add(secs.saturating_mul(1_000_000)))
}

fn simulate(ctx: &Context, identity: &str, ask: &AccessAsk) -> Result<Vec<soxctl_sod::Violation>> {
    let Some(rules) = &ctx.rules else {
        return Ok(Vec::new());
    };
    let (from, to) = window(ctx, ask);
    soxctl_detect::sod::simulate_window(rules, &ctx.inventory, identity, &additions(ask), from, to)
        .map_err(|e| {
            WorkflowError::Refused(format!(
                "the SoD check could not run ({e}); nothing is granted without it"
            ))
        })
}

/// The violations the access would create for its holder, each marked
/// mitigated when a mitigation in force covers it.
pub fn flags(ctx: &Context, ask: &AccessAsk) -> Result<Vec<SodFlag>> {
    let identity = ask.person_id.as_str();
    let mut flags: Vec<SodFlag> = simulate(ctx, identity, ask)?
        .into_iter()
        .map(|v| SodFlag {
            mitigated: mitigated(ctx, &v.risk_id, identity, ctx.now),
            severity: v.severity.as_str().to_owned(),
            risk_id: v.risk_id,
        })
        .collect();
    flags.sort_by(|a, b| a.risk_id.cmp(&b.risk_id));
    flags.dedup();
    Ok(flags)
}

fn mitigated(ctx: &Context, risk_id: &str, identity: &str, now: Timestamp) -> bool {
    ctx.mitigations
        .iter()
        .any(|m| m.risk_id == risk_id && m.identity == identity && m.active_at(now))
}

/// The worst severity among `flags`, in the policy's terms. Mitigated
/// risks count: a mitigation makes a conflict acceptable, not smaller, so a
/// critical one still needs the approvals a critical risk needs.
pub fn worst(flags: &[SodFlag]) -> Option<soxctl_policy::Severity> {
    use soxctl_policy::Severity as S;
    flags
        .iter()
        .filter_map(|f| match f.severity.as_str() {
            "low" => Some(S::Low),
            "medium" => Some(S::Medium),
            "high" => Some(S::High),
            "critical" => Some(S::Critical),
            _ => None,
        })
        .max()
}

/// The risks holding the requested access would put `approver` in: an
/// approver must not approve what would be a conflict in their own hands.
pub fn approver_conflicts(ctx: &Context, approver: &str, ask: &AccessAsk) -> Result<Vec<String>> {
    let mut risks: Vec<String> = simulate(ctx, approver, ask)?
        .into_iter()
        .map(|v| v.risk_id)
        .collect();
    risks.sort();
    risks.dedup();
    Ok(risks)
}
