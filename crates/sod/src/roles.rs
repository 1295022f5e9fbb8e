//! Roles that are a conflict on their own: whoever is given the role
//! violates the risk, whatever else they hold.
//!
//! A role is checked as one identity holding its entitlements with one
//! account per system, so an all-of group counts when the role's
//! entitlements of that system cover every member.

use crate::catalogue::{Catalogue, EntitlementId};
use crate::compile::Compiled;
use crate::eval::{AccountView, Overlay, Scratch, evidence, violated};
use crate::rules::{RefError, Severity, split_reference};
use serde::{Deserialize, Serialize};

/// A role and the entitlements it grants, as `system:entitlement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub entitlements: Vec<String>,
}

/// A risk a role satisfies by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleConflict {
    pub role_id: String,
    pub risk_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_name: Option<String>,
    pub severity: Severity,
    pub functions: Vec<RoleFunction>,
}

/// Which of the role's entitlements give one function of the risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleFunction {
    pub function_id: String,
    /// Sorted, distinct.
    pub entitlements: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role '{role}': entitlement {problem}")]
pub struct RoleError {
    pub role: String,
    pub problem: RefError,
}

/// The risks each role violates on its own, sorted by (role id, risk id).
/// Entitlements not in `catalogue` are matched against the rules as they
/// are (references and patterns alike).
pub fn role_conflicts(
    compiled: &Compiled,
    catalogue: &Catalogue,
    roles: &[Role],
) -> Result<Vec<RoleConflict>, RoleError> {
    let mut scratch = Scratch::new(compiled);
    let mut out = Vec::new();
    for role in roles {
        let mut overlay = Overlay {
            compiled,
            base: compiled.catalogue_len(),
            extra: Vec::new(),
        };
        let mut names: Vec<String> = Vec::new();
        // (system, entitlement id), one account per system.
        let mut held: Vec<(&str, EntitlementId)> = Vec::new();
        for text in &role.entitlements {
            let (system, entitlement) = split_reference(text).map_err(|problem| RoleError {
                role: role.id.clone(),
                problem,
            })?;
            let ent = match catalogue.get(system, entitlement) {
                Some(e) if (e as usize) < overlay.base => e,
                _ => {
                    overlay
                        .extra
                        .push(compiled.postings_for_new(system, entitlement));
                    (overlay.base + overlay.extra.len() - 1) as EntitlementId
                }
            };
            names.push(text.clone());
            held.push((system, ent));
        }
        let render = |e: EntitlementId| match (e as usize).checked_sub(overlay.base) {
            Some(_) => held
                .iter()
                .position(|(_, x)| *x == e)
                .and_then(|i| names.get(i).cloned())
                .unwrap_or_default(),
            None => catalogue.reference(e),
        };
        let mut systems: Vec<&str> = held.iter().map(|(s, _)| *s).collect();
        systems.sort_unstable();
        systems.dedup();
        let per_system: Vec<Vec<EntitlementId>> = systems
            .iter()
            .map(|sys| {
                let mut ents: Vec<EntitlementId> = held
                    .iter()
                    .filter(|(s, _)| s == sys)
                    .map(|(_, e)| *e)
                    .collect();
                ents.sort_unstable();
                ents.dedup();
                ents
            })
            .collect();
        let views: Vec<AccountView<'_>> = per_system
            .iter()
            .enumerate()
            .map(|(i, ents)| AccountView {
                label: i as u32,
                unbounded: ents,
                bounded: &[],
                extra: &[],
            })
            .collect();
        for &risk in &violated(compiled, &overlay, &mut scratch, &views, None).to_vec() {
            let r = &compiled.risks[risk as usize];
            let functions = evidence(compiled, &overlay, &views, None, risk)
                .into_iter()
                .map(|(f, pairs)| {
                    let mut entitlements: Vec<String> =
                        pairs.iter().map(|(e, _)| render(*e)).collect();
                    entitlements.sort();
                    entitlements.dedup();
                    RoleFunction {
                        function_id: compiled.functions[f as usize].id.clone(),
                        entitlements,
                    }
                })
                .collect();
            out.push(RoleConflict {
                role_id: role.id.clone(),
                risk_id: r.id.clone(),
                risk_name: r.name.clone(),
                severity: r.severity,
                functions,
            });
        }
    }
    out.sort_unstable_by(|a, b| (&a.role_id, &a.risk_id).cmp(&(&b.role_id, &b.risk_id)));
    Ok(out)
}
