//! Who is asked to approve: the fall-through of approver alternatives, counts,
//! the parties who are never candidates, and that only those routed may approve.

use super::*;

// ---------------------------------------------------------------- routing

#[test]
fn default_routing_falls_from_owner_to_system_owner_to_manager() {
    let p = PolicySet::default_policy();
    let plan = |subject| p.plan(&request(asker(), subject)).unwrap();
    assert_eq!(
        plan(entitlement("erp", "X", false, Some("O"), Some("S"))).candidates,
        ["O"]
    );
    assert_eq!(
        plan(entitlement("erp", "X", false, None, Some("S"))).candidates,
        ["S"]
    );
    assert_eq!(
        plan(entitlement("erp", "X", false, None, None)).candidates,
        ["M1"]
    );
    let role = Subject::Role {
        role_id: "R".into(),
        privileged: false,
        role_owner: Some("RO".into()),
    };
    assert_eq!(plan(role).candidates, ["RO"]);
    assert_eq!(plan(action("deploy", "prod")).candidates, ["M1"]);
}

#[test]
fn the_requester_and_beneficiary_are_never_candidates() {
    let p = PolicySet::default_policy();
    // The owner asks for themselves: the system owner is asked instead.
    let owner = person("O", Some("M"));
    let plan = p
        .plan(&request(
            owner.clone(),
            entitlement("erp", "X", false, Some("O"), Some("S")),
        ))
        .unwrap();
    assert_eq!(plan.candidates, ["S"]);
    // A manager asks on behalf of their report, who owns the entitlement.
    let mut r = request(
        person("M", None),
        entitlement("erp", "X", false, Some("O"), None),
    );
    r.beneficiary = owner;
    let e = p.plan(&r).unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotRouted);
    assert!(
        e.reason.contains("route to 0 people (nobody)"),
        "{}",
        e.reason
    );
    assert!(
        e.reason.contains("manager: M has no manager"),
        "{}",
        e.reason
    );
}

#[test]
fn groups_route_to_every_member_in_order_and_entries_union() {
    let (p, _) = parse_ok(
        r#"
[groups]
rm = ["E3", "E1", "E2", "E4"]
[[action]]
id = "deploy"
kinds = ["deploy"]
approvers = ["person:E9", "group:rm", "manager"]
count = 2
"#,
    );
    let plan = p.plan(&request(asker(), action("deploy", "prod"))).unwrap();
    // E1 is the requester; E9 first, the group in its order, the manager last.
    assert_eq!(plan.candidates, ["E9", "E3", "E2", "E4", "M1"]);
    assert_eq!(plan.required_approvals, 2);
}

#[test]
fn an_alternative_that_adds_nobody_new_falls_through() {
    let (p, _) = parse_ok(
        r#"
[[access]]
id = "two"
entitlements = ["*:*"]
approvers = ["entitlement_owner", "system_owner|manager"]
count = 2
"#,
    );
    // The system owner is the entitlement owner: the manager is the second.
    let plan = p
        .plan(&request(
            asker(),
            entitlement("erp", "X", false, Some("O"), Some("O")),
        ))
        .unwrap();
    assert_eq!(plan.candidates, ["O", "M1"]);
}

#[test]
fn critical_sod_raises_the_count_and_others_do_not() {
    let (p, _) = parse_ok(
        r#"
[defaults]
critical_approvals = 3
[groups]
g = ["A", "B", "C"]
[[access]]
id = "g"
entitlements = ["*:*"]
approvers = ["group:g"]
"#,
    );
    let mut r = request(asker(), entitlement("erp", "X", false, None, None));
    for (severity, want) in [
        (None, 1),
        (Some(Severity::Low), 1),
        (Some(Severity::High), 1),
        (Some(Severity::Critical), 3),
    ] {
        r.worst_sod_severity = severity;
        assert_eq!(p.plan(&r).unwrap().required_approvals, want, "{severity:?}");
    }
    // The default's chain gives a second approver when critical: the next
    // alternative that adds someone.
    let p = PolicySet::default_policy();
    r.worst_sod_severity = Some(Severity::Critical);
    r.subject = entitlement("erp", "X", false, Some("O"), Some("S"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(
        (plan.candidates, plan.required_approvals),
        (vec!["O".to_owned(), "S".to_owned()], 2)
    );
    r.subject = entitlement("erp", "X", false, Some("O"), Some("O"));
    assert_eq!(p.plan(&r).unwrap().candidates, ["O", "M1"]);
    r.worst_sod_severity = None;
    assert_eq!(
        p.plan(&r).unwrap().candidates,
        ["O"],
        "one approval: the owner only"
    );
    // Critical with one possible approver: refused, saying why.
    r.worst_sod_severity = Some(Severity::Critical);
    r.requester.manager_id = None;
    r.beneficiary.manager_id = None;
    let e = p.plan(&r).unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotRouted);
    assert!(
        e.reason
            .contains("needs 2 approvals (critical SoD conflict"),
        "{}",
        e.reason
    );
    assert!(e.reason.contains("route to 1 person (O)"), "{}", e.reason);
    assert!(
        e.reason
            .contains("load a policies document whose rules route it to enough people"),
        "{}",
        e.reason
    );
}

#[test]
fn too_few_candidates_say_what_is_missing() {
    let (p, _) = parse_ok(
        r#"
[groups]
rm = ["E1", "E2"]
[[action]]
id = "deploy-prod"
kinds = ["deploy"]
approvers = ["group:rm"]
count = 2
"#,
    );
    // E1 asks: only E2 is left.
    let e = p
        .plan(&request(asker(), action("deploy", "prod")))
        .unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotRouted);
    assert!(e.reason.starts_with("deploy in prod needs 2 approval(s) under action \"deploy-prod\", but its approvers route to 1 person (E2)"), "{}", e.reason);
    assert!(
        e.reason.contains("group:NAME with enough members"),
        "{}",
        e.reason
    );
    // Someone else asks: both.
    let plan = p
        .plan(&request(person("E7", None), action("deploy", "prod")))
        .unwrap();
    assert_eq!(plan.candidates, ["E1", "E2"]);
}

// ---------------------------------------------------------------- may_approve

#[test]
fn only_routed_people_may_approve() {
    let p = PolicySet::default_policy();
    let r = request(
        asker(),
        entitlement("erp", "X", false, Some("O"), Some("S")),
    );
    assert!(p.may_approve(&r, &person("O", None)).is_ok());
    let e = p.may_approve(&r, &person("S", None)).unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotRouted);
    assert!(
        e.reason
            .contains("S is not an approver of erp:X under built-in default; it is routed to O"),
        "{}",
        e.reason
    );
    let e = p.may_approve(&r, &asker()).unwrap_err();
    assert_eq!(
        e.kind,
        RefusalKind::NotRouted,
        "the requester is never routed to"
    );
    let terminated = PersonFacts {
        status: PersonStatus::Terminated,
        ..person("O", None)
    };
    assert_eq!(
        p.may_approve(&r, &terminated).unwrap_err().kind,
        RefusalKind::NotPermitted
    );
}

#[test]
fn an_unplannable_request_has_no_approvers() {
    let p = PolicySet::default_policy();
    let mut r = request(asker(), entitlement("erp", "X", false, Some("O"), None));
    r.duration_secs = Some(9 * 3600);
    assert_eq!(
        p.may_approve(&r, &person("O", None)).unwrap_err().kind,
        RefusalKind::TooLong
    );
}
