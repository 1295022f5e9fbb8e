//! Checking identities: re-checks after a change, the current violations,
//! and the names evidence is rendered with.

use super::{Delta, Engine, Resolved};
use crate::compile::{Compiled, Warning};
use crate::dataset::{IdentityKey, account_identity, account_label};
use crate::eval::{AccountView, Scratch, evidence, violated};
use crate::hash::dense_id;
use crate::report::{Violation, build_violation, sort_violations};
use crate::rules::RuleSet;

const NONE: u32 = u32::MAX;

impl Engine {
    /// Replaces the rules and re-checks everyone.
    pub fn set_rules(&mut self, rules: &RuleSet) -> (Delta, Vec<Warning>) {
        let (compiled, warnings) = Compiled::compile(rules, &self.catalogue);
        // Risk indexes change meaning: report through ids, then restart.
        let before = self.violations();
        self.compiled = compiled;
        self.scratch = Scratch::new(&self.compiled);
        let mut scratch = std::mem::take(&mut self.scratch);
        let found: Vec<Vec<u32>> = (0..self.identities.len())
            .map(|i| {
                let mut views = Vec::new();
                self.views(dense_id(i), &mut views);
                violated(
                    &self.compiled,
                    &self.compiled,
                    &mut scratch,
                    &views,
                    self.now,
                )
                .to_vec()
            })
            .collect();
        self.scratch = scratch;
        for (identity, risks) in self.identities.iter_mut().zip(found) {
            identity.violated = risks;
        }
        let after = self.violations();
        let key = |v: &Violation| (v.risk_id.clone(), v.identity.clone());
        let old: std::collections::BTreeSet<_> = before.iter().map(key).collect();
        let new: std::collections::BTreeSet<_> = after.iter().map(key).collect();
        let delta = Delta {
            opened: after
                .into_iter()
                .filter(|v| !old.contains(&key(v)))
                .collect(),
            resolved: old
                .difference(&new)
                .map(|(risk_id, identity)| Resolved {
                    risk_id: risk_id.clone(),
                    identity: identity.clone(),
                })
                .collect(),
        };
        (delta, warnings)
    }

    /// Every current violation, with evidence, sorted by (risk id, identity).
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut views = Vec::new();
        for (i, identity) in self.identities.iter().enumerate() {
            if identity.violated.is_empty() {
                continue;
            }
            self.views(dense_id(i), &mut views);
            for &risk in &identity.violated {
                out.push(self.violation(dense_id(i), &views, risk));
            }
        }
        sort_violations(&mut out);
        out
    }

    pub(super) fn violation(
        &self,
        identity: u32,
        views: &[AccountView<'_>],
        risk: u32,
    ) -> Violation {
        let raw = evidence(&self.compiled, &self.compiled, views, self.now, risk);
        build_violation(
            &self.compiled,
            risk,
            self.identity_name(identity),
            raw,
            |e| self.catalogue.reference(e),
            |a| self.account_label(a),
        )
    }

    /// Re-checks these identities (a bench harness can time this directly).
    pub fn recheck(&mut self, identities: &[u32]) -> Delta {
        let mut ids = identities.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut delta = Delta::default();
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut updates = Vec::new();
        let mut views = Vec::new();
        for id in ids {
            let Some(state) = self.identities.get(id as usize) else {
                continue;
            };
            self.views(id, &mut views);
            let now = violated(
                &self.compiled,
                &self.compiled,
                &mut scratch,
                &views,
                self.now,
            );
            if state.violated.as_slice() == now {
                continue;
            }
            let now = now.to_vec();
            for &r in now.iter().filter(|r| !state.violated.contains(r)) {
                delta.opened.push(self.violation(id, &views, r));
            }
            for &r in state.violated.iter().filter(|r| !now.contains(r)) {
                delta.resolved.push(Resolved {
                    risk_id: self.compiled.risks[r as usize].id.clone(),
                    identity: self.identity_name(id),
                });
            }
            updates.push((id, now));
        }
        drop(views);
        self.scratch = scratch;
        for (id, now) in updates {
            if let Some(state) = self.identities.get_mut(id as usize) {
                state.violated = now;
            }
        }
        sort_violations(&mut delta.opened);
        delta.resolved.sort();
        delta
    }

    /// The identity (dense id) a person or `account:<system>:<account>` name
    /// stands for, if the engine knows it.
    pub fn identity_of(&self, name: &str) -> Option<u32> {
        if let Some(p) = self.people.get(name)
            && let Some(&id) = self.person_identity.get(p as usize)
            && id != NONE
        {
            return Some(id);
        }
        let (system, account) = name.strip_prefix("account:")?.split_once(':')?;
        let a = self.account(system, account)?;
        let state = self.accounts.get(a as usize)?;
        state.own_identity.filter(|&id| id == state.identity)
    }

    pub(super) fn identity_name(&self, identity: u32) -> String {
        match self.identities.get(identity as usize).map(|i| i.key) {
            Some(IdentityKey::Person(p)) => self.people.name(p).to_owned(),
            Some(IdentityKey::Account(a)) => {
                self.accounts.get(a as usize).map_or_else(String::new, |s| {
                    account_identity(&self.catalogue, s.system, &s.name)
                })
            }
            None => String::new(),
        }
    }

    pub(super) fn account_label(&self, account: u32) -> String {
        self.accounts
            .get(account as usize)
            .map_or_else(String::new, |s| {
                account_label(&self.catalogue, s.system, &s.name)
            })
    }

    /// The active accounts of an identity.
    pub(super) fn views<'e>(&'e self, identity: u32, out: &mut Vec<AccountView<'e>>) {
        out.clear();
        let Some(state) = self.identities.get(identity as usize) else {
            return;
        };
        for &a in &state.accounts {
            if let Some(acc) = self.accounts.get(a as usize).filter(|acc| acc.active) {
                out.push(AccountView {
                    label: a,
                    unbounded: &acc.unbounded,
                    bounded: &acc.bounded,
                    extra: &[],
                });
            }
        }
    }
}
