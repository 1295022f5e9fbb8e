//! Tests of the public behaviour: parsing and its errors, matching,
//! routing, Cedar decisions, the default policy and refusals.

use super::*;
use proptest::prelude::*;

fn parse_ok(text: &str) -> (PolicySet, Vec<Warning>) {
    match PolicySet::parse(text) {
        Ok(ok) => ok,
        Err(errors) => panic!("{}", render_errors(&errors)),
    }
}

fn errors(text: &str) -> Vec<String> {
    PolicySet::parse(text)
        .expect_err("the document should be rejected")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn person(id: &str, manager: Option<&str>) -> PersonFacts {
    PersonFacts {
        manager_id: manager.map(str::to_owned),
        ..PersonFacts::active(id)
    }
}

fn entitlement(
    system: &str,
    ent: &str,
    privileged: bool,
    owner: Option<&str>,
    system_owner: Option<&str>,
) -> Subject {
    Subject::Entitlement {
        system_id: system.into(),
        entitlement_id: ent.into(),
        privileged,
        entitlement_owner: owner.map(str::to_owned),
        system_owner: system_owner.map(str::to_owned),
    }
}

fn action(kind: &str, env: &str) -> Subject {
    Subject::Action {
        kind: kind.into(),
        env: env.into(),
    }
}

fn request(requester: PersonFacts, subject: Subject) -> RequestFacts {
    RequestFacts {
        beneficiary: requester.clone(),
        requester,
        subject,
        duration_secs: None,
        worst_sod_severity: None,
        has_ticket: false,
        proxy_credential: false,
    }
}

fn asker() -> PersonFacts {
    person("E1", Some("M1"))
}

// ---------------------------------------------------------------- parsing

#[test]
fn an_empty_document_is_the_defaults() {
    let (p, warnings) = parse_ok("");
    assert!(warnings.is_empty());
    assert!(!p.has_cedar());
    let plan = p
        .plan(&request(
            asker(),
            entitlement("erp", "X", false, Some("O1"), Some("S1")),
        ))
        .unwrap();
    assert_eq!(plan.matched_rule, DEFAULTS_RULE);
    assert_eq!(plan.candidates, ["O1"]);
    assert_eq!(plan.max_duration_secs, Some(8 * 3600));
    assert_eq!(plan.undecided_expiry_secs, 72 * 3600);
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = errors("[defaults]\nmax_duration = \"8h\"\ncount = \n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 3, column 9"), "{}", e[0]);
}

#[test]
fn unknown_keys_are_syntax_errors_with_place() {
    let e = errors("[[access]]\nid = \"a\"\nentitlements = [\"erp:*\"]\nmax_durration = \"4h\"\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 4, column 1"), "{}", e[0]);
    assert!(e[0].contains("max_durration"), "{}", e[0]);
}

#[test]
fn cedar_after_a_table_gets_a_hint() {
    let e = errors("[defaults]\ncount = 1\ncedar = 'permit(principal, action, resource);'\n");
    assert!(e[0].contains("top-level key"), "{}", e[0]);
}

#[test]
fn every_error_is_reported_at_once_with_its_place() {
    let text = r#"
[defaults]
max_duration = "8 parsecs"
critical_approvals = 0

[groups]
ops = ["E1", "E2"]

[[access]]
id = "a"
entitlements = ["erp:*", "nocolon"]
approvers = ["owner", "group:opz", "manager|person:"]
count = 1

[[access]]
id = "a"
entitlements = ["aws:*"]
max_duration = "0h"

[[action]]
id = "d"
kinds = ["deploy"]
approvers = ["group:ops"]
count = 3
window = "soon"
"#;
    let e = errors(text);
    let expect = [
        "line 3, column 16, defaults.max_duration: \"8 parsecs\" is not a duration",
        "line 4, column 22, defaults.critical_approvals: critical_approvals = 0; it must be between 1 and 20",
        "line 11, column 26, access[0].entitlements[1]: 'nocolon' is not an entitlement pattern",
        "line 12, column 14, access[0].approvers[0]: unknown approver 'owner'",
        "line 12, column 23, access[0].approvers[1]: group 'opz' is not defined",
        "line 12, column 36, access[0].approvers[2]: '' is not a usable person id",
        "line 16, column 6, access[1].id: access rule 'a' is defined more than once",
        "line 18, column 16, access[1].max_duration: \"0h\" is zero",
        "line 20, column 1, action[0]: count = 3 but these approvers name at most 2 distinct people",
        "line 25, column 10, action[0].window: \"soon\" is not a duration",
    ];
    assert_eq!(e.len(), expect.len(), "{e:#?}");
    for (got, want) in e.iter().zip(expect) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }
}

#[test]
fn a_count_no_routing_can_reach_is_an_error() {
    let e = errors(
        "[groups]\nrm = [\"E1\", \"E2\"]\n[[action]]\nid = \"d\"\nkinds = [\"deploy\"]\napprovers = [\"group:rm\"]\ncount = 3\n",
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "line 3, column 1, action[0]: count = 3 but these approvers name at most 2"
        ),
        "{}",
        e[0]
    );
    // A manager is one person; alternatives count, as they are drawn when short.
    let e = errors(
        "[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"manager\", \"manager\"]\ncount = 2\n",
    );
    assert!(e[0].contains("at most 1 distinct"), "{}", e[0]);
    assert!(PolicySet::parse(
        "[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"entitlement_owner|manager\"]\ncount = 2\n",
    )
    .is_ok());
    // The same person in two groups counts once.
    let e = errors(
        "[groups]\na = [\"E1\"]\nb = [\"E1\"]\n[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"group:a\", \"group:b\"]\ncount = 2\n",
    );
    assert!(e[0].contains("at most 1 distinct"), "{}", e[0]);
}

#[test]
fn rules_must_match_something() {
    let e = errors("[[access]]\nid = \"a\"\n[[action]]\nid = \"b\"\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("access rule 'a' matches nothing"));
    assert!(e[1].contains("action rule 'b' matches nothing"));
}

#[test]
fn bad_group_names_and_members() {
    let e = errors("[groups]\n\"release managers\" = [\"E1\", \"E 2\"]\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("'release managers' is not a usable group name"));
    assert!(
        e[1].starts_with("line 2, column 29, groups.release managers[1]: 'E 2'"),
        "{}",
        e[1]
    );
}

#[test]
fn warnings_for_legal_but_doubtful_documents() {
    let (_, w) = parse_ok(
        r#"
[defaults]
escalate_after = "80h"

[groups]
unused = ["E1"]
twice = ["E1", "E1"]

[[access]]
id = "all"
entitlements = ["*:*"]
roles = ["*"]
approvers = ["group:twice"]

[[access]]
id = "never"
entitlements = ["erp:*"]

[[action]]
id = "x"
kinds = ["deplyo"]
"#,
    );
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    let has = |s: &str| w.iter().any(|x| x.contains(s));
    assert!(
        has("escalate_after is not shorter than undecided_expiry"),
        "{w:#?}"
    );
    assert!(has("group 'unused' is used by no rule"), "{w:#?}");
    assert!(has("E1 is listed twice in group 'twice'"), "{w:#?}");
    assert!(
        has("access \"never\" never applies: access \"all\" before it"),
        "{w:#?}"
    );
    assert!(
        has("'deplyo' is not one of the built-in action kinds"),
        "{w:#?}"
    );
    assert!(has("critical SoD conflict needs 2 approvals"), "{w:#?}");
    assert!(!has("twice' is used by no rule"), "{w:#?}");
}

// ---------------------------------------------------------------- cedar parsing

#[test]
fn cedar_syntax_errors_point_into_the_file() {
    let text = "cedar = '''\npermit(principal, action, resource);\nforbid(principal, action resource);\n'''\n";
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    // The error is on the file's third line, where the Cedar text's second line is.
    assert!(e[0].starts_with("line 3, column "), "{}", e[0]);
    assert!(e[0].contains(", cedar: "), "{}", e[0]);
}

#[test]
fn cedar_validation_errors_name_the_typo_and_place() {
    let text = "cedar = '''\npermit(principal, action == Action::\"request\", resource)\nwhen { principal.departmnt == \"Treasury\" };\npermit(principal, action == Action::\"aprove\", resource);\n'''\n";
    let e = errors(text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("line 3, column "), "{}", e[0]);
    assert!(e[0].contains("departmnt"), "{}", e[0]);
    assert!(e[0].contains("did you mean `department`"), "{}", e[0]);
    assert!(e[1].starts_with("line 4, column "), "{}", e[1]);
    assert!(e[1].contains("aprove"), "{}", e[1]);
}

#[test]
fn cedar_errors_name_policies_by_their_id() {
    let text = "cedar = '''\n@id(\"finance\")\npermit(principal, action, resource)\nwhen { principal.departmnt == \"Finance\" };\n'''\n";
    let e = errors(text);
    assert!(e[0].starts_with("line 4, column "), "{}", e[0]);
    assert!(e[0].contains("for policy \"finance\""), "{}", e[0]);
}

#[test]
fn cedar_in_a_basic_string_with_escapes_gives_its_own_line() {
    let text =
        "cedar = \"permit(principal, action, resource);\\nforbid(principal, action resource);\"\n";
    let e = errors(text);
    assert!(e[0].contains("cedar (its line 2, column"), "{}", e[0]);
}

#[test]
fn cedar_groups_must_be_defined() {
    let text = "cedar = '''\nforbid(principal in Group::\"auditors\", action, resource);\npermit(principal, action, resource);\n'''\n[groups]\nauditor = [\"E1\"]\n";
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("line 2, column 21, cedar: group 'auditors' is not defined"),
        "{}",
        e[0]
    );
}

#[test]
fn cedar_without_any_approve_permit_is_warned() {
    let (_, w) =
        parse_ok("cedar = 'permit(principal, action == Action::\"request\", resource);'\n");
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].message
            .contains("Action::\"approve\"; every approval will be refused")
    );
}

#[test]
fn duplicate_cedar_ids_are_errors() {
    let e = errors(
        "cedar = '''\n@id(\"x\") permit(principal, action, resource);\n@id(\"x\") forbid(principal, action, resource);\n'''\n",
    );
    assert!(
        e[0].contains("two Cedar policies have @id(\"x\")"),
        "{}",
        e[0]
    );
}

#[test]
fn the_documented_schema_is_the_one_in_force() {
    let doc = include_str!("../../../docs/policies.md");
    assert!(
        doc.contains(CEDAR_SCHEMA),
        "docs/policies.md must show CEDAR_SCHEMA verbatim"
    );
}

// ---------------------------------------------------------------- matching

const MATCHING: &str = r#"
[[access]]
id = "vendor"
entitlements = ["erp:VENDOR_*"]
approvers = ["person:V"]

[[access]]
id = "privileged-aws"
entitlements = ["aws:*"]
privileged = true
approvers = ["person:P"]

[[access]]
id = "aws"
entitlements = ["aws:*"]
approvers = ["person:A"]

[[access]]
id = "treasury-roles"
roles = ["TREASURY_*"]
approvers = ["person:T"]

[[action]]
id = "deploy-prod"
kinds = ["deploy"]
envs = ["prod", "prod-*"]
approvers = ["person:D"]

[[action]]
id = "deploy"
kinds = ["deploy"]
approvers = ["person:d"]

[[action]]
id = "anything"
kinds = ["*"]
approvers = ["person:Z"]
"#;

fn rule_for(p: &PolicySet, subject: Subject) -> (String, Vec<String>) {
    let plan = p.plan(&request(asker(), subject)).unwrap();
    (plan.matched_rule, plan.candidates)
}

#[test]
fn first_matching_rule_wins() {
    let (p, _) = parse_ok(MATCHING);
    let cases = [
        (
            entitlement("erp", "VENDOR_CREATE", false, None, None),
            "access \"vendor\"",
            "V",
        ),
        (
            entitlement("aws", "AdministratorAccess", true, None, None),
            "access \"privileged-aws\"",
            "P",
        ),
        (
            entitlement("aws", "ReadOnlyAccess", false, None, None),
            "access \"aws\"",
            "A",
        ),
        (
            Subject::Role {
                role_id: "TREASURY_MANAGER".into(),
                privileged: true,
                role_owner: None,
            },
            "access \"treasury-roles\"",
            "T",
        ),
        (action("deploy", "prod"), "action \"deploy-prod\"", "D"),
        (action("deploy", "prod-eu"), "action \"deploy-prod\"", "D"),
        (action("deploy", "staging"), "action \"deploy\"", "d"),
        (action("payment", "prod"), "action \"anything\"", "Z"),
    ];
    for (subject, rule, who) in cases {
        let described = subject.describe();
        assert_eq!(
            rule_for(&p, subject),
            (rule.to_owned(), vec![who.to_owned()]),
            "{described}"
        );
    }
}

#[test]
fn unmatched_requests_fall_to_the_defaults() {
    let (p, _) = parse_ok(MATCHING);
    // An entitlement rule never matches a role, nor an access rule an action.
    let (rule, who) = rule_for(
        &p,
        Subject::Role {
            role_id: "AP_CLERK".into(),
            privileged: false,
            role_owner: Some("R".into()),
        },
    );
    assert_eq!((rule.as_str(), who), (DEFAULTS_RULE, vec!["R".to_owned()]));
    let (rule, _) = rule_for(&p, entitlement("erp", "VENDOR", false, Some("O"), None));
    assert_eq!(rule, DEFAULTS_RULE, "VENDOR_* needs the underscore");
    let (rule, _) = rule_for(&p, entitlement("awsx", "Admin", false, Some("O"), None));
    assert_eq!(rule, DEFAULTS_RULE);
}

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

// ---------------------------------------------------------------- Cedar decisions

const CEDAR: &str = r#"
cedar = '''
@id("finance-requests")
permit (principal, action == Action::"request", resource)
when { principal.department == "Finance" };

@id("no-long-privileged")
forbid (principal, action == Action::"request", resource)
when { context.privileged && context.duration_secs > 3600 };

@id("no-conflicts-without-ticket")
forbid (principal, action == Action::"request", resource in System::"erp")
when { context.sod_rank >= 3 && !context.has_ticket };

@id("approvers")
permit (principal in Group::"approvers", action == Action::"approve", resource);

@id("not-for-your-own-department")
forbid (principal, action == Action::"approve", resource)
when { principal.department == context.beneficiary.department };

@id("prod-deploys-by-seniors")
forbid (principal, action == Action::"approve", resource == ActionKind::"deploy")
when { context.env == "prod" && principal.title != "Senior" };
'''

[groups]
approvers = ["A1", "A2", "A3"]

[[access]]
id = "all"
entitlements = ["*:*"]
approvers = ["group:approvers"]

[[action]]
id = "deploy"
kinds = ["deploy"]
approvers = ["group:approvers"]
"#;

fn in_dept(id: &str, dept: &str) -> PersonFacts {
    PersonFacts {
        department: Some(dept.into()),
        ..PersonFacts::active(id)
    }
}

#[test]
fn cedar_decides_who_may_request() {
    let (p, w) = parse_ok(CEDAR);
    assert!(w.is_empty(), "{w:#?}");
    assert!(p.has_cedar());
    let ok = request(
        in_dept("E1", "Finance"),
        entitlement("erp", "GL_POST", false, None, None),
    );
    assert!(p.plan(&ok).is_ok());

    let e = p
        .plan(&request(
            in_dept("E1", "Sales"),
            entitlement("erp", "GL_POST", false, None, None),
        ))
        .unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotPermitted);
    assert!(
        e.reason
            .starts_with("no Cedar policy permits E1 to request erp:GL_POST"),
        "{}",
        e.reason
    );

    // Forbid wins over the permit; it sees the duration asked for, else the maximum (8h).
    let mut privileged = request(
        in_dept("E1", "Finance"),
        entitlement("erp", "SAP_ALL", true, None, None),
    );
    let e = p.plan(&privileged).unwrap_err();
    assert!(
        e.reason
            .contains("Cedar forbids E1 to request erp:SAP_ALL (policy \"no-long-privileged\")"),
        "{}",
        e.reason
    );
    privileged.duration_secs = Some(3600);
    assert!(p.plan(&privileged).is_ok());

    // `resource in System::"erp"` and the severity rank.
    let mut conflict = ok.clone();
    conflict.worst_sod_severity = Some(Severity::High);
    assert!(
        p.plan(&conflict)
            .unwrap_err()
            .reason
            .contains("no-conflicts-without-ticket")
    );
    conflict.has_ticket = true;
    assert!(p.plan(&conflict).is_ok());
    conflict.has_ticket = false;
    conflict.worst_sod_severity = Some(Severity::Medium);
    assert!(p.plan(&conflict).is_ok());
    conflict.worst_sod_severity = Some(Severity::High);
    conflict.subject = entitlement("bank", "VIEW", false, None, None);
    assert!(
        p.plan(&conflict).is_ok(),
        "only erp entitlements are in System::\"erp\""
    );
}

#[test]
fn cedar_decides_who_may_approve_among_the_routed() {
    let (p, _) = parse_ok(CEDAR);
    let r = request(
        in_dept("E1", "Finance"),
        entitlement("erp", "GL_POST", false, None, None),
    );
    assert!(p.may_approve(&r, &in_dept("A1", "Audit")).is_ok());
    let e = p.may_approve(&r, &in_dept("A2", "Finance")).unwrap_err();
    assert_eq!(e.kind, RefusalKind::NotPermitted);
    assert!(
        e.reason.contains(
            "Cedar forbids A2 to approve erp:GL_POST (policy \"not-for-your-own-department\")"
        ),
        "{}",
        e.reason
    );
    assert!(
        e.reason.contains("ask another of A1, A2, A3"),
        "{}",
        e.reason
    );
    // A permit by Cedar does not make someone who is not routed an approver.
    assert_eq!(
        p.may_approve(&r, &in_dept("Z9", "Audit")).unwrap_err().kind,
        RefusalKind::NotRouted
    );

    let deploy = request(in_dept("E1", "Finance"), action("deploy", "prod"));
    let senior = PersonFacts {
        title: Some("Senior".into()),
        ..in_dept("A3", "Engineering")
    };
    assert!(p.may_approve(&deploy, &senior).is_ok());
    let e = p
        .may_approve(&deploy, &in_dept("A3", "Engineering"))
        .unwrap_err();
    assert!(e.reason.contains("prod-deploys-by-seniors"), "{}", e.reason);
    let staging = request(in_dept("E1", "Finance"), action("deploy", "staging"));
    assert!(
        p.may_approve(&staging, &in_dept("A3", "Engineering"))
            .is_ok()
    );
}

#[test]
fn cedar_group_membership_comes_from_the_document() {
    let (p, _) = parse_ok(CEDAR);
    assert_eq!(p.groups_of("A2"), ["approvers"]);
    assert_eq!(p.group("approvers").unwrap(), ["A1", "A2", "A3"]);
    // Routed (by person:) but not in Group::"approvers": Cedar has no permit.
    let (p, _) = parse_ok(&CEDAR.replace(
        "approvers = [\"group:approvers\"]\n\n[[action]]",
        "approvers = [\"person:X1\"]\n\n[[action]]",
    ));
    let r = request(
        in_dept("E1", "Finance"),
        entitlement("erp", "GL_POST", false, None, None),
    );
    let e = p.may_approve(&r, &in_dept("X1", "Audit")).unwrap_err();
    assert!(
        e.reason
            .starts_with("no Cedar policy permits X1 to approve"),
        "{}",
        e.reason
    );
}

#[test]
fn without_cedar_routing_alone_decides() {
    let (p, _) =
        parse_ok("[[access]]\nid = \"a\"\nentitlements = [\"*:*\"]\napprovers = [\"person:X\"]\n");
    let r = request(
        in_dept("E1", "Sales"),
        entitlement("erp", "SAP_ALL", true, None, None),
    );
    assert!(p.plan(&r).is_ok());
    assert!(p.may_approve(&r, &in_dept("X", "Sales")).is_ok());
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

#[test]
fn break_glass_names_people_and_a_short_maximum() {
    let (set, _) = parse_ok("[break_glass]\npeople = [\"p1\", \"p2\", \"p1\"]\n");
    assert_eq!(
        set.break_glass(),
        Some(&BreakGlass {
            people: vec!["p1".into(), "p2".into()],
            max_duration_secs: BREAK_GLASS_DEFAULT_SECS,
        })
    );
    let (set, _) = parse_ok("[break_glass]\npeople = [\"p1\"]\nmax_duration = \"90m\"\n");
    assert_eq!(set.break_glass().map(|b| b.max_duration_secs), Some(5_400));
    assert_eq!(PolicySet::default_policy().break_glass(), None);
    assert_eq!(parse_ok("[defaults]\ncount = 1\n").0.break_glass(), None);
    let e = errors("[break_glass]\npeople = []\n");
    assert!(e.iter().any(|e| e.contains("people is empty")), "{e:?}");
    let e = errors("[break_glass]\npeople = [\"p1\"]\nmax_duration = \"2d\"\n");
    assert!(e.iter().any(|e| e.contains("at most 24h")), "{e:?}");
    let e = errors("[break_glass]\npeople = [\"p 1\"]\ncolour = \"red\"\n");
    assert!(!e.is_empty());
}
