//! What-if: the violations that granting some entitlements would open.

use super::{ChangeError, Engine};
use crate::catalogue::EntitlementId;
use crate::dataset::IdentityKey;
use crate::eval::{AccountView, Overlay, Scratch, evidence, violated};
use crate::interval::{Bounded, Interval};
use crate::report::{Violation, build_violation, sort_violations};
use crate::rules::split_reference;
use serde::{Deserialize, Serialize};

/// Which account would receive a simulated grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// This account id, in the entitlement's system; it must count for the
    /// identity simulated.
    Account(String),
    /// The identity's active account in the entitlement's system; when a
    /// person has none, a new human account of theirs there (rendered
    /// `<system>:(new account)`). Several accounts: name one instead.
    System,
}

/// One simulated grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addition {
    /// `system:entitlement`; need not be in the catalogue yet.
    pub entitlement: String,
    pub holder: Holder,
    #[serde(default)]
    pub interval: Interval,
}

/// Labels at and above this are hypothetical new accounts, one per system.
const NEW_ACCOUNT: u32 = u32::MAX / 2;

enum Target {
    Existing(u32),
    New,
}

impl Engine {
    /// The violations `additions` would open for `identity` (a person id, or
    /// `account:<system>:<account>`) at the engine's current instant, with
    /// evidence; violations it already has are not repeated. Changes nothing.
    /// A person unknown to the engine is simulated as someone with no access.
    pub fn simulate(
        &self,
        identity: &str,
        additions: &[Addition],
    ) -> Result<Vec<Violation>, ChangeError> {
        let (id, is_person) = self.simulated_identity(identity)?;
        let mut views = Vec::new();
        if let Some(id) = id {
            self.views(id, &mut views);
        }
        let mut overlay = Overlay {
            compiled: &self.compiled,
            base: self.catalogue.len(),
            extra: Vec::new(),
        };
        let mut new_names: Vec<String> = Vec::new();
        let mut new_systems: Vec<String> = Vec::new();
        let mut extra: Vec<(u32, Bounded)> = Vec::new();
        for addition in additions {
            let (system, entitlement) = split_reference(&addition.entitlement)?;
            if addition.interval.is_empty() {
                return Err(ChangeError::EmptyInterval {
                    entitlement: addition.entitlement.clone(),
                    from: addition.interval.from.unwrap_or(i64::MIN),
                    to: addition.interval.to.unwrap_or(i64::MAX),
                });
            }
            let ent = self.catalogue.get(system, entitlement).unwrap_or_else(|| {
                let at = new_names.iter().position(|n| *n == addition.entitlement);
                let at = at.unwrap_or_else(|| {
                    new_names.push(addition.entitlement.clone());
                    overlay
                        .extra
                        .push(self.compiled.postings_for_new(system, entitlement));
                    new_names.len() - 1
                });
                (overlay.base + at) as EntitlementId
            });
            let label =
                match self.target(identity, id, is_person, system, &addition.holder, &views)? {
                    Target::Existing(a) => a,
                    Target::New => {
                        let at =
                            new_systems
                                .iter()
                                .position(|s| s == system)
                                .unwrap_or_else(|| {
                                    new_systems.push(system.to_owned());
                                    new_systems.len() - 1
                                });
                        NEW_ACCOUNT + at as u32
                    }
                };
            extra.push((label, addition.interval.bounded(ent)));
        }
        extra.sort_unstable();
        let extra_of = |label: u32| {
            let from = extra.partition_point(|(l, _)| *l < label);
            let to = extra.partition_point(|(l, _)| *l <= label);
            extra.get(from..to).unwrap_or(&[])
        };
        let grants: Vec<Vec<Bounded>> = views
            .iter()
            .map(|v| extra_of(v.label).iter().map(|(_, b)| *b).collect())
            .chain((0..new_systems.len()).map(|i| {
                extra_of(NEW_ACCOUNT + i as u32)
                    .iter()
                    .map(|(_, b)| *b)
                    .collect()
            }))
            .collect();
        let mut all: Vec<AccountView<'_>> = views
            .iter()
            .zip(&grants)
            .map(|(v, g)| AccountView { extra: g, ..*v })
            .collect();
        for (i, g) in grants.iter().enumerate().skip(views.len()) {
            all.push(AccountView {
                label: NEW_ACCOUNT + (i - views.len()) as u32,
                unbounded: &[],
                bounded: &[],
                extra: g,
            });
        }
        let before = id
            .and_then(|id| self.identities.get(id as usize))
            .map_or(&[][..], |s| s.violated.as_slice());
        let mut scratch = Scratch::new(&self.compiled);
        let after = violated(&self.compiled, &overlay, &mut scratch, &all, self.now).to_vec();
        let name = match id {
            Some(id) => self.identity_name(id),
            None => identity.to_owned(),
        };
        let mut out: Vec<Violation> = after
            .into_iter()
            .filter(|r| !before.contains(r))
            .map(|risk| {
                let raw = evidence(&self.compiled, &overlay, &all, self.now, risk);
                build_violation(
                    &self.compiled,
                    risk,
                    name.clone(),
                    raw,
                    |e| match (e as usize).checked_sub(overlay.base) {
                        Some(i) => new_names.get(i).cloned().unwrap_or_default(),
                        None => self.catalogue.reference(e),
                    },
                    |label| match label.checked_sub(NEW_ACCOUNT) {
                        Some(i) => new_systems
                            .get(i as usize)
                            .map_or_else(String::new, |s| format!("{s}:(new account)")),
                        None => self.account_label(label),
                    },
                )
            })
            .collect();
        sort_violations(&mut out);
        Ok(out)
    }

    /// The identity named, if known, and whether it is a person.
    fn simulated_identity(&self, identity: &str) -> Result<(Option<u32>, bool), ChangeError> {
        if let Some(id) = self.identity_of(identity) {
            let is_person = matches!(
                self.identities.get(id as usize).map(|s| s.key),
                Some(IdentityKey::Person(_))
            );
            return Ok((Some(id), is_person));
        }
        if let Some((system, account)) = identity
            .strip_prefix("account:")
            .and_then(|r| r.split_once(':'))
            && let Some(a) = self.account(system, account)
            && let Some(acc) = self.accounts.get(a as usize)
        {
            let person = acc
                .person
                .map(|p| self.people.name(p).to_owned())
                .unwrap_or_default();
            return Err(ChangeError::AccountOfPerson {
                account: format!("{system}:{account}"),
                person,
            });
        }
        Ok((None, true))
    }

    fn target(
        &self,
        identity: &str,
        id: Option<u32>,
        is_person: bool,
        system: &str,
        holder: &Holder,
        views: &[AccountView<'_>],
    ) -> Result<Target, ChangeError> {
        match holder {
            Holder::Account(account) => {
                let a = self.account(system, account);
                let state = a.and_then(|a| self.accounts.get(a as usize));
                match (a, state) {
                    (Some(a), Some(s)) if id == Some(s.identity) => Ok(Target::Existing(a)),
                    _ => Err(ChangeError::NotTheIdentitysAccount {
                        account: format!("{system}:{account}"),
                        identity: identity.to_owned(),
                    }),
                }
            }
            Holder::System => {
                let sys = self.catalogue.system_id(system);
                let mine: Vec<u32> = views
                    .iter()
                    .map(|v| v.label)
                    .filter(|&a| {
                        sys.is_some() && self.accounts.get(a as usize).map(|s| s.system) == sys
                    })
                    .collect();
                match mine.as_slice() {
                    [one] => Ok(Target::Existing(*one)),
                    [] if is_person => Ok(Target::New),
                    [] => Err(ChangeError::NoAccountInSystem {
                        identity: identity.to_owned(),
                        system: system.to_owned(),
                    }),
                    many => Err(ChangeError::AmbiguousAccount {
                        identity: identity.to_owned(),
                        system: system.to_owned(),
                        accounts: many.iter().map(|&a| self.account_label(a)).collect(),
                    }),
                }
            }
        }
    }
}
