//! Accounts and grants, and the "normal" provisioning every person receives
//! from their roles. Findings are layered on afterwards by `plant.rs`.
//!
//! All collections are B-tree maps keyed like the output files, so iteration
//! (and therefore random draws made while iterating) is reproducible.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::DemoError;
use crate::org::{Org, Person, Status};
use crate::systems::{self, BASE_ROLE, DIRECT_GRANTS, LoginStyle, STRAY_VIEW_GRANTS};
use crate::timegen::{between, business_time, days, start_of};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Human,
    Service,
    Shared,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Human => "human",
            Kind::Service => "service",
            Kind::Shared => "shared",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub person: Option<usize>,
    pub kind: Kind,
    pub active: bool,
    pub last_login: Option<DateTime<Utc>>,
    pub mfa: Option<bool>,
    pub owner: Option<usize>,
    pub rotated: Option<DateTime<Utc>>,
    /// When the account was provisioned; lower bound for logins.
    pub created: DateTime<Utc>,
}

impl Account {
    pub(crate) fn human(person: usize, created: DateTime<Utc>) -> Self {
        Account {
            person: Some(person),
            kind: Kind::Human,
            active: true,
            last_login: None,
            mfa: Some(true),
            owner: None,
            rotated: None,
            created,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub granted_at: DateTime<Utc>,
    pub source: String,
}

pub(crate) type AccountKey = (&'static str, String);
pub(crate) type GrantKey = (&'static str, String, &'static str);

#[derive(Default)]
pub(crate) struct Access {
    pub accounts: BTreeMap<AccountKey, Account>,
    pub grants: BTreeMap<GrantKey, Grant>,
    /// The human account each person has in each system.
    pub by_person: BTreeMap<(usize, &'static str), String>,
}

/// The last instant a person can plausibly have been given access.
pub(crate) fn access_end(p: &Person, as_of: DateTime<Utc>) -> DateTime<Utc> {
    match p.termination {
        Some(t) => start_of(t).min(as_of) - TimeDelta::hours(1),
        None => as_of - TimeDelta::hours(1),
    }
}

pub(crate) fn account_id(p: &Person, style: LoginStyle) -> String {
    match style {
        LoginStyle::Short => p.login.clone(),
        LoginStyle::Upper => p.login.to_ascii_uppercase(),
        LoginStyle::Email => p.email.clone(),
        LoginStyle::Handle => format!("{}-exco", p.login),
    }
}

impl Access {
    /// The person's account in `system`, created at `at` if they had none.
    pub(crate) fn ensure_human(
        &mut self,
        org: &Org,
        person: usize,
        system: &'static str,
        at: DateTime<Utc>,
    ) -> Result<String, DemoError> {
        if let Some(id) = self.by_person.get(&(person, system)) {
            return Ok(id.clone());
        }
        let p = org
            .people
            .get(person)
            .ok_or_else(|| DemoError::Internal(format!("no person #{person}")))?;
        let spec = systems::system(system)
            .ok_or_else(|| DemoError::Internal(format!("unknown system {system}")))?;
        let id = account_id(p, spec.login);
        self.insert_account(system, id.clone(), Account::human(person, at))?;
        self.by_person.insert((person, system), id.clone());
        Ok(id)
    }

    pub(crate) fn insert_account(
        &mut self,
        system: &'static str,
        id: String,
        account: Account,
    ) -> Result<(), DemoError> {
        let key = (system, id);
        if self.accounts.contains_key(&key) {
            return Err(DemoError::Internal(format!(
                "duplicate account {}/{}",
                key.0, key.1
            )));
        }
        self.accounts.insert(key, account);
        Ok(())
    }

    /// Records a grant unless the account already holds the entitlement: the
    /// first source wins, as an access review would show it.
    pub(crate) fn grant(
        &mut self,
        system: &'static str,
        account: &str,
        entitlement: &str,
        granted_at: DateTime<Utc>,
        source: &str,
    ) -> Result<bool, DemoError> {
        let ent = systems::entitlement(system, entitlement).ok_or_else(|| {
            DemoError::Internal(format!("unknown entitlement {system}/{entitlement}"))
        })?;
        if !self.accounts.contains_key(&(system, account.to_string())) {
            return Err(DemoError::Internal(format!(
                "grant on missing account {system}/{account}"
            )));
        }
        let key = (system, account.to_string(), ent.id);
        if self.grants.contains_key(&key) {
            return Ok(false);
        }
        self.grants.insert(
            key,
            Grant {
                granted_at,
                source: source.to_string(),
            },
        );
        Ok(true)
    }

    /// Grants `entitlement` to the person, opening an account if needed.
    pub(crate) fn grant_person(
        &mut self,
        org: &Org,
        person: usize,
        (system, entitlement): (&str, &str),
        at: DateTime<Utc>,
        source: &str,
    ) -> Result<bool, DemoError> {
        let spec = systems::system(system)
            .ok_or_else(|| DemoError::Internal(format!("unknown system {system}")))?;
        let account = self.ensure_human(org, person, spec.id, at)?;
        self.grant(spec.id, &account, entitlement, at, source)
    }

    pub(crate) fn person_holds(&self, person: usize, (system, entitlement): (&str, &str)) -> bool {
        let (Some(spec), Some(ent)) = (
            systems::system(system),
            systems::entitlement(system, entitlement),
        ) else {
            return false;
        };
        self.by_person
            .get(&(person, spec.id))
            .is_some_and(|acct| self.grants.contains_key(&(spec.id, acct.clone(), ent.id)))
    }

    pub(crate) fn holds_privileged(&self, key: &AccountKey) -> bool {
        self.grants
            .range((key.0, key.1.clone(), "")..)
            .take_while(|((s, a, _), _)| *s == key.0 && *a == key.1)
            .any(|((s, _, e), _)| systems::entitlement(s, e).is_some_and(|x| x.privileged))
    }
}

/// Birthright and job roles at hire, named privileged grants, and a sprinkle
/// of stray read access.
pub(crate) fn provision(
    rng: &mut StdRng,
    org: &Org,
    as_of: DateTime<Utc>,
) -> Result<Access, DemoError> {
    let mut access = Access::default();

    for (idx, p) in org.people.iter().enumerate() {
        let end = access_end(p, as_of);
        let start_day = p.hire + days(rng.gen_range(0..3));
        let day_one = business_time(rng, start_day).min(end);
        for role_id in std::iter::once(&BASE_ROLE).chain(p.roles.iter()) {
            let role = systems::role(role_id)
                .ok_or_else(|| DemoError::Internal(format!("unknown role {role_id}")))?;
            let source = format!("role:{}", role.id);
            for &grant in role.grants {
                let at = (day_one + TimeDelta::seconds(rng.gen_range(0..900))).min(end);
                access.grant_person(org, idx, grant, at, &source)?;
            }
        }
    }

    for &(title, system, ent) in DIRECT_GRANTS {
        let Some(idx) = org
            .people
            .iter()
            .position(|p| p.title == title && p.status == Status::Active)
        else {
            continue;
        };
        let Some(p) = org.people.get(idx) else {
            continue;
        };
        let at = between(rng, start_of(p.hire) + days(1), access_end(p, as_of));
        access.grant_person(org, idx, (system, ent), at, "direct")?;
    }

    let actives: Vec<usize> = (0..org.people.len())
        .filter(|&i| {
            org.people
                .get(i)
                .is_some_and(|p| p.status == Status::Active)
        })
        .collect();
    let strays = org.people.len() * 4 / 100;
    for _ in 0..strays {
        let (Some(&idx), Some(&grant)) = (actives.choose(rng), STRAY_VIEW_GRANTS.choose(rng))
        else {
            break;
        };
        let Some(p) = org.people.get(idx) else {
            continue;
        };
        let at = between(rng, start_of(p.hire) + days(1), access_end(p, as_of));
        access.grant_person(org, idx, grant, at, "direct")?;
    }
    Ok(access)
}

/// Status, last login and MFA for every human account, following the
/// owner's HR status: leavers are disabled, nobody logs in while on leave.
pub(crate) fn settle_humans(
    rng: &mut StdRng,
    org: &Org,
    access: &mut Access,
    as_of: DateTime<Utc>,
) {
    for ((system, _), acct) in access.accounts.iter_mut() {
        let (Some(pi), Some(spec)) = (acct.person, systems::system(system)) else {
            continue;
        };
        let Some(p) = org.people.get(pi) else {
            continue;
        };
        acct.active = p.status != Status::Terminated;
        if !spec.records_logins {
            acct.last_login = None;
            continue;
        }
        let last_seen = match (p.status, p.termination, p.leave_start) {
            (Status::Terminated, Some(d), _) | (Status::Leave, _, Some(d)) => start_of(d),
            _ => as_of,
        };
        let gap = rng.gen_range(0..spec.login_gap_days * 86_400).max(600);
        let login = last_seen - TimeDelta::seconds(gap);
        acct.last_login = Some(if login > acct.created {
            login
        } else {
            between(rng, acct.created, last_seen.max(acct.created))
        });
    }
}
