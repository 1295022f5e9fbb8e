//! Which rule a request falls under: the first that matches, else the
//! defaults; routing and plans are only as right as this choice.

use super::*;

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
