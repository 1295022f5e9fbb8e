//! Random small worlds: a few systems and entitlements (with `:` and case
//! variants), accounts of every kind (uncorrelated and disabled ones too),
//! grants with and without intervals, and rules with references, patterns,
//! all-of groups and unknown references.

use super::reference::{FactAccount, FactGrant, Facts};
use crate::dataset::{AccountKind, AccountSpec, Dataset, DatasetBuilder};
use crate::interval::Interval;
use crate::rules::{Function, Item, Member, Risk, RuleSet, Severity};
use proptest::prelude::*;
use proptest::sample::{Index, subsequence};

pub const SYSTEMS: [&str; 3] = ["erp", "sap", "bank"];
pub const ENTITLEMENTS: [&str; 7] = [
    "VENDOR_CREATE",
    "VENDOR_EDIT",
    "PAY",
    "pay",
    "GL:POST",
    "GL:VIEW",
    "ADMIN",
];
const PATTERNS: [&str; 6] = ["VENDOR_*", "*", "GL:*", "PA?", "X*", "*_EDIT"];
pub const PEOPLE: [&str; 4] = ["p1", "p2", "p3", ""];
pub const ACCOUNTS: [&str; 5] = ["a0", "a1", "a2", "a3", "a4"];

/// Mostly the first system, so that identities and rules meet often.
pub fn system() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)]
}

pub fn kind() -> impl Strategy<Value = AccountKind> {
    prop_oneof![
        4 => Just(AccountKind::Human),
        1 => Just(AccountKind::Service),
        1 => Just(AccountKind::Shared),
    ]
}

pub fn interval() -> impl Strategy<Value = Interval> {
    prop_oneof![
        3 => Just(Interval::ALWAYS),
        3 => (0i64..10, 1i64..6).prop_map(|(f, l)| Interval::new(Some(f), Some(f + l))),
        1 => (0i64..10).prop_map(|f| Interval::new(Some(f), None)),
        1 => (1i64..10).prop_map(|t| Interval::new(None, Some(t))),
    ]
}

pub fn person(index: usize) -> Option<String> {
    PEOPLE
        .get(index)
        .filter(|p| !p.is_empty())
        .map(|p| (*p).to_owned())
}

pub fn account() -> impl Strategy<Value = FactAccount> {
    (
        system(),
        0..ACCOUNTS.len(),
        0..PEOPLE.len(),
        kind(),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(s, a, p, kind, active)| FactAccount {
            system: SYSTEMS[s].to_owned(),
            account: ACCOUNTS[a].to_owned(),
            person: person(p),
            kind,
            active,
        })
}

pub fn facts() -> impl Strategy<Value = Facts> {
    let accounts = prop::collection::vec(account(), 1..9).prop_map(|mut accounts| {
        let mut seen = Vec::new();
        accounts.retain(|a| {
            let key = (a.system.clone(), a.account.clone());
            let fresh = !seen.contains(&key);
            seen.push(key);
            fresh
        });
        accounts
    });
    let grant = (any::<Index>(), 0..ENTITLEMENTS.len(), interval());
    (
        accounts,
        prop::collection::vec(grant, 4..40),
        prop::option::of(0i64..10),
    )
        .prop_map(|(accounts, grants, as_of)| {
            let mut grants: Vec<FactGrant> = grants
                .into_iter()
                .map(|(i, e, interval)| {
                    let a = i.get(&accounts);
                    FactGrant {
                        system: a.system.clone(),
                        account: a.account.clone(),
                        entitlement: ENTITLEMENTS[e].to_owned(),
                        interval,
                    }
                })
                .collect();
            grants.sort();
            grants.dedup();
            Facts {
                accounts,
                grants,
                as_of,
            }
        })
}

fn member_in(system: &'static str) -> impl Strategy<Value = Member> {
    prop_oneof![
        4 => (0..ENTITLEMENTS.len()).prop_map(move |e| format!("{system}:{}", ENTITLEMENTS[e])),
        1 => Just(format!("{system}:UNKNOWN")),
        2 => (0..PATTERNS.len()).prop_map(move |p| format!("{system}:{}", PATTERNS[p])),
    ]
    .prop_map(|text| Member::parse(&text).unwrap())
}

fn item() -> impl Strategy<Value = Item> {
    system().prop_flat_map(|s| {
        let system = SYSTEMS[s];
        prop_oneof![
            3 => member_in(system).prop_map(|m| match m {
                Member::Ref(r) => Item::Ref(r),
                Member::Glob(g) => Item::Glob(g),
            }),
            2 => prop::collection::vec(member_in(system), 1..4).prop_map(Item::AllOf),
        ]
    })
}

pub fn rules() -> impl Strategy<Value = RuleSet> {
    let functions = prop::collection::vec(prop::collection::vec(item(), 1..5), 2..6);
    functions.prop_flat_map(|items| {
        let ids: Vec<String> = (0..items.len()).map(|i| format!("F{i}")).collect();
        let functions: Vec<Function> = items
            .into_iter()
            .zip(&ids)
            .map(|(items, id)| Function {
                id: id.clone(),
                name: None,
                description: None,
                items,
            })
            .collect();
        let most = ids.len().min(3);
        let risk = (subsequence(ids, 2..=most), 0..4usize, any::<bool>());
        prop::collection::vec(risk, 1..5).prop_map(move |risks| RuleSet {
            functions: functions.clone(),
            risks: risks
                .into_iter()
                .enumerate()
                .map(|(i, (mut fs, severity, named))| {
                    if named {
                        // A repeated function counts once.
                        fs.push(fs[0].clone());
                    }
                    Risk {
                        id: format!("R{i}"),
                        name: named.then(|| format!("risk {i}")),
                        severity: [
                            Severity::Low,
                            Severity::Medium,
                            Severity::High,
                            Severity::Critical,
                        ][severity],
                        process: named.then(|| "P2P".to_owned()),
                        reason: None,
                        description: None,
                        functions: fs,
                    }
                })
                .collect(),
        })
    })
}

pub fn dataset(facts: &Facts) -> Dataset {
    let mut b = DatasetBuilder::new();
    for a in &facts.accounts {
        b.account(AccountSpec {
            system: &a.system,
            account: &a.account,
            person: a.person.as_deref(),
            kind: a.kind,
            active: a.active,
        })
        .unwrap();
    }
    for g in &facts.grants {
        b.grant(&g.system, &g.account, &g.entitlement, g.interval)
            .unwrap();
    }
    if let Some(t) = facts.as_of {
        b.as_of(t);
    }
    b.build()
}
