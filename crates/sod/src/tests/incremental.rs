//! The engine under changes against full re-analysis by the reference, and
//! what-if simulation against analysing the changed facts.

use super::generate::{
    ACCOUNTS, ENTITLEMENTS, PEOPLE, SYSTEMS, account, dataset, facts, interval, person, rules,
};
use super::reference::{self, FactAccount, FactGrant, Facts};
use crate::dataset::AccountKind;
use crate::incremental::{Addition, Change, Delta, Engine, Holder, Resolved};
use crate::report::Violation;
use crate::rules::RuleSet;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn change() -> impl Strategy<Value = Change> {
    let target = (0..SYSTEMS.len(), 0..ACCOUNTS.len())
        .prop_map(|(s, a)| (SYSTEMS[s].to_owned(), ACCOUNTS[a].to_owned()));
    let entitlement = prop_oneof![
        6 => (0..ENTITLEMENTS.len()).prop_map(|e| ENTITLEMENTS[e].to_owned()),
        1 => Just("VENDOR_NEW".to_owned()),
    ];
    prop_oneof![
        4 => (target.clone(), entitlement.clone(), interval()).prop_map(|((system, account), entitlement, interval)| {
            Change::GrantAdded { system, account, entitlement, interval }
        }),
        2 => (target.clone(), entitlement.clone(), interval()).prop_map(|((system, account), entitlement, interval)| {
            Change::GrantRemoved { system, account, entitlement, interval }
        }),
        2 => account().prop_map(|a| Change::AccountUpserted {
            system: a.system,
            account: a.account,
            person: a.person,
            kind: a.kind,
            active: a.active,
        }),
        1 => target.prop_map(|(system, account)| Change::AccountRemoved { system, account }),
        1 => ((0..SYSTEMS.len()), entitlement).prop_map(|(s, entitlement)| Change::EntitlementAdded {
            system: SYSTEMS[s].to_owned(),
            entitlement,
        }),
        3 => (0i64..11).prop_map(|now| Change::ClockSet { now }),
    ]
}

/// The change applied to plain facts; `false` when it must be refused.
fn apply_to_facts(facts: &mut Facts, change: &Change) -> bool {
    let find = |facts: &Facts, s: &str, a: &str| {
        facts
            .accounts
            .iter()
            .position(|x| x.system == s && x.account == a)
    };
    match change {
        Change::GrantAdded {
            system,
            account,
            entitlement,
            interval,
        } => {
            if find(facts, system, account).is_none() {
                return false;
            }
            let g = FactGrant {
                system: system.clone(),
                account: account.clone(),
                entitlement: entitlement.clone(),
                interval: *interval,
            };
            if !facts.grants.contains(&g) {
                facts.grants.push(g);
            }
        }
        Change::GrantRemoved {
            system,
            account,
            entitlement,
            interval,
        } => {
            if find(facts, system, account).is_none() {
                return false;
            }
            facts.grants.retain(|g| {
                !(g.system == *system
                    && g.account == *account
                    && g.entitlement == *entitlement
                    && g.interval == *interval)
            });
        }
        Change::AccountUpserted {
            system,
            account,
            person,
            kind,
            active,
        } => {
            let a = FactAccount {
                system: system.clone(),
                account: account.clone(),
                person: person.clone(),
                kind: *kind,
                active: *active,
            };
            match find(facts, system, account) {
                Some(i) => facts.accounts[i] = a,
                None => facts.accounts.push(a),
            }
        }
        Change::AccountRemoved { system, account } => {
            let Some(i) = find(facts, system, account) else {
                return false;
            };
            facts.accounts.remove(i);
            facts
                .grants
                .retain(|g| !(g.system == *system && g.account == *account));
        }
        Change::EntitlementAdded { .. } => {}
        Change::ClockSet { now } => facts.as_of = Some(*now),
    }
    true
}

fn expected_delta(before: &[Violation], after: &[Violation]) -> Delta {
    let key = |v: &Violation| (v.risk_id.clone(), v.identity.clone());
    let old: BTreeSet<_> = before.iter().map(key).collect();
    let new: BTreeSet<_> = after.iter().map(key).collect();
    Delta {
        opened: after
            .iter()
            .filter(|v| !old.contains(&key(v)))
            .cloned()
            .collect(),
        resolved: old
            .difference(&new)
            .map(|(risk_id, identity)| Resolved {
                risk_id: risk_id.clone(),
                identity: identity.clone(),
            })
            .collect(),
    }
}

/// What simulate should answer, from the reference; `None`: it must refuse.
fn expected_simulation(
    facts: &Facts,
    rules: &RuleSet,
    who: &str,
    additions: &[Addition],
) -> Option<Vec<Violation>> {
    let mut changed = facts.clone();
    for add in additions {
        let (system, entitlement) = add.entitlement.split_once(':')?;
        let mine = |a: &&FactAccount| {
            a.system == system && a.kind == AccountKind::Human && a.person.as_deref() == Some(who)
        };
        let account = match &add.holder {
            Holder::Account(name) => facts
                .accounts
                .iter()
                .filter(mine)
                .find(|a| a.account == *name)?
                .account
                .clone(),
            Holder::System => {
                let active: Vec<&FactAccount> = facts
                    .accounts
                    .iter()
                    .filter(mine)
                    .filter(|a| a.active)
                    .collect();
                match active.as_slice() {
                    [one] => one.account.clone(),
                    [] => {
                        let new = FactAccount {
                            system: system.to_owned(),
                            account: "(new account)".to_owned(),
                            person: Some(who.to_owned()),
                            kind: AccountKind::Human,
                            active: true,
                        };
                        if !changed.accounts.contains(&new) {
                            changed.accounts.push(new);
                        }
                        "(new account)".to_owned()
                    }
                    _ => return None,
                }
            }
        };
        changed.grants.push(FactGrant {
            system: system.to_owned(),
            account,
            entitlement: entitlement.to_owned(),
            interval: add.interval,
        });
    }
    let before: BTreeSet<String> = reference::now(facts, rules)
        .into_iter()
        .filter(|v| v.identity == who)
        .map(|v| v.risk_id)
        .collect();
    Some(
        reference::now(&changed, rules)
            .into_iter()
            .filter(|v| v.identity == who && !before.contains(&v.risk_id))
            .collect(),
    )
}

fn addition() -> impl Strategy<Value = Addition> {
    let entitlement = prop_oneof![
        5 => (0..ENTITLEMENTS.len()).prop_map(|e| ENTITLEMENTS[e].to_owned()),
        1 => Just("VENDOR_NEW".to_owned()),
        1 => Just("XNEW".to_owned()),
    ];
    let holder = prop_oneof![
        2 => Just(Holder::System),
        1 => (0..ACCOUNTS.len()).prop_map(|a| Holder::Account(ACCOUNTS[a].to_owned())),
    ];
    (0..SYSTEMS.len(), entitlement, holder, interval()).prop_map(|(s, e, holder, interval)| {
        Addition {
            entitlement: format!("{}:{e}", SYSTEMS[s]),
            holder,
            interval,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn incremental_equals_full_reanalysis(
        start in facts(),
        rules in rules(),
        changes in prop::collection::vec(change(), 1..16),
    ) {
        let (mut engine, _) = Engine::new(&rules, dataset(&start));
        let mut facts = start;
        prop_assert_eq!(engine.violations(), reference::now(&facts, &rules));
        for change in changes {
            let before = reference::now(&facts, &rules);
            let accepted = apply_to_facts(&mut facts, &change);
            let result = engine.apply(change.clone());
            prop_assert_eq!(result.is_ok(), accepted, "{:?} -> {:?}", change, result);
            let after = reference::now(&facts, &rules);
            if let Ok(delta) = result {
                prop_assert_eq!(delta, expected_delta(&before, &after), "after {:?}", change);
            }
            prop_assert_eq!(engine.violations(), after, "after {:?}", change);
        }
    }

    #[test]
    fn simulate_equals_analysis_with_the_change(
        facts in facts(),
        rules in rules(),
        who in 0..3usize,
        additions in prop::collection::vec(addition(), 1..4),
    ) {
        let (engine, _) = Engine::new(&rules, dataset(&facts));
        let who = person(who).unwrap_or_else(|| PEOPLE[0].to_owned());
        let got = engine.simulate(&who, &additions);
        match expected_simulation(&facts, &rules, &who, &additions) {
            Some(expected) => prop_assert_eq!(got.unwrap(), expected),
            None => prop_assert!(got.is_err(), "{:?}", got),
        }
        // Nothing changed.
        prop_assert_eq!(engine.violations(), reference::now(&facts, &rules));
    }
}
