//! The starter document, policies/approvals.toml, against the demo
//! organisation it was written for (`soxctl demo`, seed 2026, 300 people).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use soxctl_policy::{
    PersonFacts, PersonStatus, Plan, PolicySet, RefusalKind, RequestFacts, Severity, Subject,
    render_errors,
};
use std::collections::BTreeMap;
use std::path::Path;

const STARTER: &str = include_str!("../../../policies/approvals.toml");

/// `soxctl demo`'s default seed and size.
const SEED: u64 = 2026;

struct Org {
    people: BTreeMap<String, PersonFacts>,
    system_owner: BTreeMap<String, String>,
    /// (system, entitlement) → (privileged, owner)
    entitlements: BTreeMap<(String, String), (bool, Option<String>)>,
    role_owner: BTreeMap<String, String>,
}

fn rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(file)).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn demo() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let as_of = chrono::DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z")
        .unwrap()
        .to_utc();
    soxctl_demo::generate(&soxctl_demo::DemoConfig::new(SEED, as_of), dir.path()).unwrap();
    let people = rows(dir.path(), "people.csv")
        .into_iter()
        .map(|r| {
            let p = PersonFacts {
                id: r["person_id"].clone(),
                status: r["status"].parse().unwrap(),
                manager_id: some(&r["manager_id"]),
                department: some(&r["department"]),
                title: some(&r["title"]),
            };
            (p.id.clone(), p)
        })
        .collect();
    let system_owner = rows(dir.path(), "systems.csv")
        .into_iter()
        .map(|r| (r["system_id"].clone(), r["owner_id"].clone()))
        .collect();
    let entitlements = rows(dir.path(), "entitlements.csv")
        .into_iter()
        .map(|r| {
            (
                (r["system_id"].clone(), r["entitlement_id"].clone()),
                (r["privileged"] == "true", some(&r["owner_id"])),
            )
        })
        .collect();
    let role_owner = rows(dir.path(), "roles.csv")
        .into_iter()
        .map(|r| (r["role_id"].clone(), r["owner_id"].clone()))
        .collect();
    Org {
        people,
        system_owner,
        entitlements,
        role_owner,
    }
}

fn starter() -> PolicySet {
    match PolicySet::parse(STARTER) {
        Ok((p, warnings)) => {
            assert!(warnings.is_empty(), "{warnings:#?}");
            p
        }
        Err(errors) => panic!("{}", render_errors(&errors)),
    }
}

impl Org {
    fn person(&self, id: &str) -> PersonFacts {
        self.people
            .get(id)
            .cloned()
            .unwrap_or_else(|| panic!("no person {id}"))
    }

    fn entitlement(&self, system: &str, ent: &str) -> Subject {
        let (privileged, owner) = self.entitlements[&(system.to_owned(), ent.to_owned())].clone();
        Subject::Entitlement {
            system_id: system.into(),
            entitlement_id: ent.into(),
            privileged,
            entitlement_owner: owner,
            system_owner: self.system_owner.get(system).cloned(),
        }
    }

    fn role(&self, role: &str) -> Subject {
        Subject::Role {
            role_id: role.into(),
            privileged: false,
            role_owner: self.role_owner.get(role).cloned(),
        }
    }

    fn request(&self, who: &str, subject: Subject) -> RequestFacts {
        RequestFacts {
            requester: self.person(who),
            beneficiary: self.person(who),
            subject,
            duration_secs: None,
            worst_sod_severity: None,
            has_ticket: false,
            proxy_credential: false,
        }
    }

    /// The candidates who pass `may_approve` too.
    fn eligible(&self, p: &PolicySet, r: &RequestFacts, plan: &Plan) -> Vec<String> {
        plan.candidates
            .iter()
            .filter(|c| p.may_approve(r, &self.person(c)).is_ok())
            .cloned()
            .collect()
    }
}

#[test]
fn the_starter_groups_are_the_people_their_comments_say() {
    let org = demo();
    let p = starter();
    let titles: &[(&str, &[&str])] = &[
        (
            "release-managers",
            &["VP Engineering", "Senior Engineering Manager"],
        ),
        (
            "finance-controllers",
            &["Corporate Controller", "Accounting Manager"],
        ),
        (
            "change-advisory",
            &["Director of IT Operations", "IT Manager"],
        ),
        ("legal", &["General Counsel", "Deputy General Counsel"]),
        (
            "data-owners",
            &["Director of IT Operations", "Corporate Controller"],
        ),
        (
            "security-leads",
            &["Director of Security Operations", "Security Manager"],
        ),
        (
            "internal-audit",
            &["Director of Internal Audit", "Internal Auditor"],
        ),
    ];
    for (group, allowed) in titles {
        let members = p.group(group).unwrap_or_else(|| panic!("no group {group}"));
        assert!(!members.is_empty());
        for id in members {
            let person = org.person(id);
            assert_eq!(person.status, PersonStatus::Active, "{group}: {id}");
            let title = person.title.as_deref().unwrap_or("");
            assert!(allowed.contains(&title), "{group}: {id} is a {title}");
        }
    }
    // Every active internal auditor is in the group (audit independence).
    for person in org.people.values() {
        if person.department.as_deref() == Some("Internal Audit")
            && person.status == PersonStatus::Active
        {
            assert!(
                p.groups_of(&person.id).contains(&"internal-audit"),
                "{}",
                person.id
            );
        }
    }
}

#[test]
fn privileged_erp_access_goes_to_the_owner_for_four_hours_with_mfa() {
    let org = demo();
    let p = starter();
    let sre = "E00042";
    assert_eq!(
        org.person(sre).title.as_deref(),
        Some("Site Reliability Engineer")
    );
    let mut r = org.request(sre, org.entitlement("erp", "SAP_ALL"));
    r.duration_secs = Some(2 * 3600);
    r.has_ticket = true;
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "access \"erp-privileged\"");
    assert_eq!(
        plan.candidates,
        ["E00006"],
        "the corporate controller owns the ERP"
    );
    assert_eq!(plan.required_approvals, 1);
    assert_eq!(plan.max_duration_secs, Some(4 * 3600));
    assert!(plan.mfa_required);
    assert_eq!(org.eligible(&p, &r, &plan), ["E00006"]);

    r.duration_secs = Some(6 * 3600);
    let e = p.plan(&r).unwrap_err();
    assert_eq!(e.kind, RefusalKind::TooLong);
    assert!(e.reason.contains("allows at most 4h"), "{}", e.reason);

    r.duration_secs = None;
    r.has_ticket = false;
    assert_eq!(p.plan(&r).unwrap_err().kind, RefusalKind::TicketRequired);
}

#[test]
fn identity_admin_needs_the_owner_and_a_security_lead() {
    let org = demo();
    let p = starter();
    let mut r = org.request("E00021", org.entitlement("okta", "super_admin"));
    r.has_ticket = true;
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "access \"identity-admin\"");
    // E00045 owns Okta and leads security: the other leads make up the pool.
    assert_eq!(plan.candidates, ["E00045", "E00037", "E00199"]);
    assert_eq!(plan.required_approvals, 2);
    assert_eq!(plan.max_duration_secs, Some(2 * 3600));
}

#[test]
fn prod_deploys_need_two_release_managers() {
    let org = demo();
    let p = starter();
    let r = org.request(
        "E00042",
        Subject::Action {
            kind: "deploy".into(),
            env: "prod".into(),
        },
    );
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "action \"deploy-prod\"");
    assert_eq!(plan.candidates, ["E00003", "E00008", "E00152"]);
    assert_eq!(plan.required_approvals, 2);
    assert_eq!(plan.approval_window_secs, Some(24 * 3600));
    assert!(plan.mfa_required);
    // A release manager deploying leaves exactly the other two.
    let r = org.request(
        "E00008",
        Subject::Action {
            kind: "deploy".into(),
            env: "prod".into(),
        },
    );
    assert_eq!(p.plan(&r).unwrap().candidates, ["E00003", "E00152"]);
    // Staging goes to the requester's manager.
    let r = org.request(
        "E00042",
        Subject::Action {
            kind: "deploy".into(),
            env: "staging".into(),
        },
    );
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "action \"deploy-other\"");
    assert_eq!(plan.candidates, [org.person("E00042").manager_id.unwrap()]);
}

#[test]
fn credentials_someone_else_issued_decide_nothing_privileged_or_in_production() {
    let org = demo();
    let p = starter();
    let deploy = |env: &str, proxy: bool| RequestFacts {
        proxy_credential: proxy,
        ..org.request(
            "E00042",
            Subject::Action {
                kind: "deploy".into(),
                env: env.into(),
            },
        )
    };
    let manager = org.person("E00042").manager_id.unwrap();
    assert!(
        p.may_decide(&deploy("staging", true), &org.person(&manager))
            .is_ok()
    );
    for env in ["prod", "prod-eu", "production"] {
        assert!(
            p.may_decide(&deploy(env, false), &org.person("E00003"))
                .is_ok()
        );
        let refused = p
            .may_decide(&deploy(env, true), &org.person("E00003"))
            .unwrap_err();
        assert!(
            refused
                .reason
                .contains("own-credentials-for-privileged-and-production"),
            "{env}: {}",
            refused.reason
        );
    }
    let privileged = RequestFacts {
        proxy_credential: true,
        has_ticket: true,
        ..org.request("E00042", org.entitlement("erp", "USER_ADMIN"))
    };
    let plan = p.plan(&privileged).unwrap();
    let owner = plan.candidates.first().unwrap();
    assert!(p.may_decide(&privileged, &org.person(owner)).is_err());
}

#[test]
fn payments_come_from_finance_and_go_to_a_controller() {
    let org = demo();
    let p = starter();
    let treasury = "E00026";
    assert_eq!(org.person(treasury).department.as_deref(), Some("Treasury"));
    let payment = || Subject::Action {
        kind: "payment".into(),
        env: "prod".into(),
    };
    let r = org.request(treasury, payment());
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.candidates, ["E00006", "E00209", "E00265"]);
    assert_eq!(
        (plan.required_approvals, plan.approval_window_secs),
        (1, Some(8 * 3600))
    );
    assert_eq!(org.eligible(&p, &r, &plan), plan.candidates);

    let e = p.plan(&org.request("E00042", payment())).unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotPermitted);
    assert!(e.reason.contains("payments-from-finance"), "{}", e.reason);
}

#[test]
fn money_movement_access_with_a_critical_conflict() {
    let org = demo();
    let p = starter();
    // A treasury analyst asks for payment release: owner (the treasurer) and
    // a finance controller; two approvals either way.
    let mut r = org.request("E00026", org.entitlement("bank", "PAYMENT_RELEASE"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "access \"money-movement\"");
    assert_eq!(plan.candidates, ["E00004", "E00006", "E00209", "E00265"]);
    assert_eq!(plan.required_approvals, 2);
    // It would add a critical SoD conflict (initiate + release): a ticket is needed.
    r.worst_sod_severity = Some(Severity::Critical);
    let e = p.plan(&r).unwrap_err();
    assert!(
        e.reason.contains("critical-conflicts-need-a-ticket"),
        "{}",
        e.reason
    );
    r.has_ticket = true;
    assert_eq!(p.plan(&r).unwrap().required_approvals, 2);
}

#[test]
fn roles_read_only_and_everything_else() {
    let org = demo();
    let p = starter();
    // A finance role goes to its owner.
    let r = org.request("E00026", org.role("TREASURY_MANAGER"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "access \"finance-roles\"");
    assert_eq!(plan.candidates, ["E00004"]);
    assert_eq!(plan.max_duration_secs, Some(5 * 24 * 3600));
    // Read-only access goes to the manager, for up to a week, without MFA.
    let r = org.request("E00042", org.entitlement("erp", "DISPLAY"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "access \"read-only\"");
    assert_eq!(plan.candidates, [org.person("E00042").manager_id.unwrap()]);
    assert!(!plan.mfa_required);
    // Anything else: the defaults (owner, 8h).
    let r = org.request("E00042", org.entitlement("erp", "GL_POST"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.matched_rule, "[defaults]");
    assert_eq!(plan.candidates, ["E00006"]);
    assert_eq!(plan.max_duration_secs, Some(8 * 3600));
    assert_eq!(
        (plan.reminder_after_secs, plan.escalate_after_secs),
        (Some(24 * 3600), Some(48 * 3600))
    );
}

#[test]
fn auditors_and_people_on_leave_do_not_approve() {
    let org = demo();
    let p = starter();
    // An internal auditor asks for read-only access: their manager, the
    // director of internal audit, is routed to but may not approve.
    let r = org.request("E00059", org.entitlement("erp", "DISPLAY"));
    let plan = p.plan(&r).unwrap();
    assert_eq!(plan.candidates, ["E00005"]);
    let e = p.may_approve(&r, &org.person("E00005")).unwrap_err();
    assert!(e.reason.contains("audit-stays-independent"), "{}", e.reason);
    // Someone on leave routed to is refused by Cedar.
    let on_leave = PersonFacts {
        status: PersonStatus::Leave,
        ..org.person("E00006")
    };
    let r = org.request("E00042", org.entitlement("erp", "GL_POST"));
    let e = p.may_approve(&r, &on_leave).unwrap_err();
    assert!(e.reason.contains("no-approvals-on-leave"), "{}", e.reason);
}

#[test]
fn every_demo_entitlement_and_role_gets_a_plan_or_a_clear_refusal() {
    let org = demo();
    let p = starter();
    let requester = "E00042";
    for (system, ent) in org.entitlements.keys() {
        let mut r = org.request(requester, org.entitlement(system, ent));
        r.has_ticket = true;
        match p.plan(&r) {
            Ok(plan) => {
                assert!(plan.candidates.len() >= plan.required_approvals as usize);
                for c in &plan.candidates {
                    assert!(
                        org.people.contains_key(c),
                        "{system}:{ent} routes to unknown {c}"
                    );
                }
            }
            Err(e) => panic!("{system}:{ent}: {e}"),
        }
    }
    for role in org.role_owner.keys() {
        p.plan(&org.request(requester, org.role(role)))
            .unwrap_or_else(|e| panic!("role {role}: {e}"));
    }
}
