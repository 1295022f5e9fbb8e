//! What a plan carries besides its approvers (durations, windows, flags), the
//! refusals those cause, the built-in default policy, and that plans are deterministic.

use super::*;
use proptest::prelude::*;

// ---------------------------------------------------------------- durations and flags

#[test]
fn durations_windows_and_flags_come_from_the_rule_or_the_defaults() {
    let (p, _) = parse_ok(
        r#"
[defaults]
undecided_expiry = "48h"
approval_window = "12h"
max_duration = "6h"
reminder_after = "4h"
escalate_after = "24h"
mfa = true

[[access]]
id = "short"
entitlements = ["erp:SAP_ALL"]
max_duration = "30m"
mfa = false
undecided_expiry = "2h"
approvers = ["manager"]

[[action]]
id = "pay"
kinds = ["payment"]
window = "1h 30m"
approvers = ["manager"]
reminder_after = "15m"
escalate_after = "1h"
"#,
    );
    let short = p
        .plan(&request(
            asker(),
            entitlement("erp", "SAP_ALL", true, None, None),
        ))
        .unwrap();
    assert_eq!(short.max_duration_secs, Some(1800));
    assert_eq!(short.approval_window_secs, None);
    assert!(!short.mfa_required);
    assert_eq!(short.undecided_expiry_secs, 7200);
    assert_eq!(
        (short.reminder_after_secs, short.escalate_after_secs),
        (Some(4 * 3600), Some(24 * 3600))
    );

    let other = p
        .plan(&request(
            asker(),
            entitlement("erp", "GL_POST", false, Some("O"), None),
        ))
        .unwrap();
    assert_eq!(other.max_duration_secs, Some(6 * 3600));
    assert!(other.mfa_required);
    assert_eq!(other.undecided_expiry_secs, 48 * 3600);

    let pay = p
        .plan(&request(asker(), action("payment", "prod")))
        .unwrap();
    assert_eq!(
        (pay.max_duration_secs, pay.approval_window_secs),
        (None, Some(5400))
    );
    assert_eq!(
        (pay.reminder_after_secs, pay.escalate_after_secs),
        (Some(15 * 60), Some(3600)),
        "the rule's reminder times, not the defaults'"
    );
    let deploy = p.plan(&request(asker(), action("deploy", "prod"))).unwrap();
    assert_eq!(deploy.approval_window_secs, Some(12 * 3600));
}

#[test]
fn asking_for_longer_than_the_maximum_is_refused() {
    let p = PolicySet::default_policy();
    let mut r = request(asker(), entitlement("erp", "X", false, Some("O"), None));
    r.duration_secs = Some(8 * 3600);
    assert!(p.plan(&r).is_ok(), "exactly the maximum is allowed");
    r.duration_secs = Some(8 * 3600 + 1);
    let e = p.plan(&r).unwrap_err();
    assert_eq!(e.kind, RefusalKind::TooLong);
    assert!(
        e.reason.contains("allows at most 8h; ask for 8h or less"),
        "{}",
        e.reason
    );
    // Actions have windows, not durations.
    let mut a = request(asker(), action("deploy", "prod"));
    a.duration_secs = Some(30 * 24 * 3600);
    assert!(p.plan(&a).is_ok());
}

#[test]
fn tickets_are_required_where_the_rule_says() {
    let (p, _) = parse_ok(
        "[[access]]\nid = \"t\"\nentitlements = [\"*:*\"]\napprovers = [\"manager\"]\nticket_required = true\n",
    );
    let mut r = request(asker(), entitlement("erp", "X", false, None, None));
    let e = p.plan(&r).unwrap_err();
    assert_eq!(e.kind, RefusalKind::TicketRequired);
    assert!(
        e.reason.contains("access \"t\" requires a ticket"),
        "{}",
        e.reason
    );
    r.has_ticket = true;
    assert!(p.plan(&r).is_ok());
}

// ---------------------------------------------------------------- the default policy

#[test]
fn the_default_policy_as_documented() {
    let p = PolicySet::default_policy();
    let plan = p
        .plan(&request(
            asker(),
            entitlement("erp", "X", false, Some("O"), None),
        ))
        .unwrap();
    assert_eq!(
        plan,
        Plan {
            candidates: vec!["O".into()],
            required_approvals: 1,
            max_duration_secs: Some(8 * 3600),
            approval_window_secs: None,
            undecided_expiry_secs: 72 * 3600,
            reminder_after_secs: None,
            escalate_after_secs: None,
            mfa_required: false,
            matched_rule: BUILTIN_RULE.into(),
        }
    );
    let plan = p.plan(&request(asker(), action("deploy", "prod"))).unwrap();
    assert_eq!(plan.approval_window_secs, Some(24 * 3600));
    assert!(
        p.may_approve(
            &request(asker(), action("deploy", "prod")),
            &person("M1", None)
        )
        .is_ok()
    );
}

#[test]
fn people_who_are_not_active_may_not_request() {
    let p = PolicySet::default_policy();
    for status in [PersonStatus::Leave, PersonStatus::Terminated] {
        let mut requester = asker();
        requester.status = status;
        let e = p
            .plan(&request(
                requester,
                entitlement("erp", "X", false, Some("O"), None),
            ))
            .unwrap_err();
        assert_eq!(e.kind, RefusalKind::NotPermitted);
        assert!(
            e.reason.contains(&format!("E1 is {status}")),
            "{}",
            e.reason
        );
    }
    // Access for a leaver is refused; for someone on leave it is not.
    let mut r = request(asker(), entitlement("erp", "X", false, Some("O"), None));
    r.beneficiary = PersonFacts {
        status: PersonStatus::Terminated,
        ..person("E2", None)
    };
    assert!(p.plan(&r).unwrap_err().reason.contains("E2 is terminated"));
    r.beneficiary.status = PersonStatus::Leave;
    assert!(p.plan(&r).is_ok());
}

// ---------------------------------------------------------------- determinism

proptest! {
    /// Plans depend on the facts only: the same request planned twice, or
    /// under a re-parse of the same document, gives the same answer; and
    /// candidates never repeat nor include the parties.
    #[test]
    fn plans_are_deterministic_and_well_formed(
        requester in "E[1-6]",
        beneficiary in "E[1-6]",
        owner in proptest::option::of("E[1-6]"),
        system_owner in proptest::option::of("E[1-6]"),
        manager in proptest::option::of("E[1-6]"),
        critical in any::<bool>(),
        privileged in any::<bool>(),
    ) {
        let text = r#"
[groups]
g = ["E1", "E2", "E3", "E4"]
[[access]]
id = "p"
entitlements = ["*:*"]
privileged = true
approvers = ["entitlement_owner|system_owner", "group:g", "manager"]
count = 2
"#;
        let (a, _) = parse_ok(text);
        let (b, _) = parse_ok(text);
        let mut r = request(person(&requester, manager.as_deref()), entitlement("erp", "X", privileged, owner.as_deref(), system_owner.as_deref()));
        r.beneficiary = person(&beneficiary, None);
        r.worst_sod_severity = critical.then_some(Severity::Critical);
        let first = a.plan(&r);
        prop_assert_eq!(&first, &a.plan(&r));
        prop_assert_eq!(&first, &b.plan(&r));
        if let Ok(plan) = first {
            let mut seen = plan.candidates.clone();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), plan.candidates.len());
            prop_assert!(!plan.candidates.contains(&requester));
            prop_assert!(!plan.candidates.contains(&beneficiary));
            prop_assert!(plan.candidates.len() >= plan.required_approvals as usize);
            prop_assert!(plan.required_approvals >= 1);
            for c in &plan.candidates {
                prop_assert!(a.may_approve(&r, &person(c, None)).is_ok());
            }
        }
    }
}
