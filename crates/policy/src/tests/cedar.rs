//! Cedar inside a policy: its parse and validation errors placed in the file,
//! and the decisions it adds on top of routing (who may request, who may approve).

use super::*;

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
    let doc = include_str!("../../../../docs/policies.md");
    assert!(
        doc.contains(CEDAR_SCHEMA),
        "docs/policies.md must show CEDAR_SCHEMA verbatim"
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
