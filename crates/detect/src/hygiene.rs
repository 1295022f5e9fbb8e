//! Access hygiene: the conditions auditors sample for first. Each detector
//! looks at one account (or one grant) at a time, so a caller can evaluate
//! everything or only what a change touched.

use crate::reconcile::Sighting;
use soxctl_model::finding::{Detail, Severity};
use soxctl_model::ids::{PersonId, SystemId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, GrantKey, GrantSource, Inventory, PersonStatus,
};
use soxctl_model::request::AccessGrantRow;
use soxctl_model::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub const LEAVER_ACCESS: &str = "leaver_access";
pub const ORPHAN_ACCOUNT: &str = "orphan_account";
pub const SHARED_PRIVILEGED: &str = "shared_privileged";
pub const PRIVILEGED_WITHOUT_MFA: &str = "privileged_without_mfa";
pub const DORMANT_ACCOUNT: &str = "dormant_account";
pub const DRIFT: &str = "drift";
pub const NHI_WITHOUT_OWNER: &str = "nhi_without_owner";
pub const NHI_OWNER_LEFT: &str = "nhi_owner_left";
pub const NHI_STALE_CREDENTIAL: &str = "nhi_stale_credential";
pub const UNCONFIRMED_REVOCATION: &str = "unconfirmed_revocation";

/// How long a revoked time-bound grant may still be seen when no import
/// of its system has run since (live sources such as SCIM push removals
/// within minutes; a day covers a pull that failed once).
pub const REVOCATION_GRACE_HOURS: i64 = 24;

/// Every kind these detectors own: findings of these kinds that are no
/// longer seen are resolved.
pub const KINDS: &[&str] = &[
    LEAVER_ACCESS,
    ORPHAN_ACCOUNT,
    SHARED_PRIVILEGED,
    PRIVILEGED_WITHOUT_MFA,
    DORMANT_ACCOUNT,
    DRIFT,
    NHI_WITHOUT_OWNER,
    NHI_OWNER_LEFT,
    NHI_STALE_CREDENTIAL,
    UNCONFIRMED_REVOCATION,
];

/// The control each kind is evidence for, until the control matrix (the
/// controls issue) maps them.
fn controls(kind: &str) -> Vec<String> {
    let id = match kind {
        LEAVER_ACCESS => "AC-TERMINATION",
        ORPHAN_ACCOUNT => "AC-ORPHANS",
        SHARED_PRIVILEGED | PRIVILEGED_WITHOUT_MFA => "AC-PRIVILEGED",
        DORMANT_ACCOUNT => "AC-DORMANT",
        DRIFT | UNCONFIRMED_REVOCATION => "AC-PROVISIONING",
        _ => "AC-NONHUMAN",
    };
    vec![id.to_owned()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// An active account not used for this many days is dormant.
    pub unused_days: i64,
    /// A service or shared credential older than this must be rotated.
    pub rotation_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            unused_days: 90,
            rotation_days: 90,
        }
    }
}

/// What the detectors read.
pub struct Facts<'a> {
    pub inventory: &'a Inventory,
    /// The grants of baselined systems that their system's baseline
    /// import did not observe: the import that first observed the grant
    /// (opened its current interval) is another one, or none (a SCIM push,
    /// the command line). Only these can be drift; see [`unbaselined`].
    /// (A set of the exceptions, not a map of every grant's import: after
    /// a first import of a million grants it is empty.)
    pub unbaselined: &'a HashSet<GrantKey>,
    /// Each baselined system's baseline import: its grants are authorised
    /// pending certification by an access review.
    pub baselines: &'a BTreeMap<SystemId, String>,
    /// Time-bound grants from approved requests and break-glass: in force,
    /// they authorise the observed grant; ended, the grant must go.
    pub time_bound: &'a [AccessGrantRow],
    /// When each system's last import or sync completed.
    pub last_imports: &'a BTreeMap<SystemId, Timestamp>,
    /// Systems whose state the running import observed just now (an
    /// unchanged snapshot records no import, but it did look).
    pub observed: &'a BTreeSet<SystemId>,
    /// When each system's state was observed: the extraction time of the
    /// snapshot last imported for it. Idleness and credential age are
    /// measured at that time — what the data says, not what the clock adds
    /// to it — so a finding does not appear merely because time passed
    /// since an import. Systems not in it (pushed over SCIM, never
    /// imported) are observed now.
    pub observed_at: &'a BTreeMap<SystemId, Timestamp>,
    pub now: Timestamp,
}

/// [`Facts::unbaselined`] from the import that first observed each grant
/// (absent: none did).
pub fn unbaselined(
    inventory: &Inventory,
    grant_imports: &HashMap<GrantKey, String>,
    baselines: &BTreeMap<SystemId, String>,
) -> HashSet<GrantKey> {
    inventory
        .grants
        .keys()
        .filter(|key| {
            baselines
                .get(&key.0)
                .is_some_and(|baseline| grant_imports.get(*key) != Some(baseline))
        })
        .cloned()
        .collect()
}

fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_datetime() - from.as_datetime()).num_days()
}

fn account_subject(a: &Account) -> String {
    format!("account:{}:{}", a.system_id, a.account_id)
}

fn bump(severity: Severity, privileged: bool) -> Severity {
    match (severity, privileged) {
        (Severity::Low, true) => Severity::Medium,
        (Severity::Medium, true) => Severity::High,
        (Severity::High, true) => Severity::Critical,
        (s, _) => s,
    }
}

struct Context<'a> {
    facts: &'a Facts<'a>,
    policy: &'a Policy,
    privileged: BTreeSet<(&'a SystemId, &'a soxctl_model::ids::AccountId)>,
    out: Vec<Sighting>,
    /// The observation time of what is being judged (see [`Facts::observed_at`]).
    seen_at: Option<Timestamp>,
}

impl<'a> Context<'a> {
    /// When `system`'s state was observed, never later than now.
    fn observed_at(&self, system: &SystemId) -> Timestamp {
        self.facts
            .observed_at
            .get(system)
            .map_or(self.facts.now, |t| (*t).min(self.facts.now))
    }

    fn see(
        &mut self,
        kind: &'static str,
        subject: String,
        severity: Severity,
        owner_id: Option<PersonId>,
        summary: String,
        detail: &[(&str, String)],
    ) {
        self.out.push(Sighting {
            kind,
            subject,
            severity,
            summary,
            detail: detail
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<Detail>(),
            owner_id,
            control_ids: controls(kind),
            seen_at: self.seen_at,
        });
    }

    fn system_owner(&self, system: &SystemId) -> Option<PersonId> {
        self.facts
            .inventory
            .systems
            .get(system)
            .and_then(|s| s.owner_id.clone())
    }

    fn account(&mut self, a: &'a Account) {
        if a.status != AccountStatus::Active {
            return;
        }
        let inv = self.facts.inventory;
        let now = self.observed_at(&a.system_id);
        self.seen_at = Some(now);
        let privileged = self.privileged.contains(&(&a.system_id, &a.account_id));
        let subject = account_subject(a);
        let owner = self.system_owner(&a.system_id);
        let base = [
            ("system_id", a.system_id.to_string()),
            ("account_id", a.account_id.to_string()),
            ("privileged", privileged.to_string()),
        ];
        let person = a.person_id.as_ref().and_then(|p| inv.people.get(p));
        if a.kind == AccountKind::Human {
            match person {
                None => self.see(
                    ORPHAN_ACCOUNT,
                    subject.clone(),
                    bump(Severity::Medium, privileged),
                    owner.clone(),
                    format!("active human account {subject} belongs to no known person"),
                    &base,
                ),
                Some(p) if p.status != PersonStatus::Active => {
                    let severity = match p.status {
                        PersonStatus::Terminated => Severity::High,
                        _ => Severity::Medium,
                    };
                    let mut detail = base.to_vec();
                    detail.push(("person_id", p.person_id.to_string()));
                    detail.push(("person_status", p.status.to_string()));
                    if let Some(date) = p.termination_date {
                        detail.push(("termination_date", date.to_string()));
                    }
                    self.see(
                        LEAVER_ACCESS,
                        subject.clone(),
                        bump(severity, privileged),
                        owner.clone(),
                        format!(
                            "{} person {} still has active account {subject}",
                            p.status, p.person_id
                        ),
                        &detail,
                    );
                }
                Some(_) => {}
            }
        }
        if a.kind == AccountKind::Shared && privileged {
            self.see(
                SHARED_PRIVILEGED,
                subject.clone(),
                Severity::High,
                owner.clone(),
                format!("shared account {subject} holds privileged entitlements"),
                &base,
            );
        }
        if privileged && a.kind != AccountKind::Service && a.mfa == Some(false) {
            self.see(
                PRIVILEGED_WITHOUT_MFA,
                subject.clone(),
                Severity::High,
                owner.clone(),
                format!("privileged account {subject} has no MFA"),
                &base,
            );
        }
        if let Some(last) = a.last_login {
            let idle = days_between(last, now);
            if idle > self.policy.unused_days {
                let mut detail = base.to_vec();
                detail.push(("last_login", last.to_canonical()));
                self.see(
                    DORMANT_ACCOUNT,
                    subject.clone(),
                    bump(Severity::Low, privileged),
                    owner.clone(),
                    format!(
                        "account {subject} unused since {} (more than {} days)",
                        last.to_canonical(),
                        self.policy.unused_days
                    ),
                    &detail,
                );
            }
        }
        if a.kind != AccountKind::Human {
            self.non_human(a, privileged, &subject, owner, &base);
        }
    }

    fn non_human(
        &mut self,
        a: &Account,
        privileged: bool,
        subject: &str,
        system_owner: Option<PersonId>,
        base: &[(&str, String)],
    ) {
        let inv = self.facts.inventory;
        match &a.owner_id {
            None => self.see(
                NHI_WITHOUT_OWNER,
                subject.to_owned(),
                bump(Severity::Medium, privileged),
                system_owner.clone(),
                format!("{} account {subject} has no owner", a.kind),
                base,
            ),
            Some(owner) => {
                let left = inv
                    .people
                    .get(owner)
                    .is_none_or(|p| p.status == PersonStatus::Terminated);
                if left {
                    let mut detail = base.to_vec();
                    detail.push(("owner_id", owner.to_string()));
                    self.see(
                        NHI_OWNER_LEFT,
                        subject.to_owned(),
                        Severity::High,
                        system_owner.clone(),
                        format!(
                            "{} account {subject} is owned by {owner}, who has left",
                            a.kind
                        ),
                        &detail,
                    );
                }
            }
        }
        if let Some(rotated) = a.credential_rotated_at {
            let age = days_between(rotated, self.observed_at(&a.system_id));
            if age > self.policy.rotation_days {
                let mut detail = base.to_vec();
                detail.push(("credential_rotated_at", rotated.to_canonical()));
                self.see(
                    NHI_STALE_CREDENTIAL,
                    subject.to_owned(),
                    bump(Severity::Medium, privileged),
                    a.owner_id.clone().or(system_owner),
                    format!(
                        "credential of {} account {subject} last rotated {} (policy: {} days)",
                        a.kind,
                        rotated.to_canonical(),
                        self.policy.rotation_days
                    ),
                    &detail,
                );
            }
        }
    }

    /// Ended time-bound grants the system still reports: seen by an import
    /// after the revocation, or still there a day later.
    fn unconfirmed_revocations(&mut self) {
        let inv = self.facts.inventory;
        for t in self.facts.time_bound {
            let Some(ended) = t.ended_at else {
                continue;
            };
            let key = (
                t.system_id.clone(),
                t.account_id.clone(),
                t.entitlement_id.clone(),
            );
            if !inv.grants.contains_key(&key) {
                continue;
            }
            // Held again under another time-bound grant: authorised.
            if self.facts.time_bound.iter().any(|o| {
                o.active_at(self.facts.now)
                    && (&o.system_id, &o.account_id, &o.entitlement_id) == (&key.0, &key.1, &key.2)
            }) {
                continue;
            }
            let imported_since = self
                .facts
                .last_imports
                .get(&t.system_id)
                .is_some_and(|at| *at > ended)
                || (self.facts.observed.contains(&t.system_id) && ended <= self.facts.now);
            let overdue = (self.facts.now.as_datetime() - ended.as_datetime()).num_hours()
                >= REVOCATION_GRACE_HOURS;
            if !(imported_since || overdue) {
                continue;
            }
            let owner = inv
                .entitlements
                .get(&(t.system_id.clone(), t.entitlement_id.clone()))
                .and_then(|e| e.owner_id.clone())
                .or_else(|| self.system_owner(&t.system_id));
            self.see(
                UNCONFIRMED_REVOCATION,
                format!("access:{}", t.grant_id),
                Severity::High,
                owner,
                format!(
                    "{}:{} on {}:{} was revoked at {ended} but {} still reports it",
                    t.system_id, t.entitlement_id, t.system_id, t.account_id, t.system_id
                ),
                &[
                    ("grant_id", t.grant_id.to_string()),
                    ("request_id", t.request_id.to_string()),
                    ("person_id", t.person_id.to_string()),
                    ("revoked_at", ended.to_string()),
                ],
            );
        }
    }

    /// Observed grants with no authorisation: not in the system's baseline
    /// and not given by a role that contains the entitlement.
    fn drift(&mut self) {
        let inv = self.facts.inventory;
        for (key, g) in &inv.grants {
            if !self.facts.baselines.contains_key(&g.system_id)
                || !self.facts.unbaselined.contains(key)
            {
                continue;
            }
            if self.facts.time_bound.iter().any(|t| {
                t.active_at(self.facts.now)
                    && t.system_id == g.system_id
                    && t.account_id == g.account_id
                    && t.entitlement_id == g.entitlement_id
            }) {
                continue;
            }
            if let GrantSource::Role(role) = &g.source
                && inv.role_entitlements.contains_key(&(
                    role.clone(),
                    g.system_id.clone(),
                    g.entitlement_id.clone(),
                ))
            {
                continue;
            }
            let privileged = inv
                .entitlements
                .get(&(g.system_id.clone(), g.entitlement_id.clone()))
                .is_some_and(|e| e.privileged);
            let owner = inv
                .entitlements
                .get(&(g.system_id.clone(), g.entitlement_id.clone()))
                .and_then(|e| e.owner_id.clone())
                .or_else(|| self.system_owner(&g.system_id));
            let subject = format!(
                "grant:{}:{}:{}",
                g.system_id, g.account_id, g.entitlement_id
            );
            self.seen_at = Some(self.observed_at(&g.system_id));
            self.see(
                DRIFT,
                subject,
                bump(Severity::Medium, privileged),
                owner,
                format!(
                    "{}:{} granted to {}:{} outside the baseline, with no role or approved request",
                    g.system_id, g.entitlement_id, g.system_id, g.account_id
                ),
                &[
                    ("system_id", g.system_id.to_string()),
                    ("account_id", g.account_id.to_string()),
                    ("entitlement_id", g.entitlement_id.to_string()),
                    ("source", g.source.to_string()),
                    ("privileged", privileged.to_string()),
                ],
            );
        }
    }
}

/// Every hygiene condition in the inventory.
pub fn detect(facts: &Facts<'_>, policy: &Policy) -> Vec<Sighting> {
    let inv = facts.inventory;
    // The privileged entitlements by reference: looking each of a million
    // grants up in `entitlements` needed an owned key, two strings cloned
    // and dropped per grant.
    let privileged_entitlements: HashSet<(&SystemId, &soxctl_model::ids::EntitlementId)> = inv
        .entitlements
        .iter()
        .filter(|(_, e)| e.privileged)
        .map(|(key, _)| (&key.0, &key.1))
        .collect();
    let privileged = inv
        .grants
        .values()
        .filter(|g| privileged_entitlements.contains(&(&g.system_id, &g.entitlement_id)))
        .map(|g| (&g.system_id, &g.account_id))
        .collect();
    let mut ctx = Context {
        facts,
        policy,
        privileged,
        out: Vec::new(),
        seen_at: None,
    };
    for account in inv.accounts.values() {
        ctx.account(account);
    }
    ctx.drift();
    // Revocations are the ledger's, judged against the clock.
    ctx.seen_at = None;
    ctx.unconfirmed_revocations();
    ctx.out
}
