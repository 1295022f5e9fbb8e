//! Worked examples of the contract, one behaviour each.

use crate::incremental::{Addition, Change, ChangeError, Engine, Holder};
use crate::roles::{Role, role_conflicts};
use crate::{
    AccountKind, AccountSpec, Compiled, DatasetBuilder, Interval, RuleSet, Span, When, analyze,
    analyze_window,
};

const RULES: &str = r#"
[[function]]
id = "VENDOR"
entitlements = ["erp:VENDOR_*"]

[[function]]
id = "PAY"
entitlements = ["erp:PAY", { all = ["bank:WIRE", "bank:RELEASE"] }]

[[risk]]
id = "P2P-01"
name = "Fictitious vendor"
severity = "critical"
functions = ["VENDOR", "PAY"]
"#;

fn rules() -> RuleSet {
    RuleSet::parse(RULES).unwrap()
}

fn human<'a>(system: &'a str, account: &'a str, person: &'a str) -> AccountSpec<'a> {
    AccountSpec {
        system,
        account,
        person: Some(person),
        kind: AccountKind::Human,
        active: true,
    }
}

#[test]
fn time_bound_grants_conflict_only_while_they_overlap() {
    let mut b = DatasetBuilder::new();
    b.account(human("erp", "u1", "p1")).unwrap();
    b.grant(
        "erp",
        "u1",
        "VENDOR_CREATE",
        Interval::new(Some(10), Some(20)),
    )
    .unwrap();
    b.grant("erp", "u1", "PAY", Interval::new(Some(15), Some(30)))
        .unwrap();
    b.account(human("erp", "u2", "p2")).unwrap();
    b.grant(
        "erp",
        "u2",
        "VENDOR_CREATE",
        Interval::new(Some(10), Some(20)),
    )
    .unwrap();
    b.grant("erp", "u2", "PAY", Interval::new(Some(20), Some(30)))
        .unwrap();
    let d = b.build();
    let (c, _) = Compiled::compile(&rules(), d.catalogue());
    let w = analyze_window(&c, &d, 0, 100).unwrap();
    assert_eq!(w.len(), 1, "touching windows do not overlap: {w:?}");
    assert_eq!(w[0].violation.identity, "p1");
    assert_eq!(w[0].during, [Span { from: 15, to: 20 }]);
    assert_eq!(analyze(&c, &d, When::At(17)).unwrap().len(), 1);
    assert!(analyze(&c, &d, When::At(20)).unwrap().is_empty());
    // No clock given: every grant counts.
    assert_eq!(analyze(&c, &d, When::Now).unwrap().len(), 2);
    assert!(analyze_window(&c, &d, 5, 5).is_err());
}

#[test]
fn an_engine_moves_an_account_between_identities() {
    let mut b = DatasetBuilder::new();
    b.account(human("erp", "u1", "p1")).unwrap();
    b.account(human("erp", "u2", "p2")).unwrap();
    b.grant("erp", "u1", "VENDOR_CREATE", Interval::ALWAYS)
        .unwrap();
    b.grant("erp", "u2", "PAY", Interval::ALWAYS).unwrap();
    let (mut engine, _) = Engine::new(&rules(), b.build());
    assert!(engine.violations().is_empty());
    let upsert = |person: Option<&str>, kind| Change::AccountUpserted {
        system: "erp".into(),
        account: "u2".into(),
        person: person.map(Into::into),
        kind,
        active: true,
    };
    let delta = engine
        .apply(upsert(Some("p1"), AccountKind::Human))
        .unwrap();
    assert_eq!(delta.opened.len(), 1);
    assert_eq!(delta.opened[0].identity, "p1");
    let json = delta.opened[0].to_json_line();
    assert_eq!(
        json,
        r#"{"risk_id":"P2P-01","risk_name":"Fictitious vendor","person_id":"p1","severity":"critical","functions":[{"function_id":"VENDOR","entitlements":["erp:VENDOR_CREATE"],"accounts":["erp:u1"]},{"function_id":"PAY","entitlements":["erp:PAY"],"accounts":["erp:u2"]}]}"#
    );
    // The same account as a service account is its own identity again.
    let delta = engine
        .apply(upsert(Some("p1"), AccountKind::Service))
        .unwrap();
    assert_eq!(delta.resolved.len(), 1);
    assert_eq!(
        engine.identity_of("account:erp:u2"),
        engine.identity_of("account:erp:u2")
    );
    assert!(engine.identity_of("account:erp:u2").is_some());
    let err = engine
        .apply(Change::GrantAdded {
            system: "erp".into(),
            account: "nobody".into(),
            entitlement: "PAY".into(),
            interval: Interval::ALWAYS,
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown account erp:nobody; add it (AccountUpserted) before its grants"
    );
}

#[test]
fn simulate_gives_a_person_a_new_account_where_they_have_none() {
    let mut b = DatasetBuilder::new();
    b.account(human("erp", "u1", "p1")).unwrap();
    b.account(human("erp", "u1b", "p1")).unwrap();
    b.grant("erp", "u1", "VENDOR_CREATE", Interval::ALWAYS)
        .unwrap();
    let (engine, _) = Engine::new(&rules(), b.build());
    let add = |entitlement: &str, holder| Addition {
        entitlement: entitlement.into(),
        holder,
        interval: Interval::ALWAYS,
    };
    // One account of the group's system gets both members: a violation.
    let both = [
        add("bank:WIRE", Holder::System),
        add("bank:RELEASE", Holder::System),
    ];
    let found = engine.simulate("p1", &both).unwrap();
    assert_eq!(found.len(), 1);
    let pay = &found[0].functions[1];
    assert_eq!(pay.held_by.len(), 2);
    assert!(
        pay.held_by
            .iter()
            .all(|e| e.account == "bank:(new account)")
    );
    // Nothing was applied.
    assert!(engine.violations().is_empty());
    // Two accounts in erp: the caller must say which.
    let err = engine
        .simulate("p1", &[add("erp:PAY", Holder::System)])
        .unwrap_err();
    assert!(
        matches!(err, ChangeError::AmbiguousAccount { ref accounts, .. } if accounts.len() == 2)
    );
    let found = engine
        .simulate("p1", &[add("erp:PAY", Holder::Account("u1b".into()))])
        .unwrap();
    assert_eq!(found.len(), 1);
    // A new hire, and an entitlement nobody has seen yet: the pattern matches it.
    let found = engine
        .simulate(
            "new-hire",
            &[
                add("erp:VENDOR_NEW", Holder::System),
                add("erp:PAY", Holder::System),
            ],
        )
        .unwrap();
    assert_eq!(
        found[0].functions[0].held_by[0].entitlement,
        "erp:VENDOR_NEW"
    );
    assert!(
        engine
            .simulate("p1", &[add("nocolon", Holder::System)])
            .is_err()
    );
}

#[test]
fn a_role_that_holds_both_functions_is_a_conflict_by_itself() {
    let (c, _) = Compiled::compile(&rules(), &crate::Catalogue::new());
    let roles = [
        Role {
            id: "AP_CLERK".into(),
            entitlements: vec![
                "erp:VENDOR_EDIT".into(),
                "bank:WIRE".into(),
                "bank:RELEASE".into(),
            ],
        },
        Role {
            id: "VIEWER".into(),
            entitlements: vec!["erp:VENDOR_EDIT".into(), "bank:WIRE".into()],
        },
    ];
    let found = role_conflicts(&c, &crate::Catalogue::new(), &roles).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role_id, "AP_CLERK");
    assert_eq!(
        found[0].functions[1].entitlements,
        ["bank:RELEASE", "bank:WIRE"]
    );
    let bad = [Role {
        id: "X".into(),
        entitlements: vec!["erp".into()],
    }];
    assert_eq!(
        role_conflicts(&c, &crate::Catalogue::new(), &bad)
            .unwrap_err()
            .to_string(),
        "role 'X': entitlement 'erp' has no ':'; write system_id:entitlement_id"
    );
}

#[test]
fn stale_rules_are_refused() {
    let mut b = DatasetBuilder::new();
    b.entitlement("erp", "PAY");
    let d = b.build();
    let (c, _) = Compiled::compile(&rules(), &crate::Catalogue::new());
    let e = analyze(&c, &d, When::Now).unwrap_err();
    assert!(e.to_string().contains("call Compiled::refresh"), "{e}");
}
