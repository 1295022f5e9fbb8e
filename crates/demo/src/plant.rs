//! Deliberate findings on human access, so the first run of every control has
//! something true to report: SoD conflicts, leavers with live accounts,
//! unused access and privileged accounts without MFA.
//!
//! Counts scale with headcount but stay small; a demo drowning in findings
//! looks as fake as one with none.

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::access::{Access, AccountKey, Kind, access_end};
use crate::org::{Org, Status};
use crate::systems;
use crate::timegen::{between, days, start_of};
use crate::{DemoError, PLANTED_SOD_PAIRS};

enum Add {
    Direct(&'static str, &'static str),
    /// Role creep: a second job role kept after covering for someone.
    Role(&'static str),
}

/// (entitlement the person already holds, what they are given on top).
const SCENARIOS: &[((&str, &str), Add)] = &[
    (
        ("erp", "VENDOR_CREATE"),
        Add::Direct("erp", "PAYMENT_APPROVE"),
    ),
    (
        ("bank", "PAYMENT_INITIATE"),
        Add::Direct("bank", "PAYMENT_RELEASE"),
    ),
    (("github", "finance-app:push"), Add::Role("SRE")),
    (
        ("payroll", "EMPLOYEE_EDIT"),
        Add::Direct("payroll", "PAYRUN_APPROVE"),
    ),
    (("erp", "GL_POST"), Add::Role("CONTROLLER")),
    (("erp", "PO_CREATE"), Add::Direct("erp", "PO_APPROVE")),
    (
        ("erp", "PAYMENT_APPROVE"),
        Add::Direct("erp", "VENDOR_CREATE"),
    ),
];

/// Whether the person's active accounts hold both sides of any planted pair.
pub(crate) fn has_conflict(access: &Access, person: usize) -> bool {
    PLANTED_SOD_PAIRS
        .iter()
        .any(|p| access.person_holds(person, p.left) && access.person_holds(person, p.right))
}

/// Gives `target` distinct active people one conflicting pair each, cycling
/// through the scenarios; returns how many were actually planted (a small
/// company may lack candidates for some).
pub(crate) fn sod_conflicts(
    rng: &mut StdRng,
    org: &Org,
    access: &mut Access,
    as_of: DateTime<Utc>,
    target: usize,
) -> Result<usize, DemoError> {
    let mut planted: Vec<usize> = Vec::new();
    let mut stalled = 0;
    let mut turn = 0;
    while planted.len() < target && stalled < SCENARIOS.len() {
        let Some((holds, add)) = SCENARIOS.get(turn % SCENARIOS.len()) else {
            break;
        };
        turn += 1;
        let candidates: Vec<usize> = (0..org.people.len())
            .filter(|i| !planted.contains(i))
            .filter(|&i| {
                org.people
                    .get(i)
                    .is_some_and(|p| p.status == Status::Active)
            })
            .filter(|&i| access.person_holds(i, *holds) && !has_conflict(access, i))
            .collect();
        let Some(&idx) = candidates.choose(rng) else {
            stalled += 1;
            continue;
        };
        let Some(p) = org.people.get(idx) else {
            continue;
        };
        // Recent: the kind of "temporary" access nobody took back yet.
        let from = (as_of - days(180)).max(start_of(p.hire) + days(1));
        let at = between(rng, from, access_end(p, as_of));
        match add {
            Add::Direct(s, e) => {
                access.grant_person(org, idx, (s, e), at, "direct")?;
            }
            Add::Role(role_id) => {
                let role = systems::role(role_id)
                    .ok_or_else(|| DemoError::Internal(format!("unknown role {role_id}")))?;
                let source = format!("role:{}", role.id);
                for &g in role.grants {
                    access.grant_person(org, idx, g, at, &source)?;
                }
            }
        }
        if has_conflict(access, idx) {
            planted.push(idx);
            stalled = 0;
        } else {
            stalled += 1;
        }
    }
    Ok(planted.len())
}

/// Leaves about half the leavers with one or two accounts still enabled,
/// favouring business systems, since single sign-on was (correctly) cut.
pub(crate) fn terminated_with_access(rng: &mut StdRng, org: &Org, access: &mut Access) {
    let mut leavers: Vec<usize> = (0..org.people.len())
        .filter(|&i| {
            org.people
                .get(i)
                .is_some_and(|p| p.status == Status::Terminated)
        })
        .collect();
    leavers.sort_by_key(|&i| (org.people.get(i).is_some_and(|p| !p.sensitive), i));
    let target = leavers.len().div_ceil(2);
    for &idx in leavers.iter().take(target) {
        let mut business = Vec::new();
        let mut birthright = Vec::new();
        for ((pi, system), acct) in access.by_person.range((idx, "")..) {
            if *pi != idx {
                break;
            }
            match *system {
                "okta" => {}
                "wiki" | "workday" => birthright.push((*system, acct.clone())),
                _ => business.push((*system, acct.clone())),
            }
        }
        let mut pool = if business.is_empty() {
            birthright
        } else {
            business
        };
        pool.shuffle(rng);
        let keep = if rng.gen_bool(0.4) { 2 } else { 1 };
        for key in pool.into_iter().take(keep) {
            if let Some(acct) = access.accounts.get_mut(&key) {
                acct.active = true;
            }
        }
    }
}

fn human_keys(org: &Org, access: &Access, want: impl Fn(&AccountKey) -> bool) -> Vec<AccountKey> {
    access
        .accounts
        .iter()
        .filter(|(_, a)| a.kind == Kind::Human && a.active)
        .filter(|(_, a)| {
            a.person
                .and_then(|i| org.people.get(i))
                .is_some_and(|p| p.status == Status::Active)
        })
        .map(|(k, _)| k.clone())
        .filter(|k| want(k))
        .collect()
}

/// Accounts of current staff unused for over 90 days: access nobody needs.
pub(crate) fn stale_logins(
    rng: &mut StdRng,
    org: &Org,
    access: &mut Access,
    as_of: DateTime<Utc>,
    target: usize,
) {
    let old_enough = as_of - days(150);
    let mut keys = human_keys(org, access, |(s, _)| {
        *s != "okta" && systems::system(s).is_some_and(|x| x.records_logins)
    });
    keys.retain(|k| {
        access
            .accounts
            .get(k)
            .is_some_and(|a| a.created < old_enough)
    });
    keys.shuffle(rng);
    for key in keys.into_iter().take(target) {
        if let Some(acct) = access.accounts.get_mut(&key) {
            let age = (as_of - acct.created).num_days().clamp(92, 400);
            let idle = days(rng.gen_range(91..age)) + TimeDelta::seconds(rng.gen_range(0..86_400));
            acct.last_login = Some((as_of - idle).max(acct.created));
        }
    }
}

/// A few privileged human accounts with MFA off: the classic exception.
pub(crate) fn mfa_gaps(rng: &mut StdRng, org: &Org, access: &mut Access, target: usize) {
    let mut keys = human_keys(org, access, |k| access.holds_privileged(k));
    keys.shuffle(rng);
    for key in keys.into_iter().take(target) {
        if let Some(acct) = access.accounts.get_mut(&key) {
            acct.mfa = Some(false);
        }
    }
}
