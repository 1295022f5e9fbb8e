#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use super::*;

const GOOD: &str = r#"
[[function]]
id = "VENDOR_MAINTAIN"
name = "Create or change vendor master data"
entitlements = ["erp:VENDOR_CREATE", "erp:VENDOR_*", { all = ["sap:ACT_POST", "sap:PERM_GL"] }]

[[function]]
id = "PAYMENT_APPROVE"
entitlements = ["erp:PAYMENT_APPROVE", "bank:WIRE:RELEASE"]

[[risk]]
id = "P2P-01"
name = "Fictitious vendor: create a vendor and pay it"
severity = "critical"
process = "P2P"
reason = "A person who can create a vendor and pay it can pay themselves."
functions = ["VENDOR_MAINTAIN", "PAYMENT_APPROVE"]
"#;

fn errors(text: &str) -> Vec<String> {
    RuleSet::parse(text)
        .expect_err("rules should be rejected")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn function(id: &str, entitlements: &str) -> String {
    format!("[[function]]\nid = \"{id}\"\nentitlements = {entitlements}\n")
}

fn risk(id: &str, severity: &str, functions: &str) -> String {
    format!("[[risk]]\nid = \"{id}\"\nseverity = \"{severity}\"\nfunctions = {functions}\n")
}

#[test]
fn a_good_file_parses_into_typed_items() {
    let rules = RuleSet::parse(GOOD).unwrap();
    let f = rules.function("VENDOR_MAINTAIN").unwrap();
    assert_eq!(f.items.len(), 3);
    assert!(
        matches!(&f.items[0], Item::Ref(r) if r.system() == "erp" && r.entitlement() == "VENDOR_CREATE")
    );
    assert!(matches!(&f.items[1], Item::Glob(g) if g.pattern() == "VENDOR_*"));
    assert!(matches!(&f.items[2], Item::AllOf(m) if m.len() == 2));
    let p = rules.function("PAYMENT_APPROVE").unwrap();
    assert!(
        matches!(&p.items[1], Item::Ref(r) if r.system() == "bank" && r.entitlement() == "WIRE:RELEASE")
    );
    let r = rules.risk("P2P-01").unwrap();
    assert_eq!(r.severity, Severity::Critical);
    assert_eq!(r.process.as_deref(), Some("P2P"));
    assert_eq!(RuleSet::parse(&rules.to_toml().unwrap()).unwrap(), rules);
    let json = serde_json::to_value(&rules).unwrap();
    assert_eq!(
        json["function"][0]["entitlements"][2]["all"][1],
        "sap:PERM_GL"
    );
}

#[test]
fn severities_are_ordered() {
    assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
    assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
}

#[test]
fn syntax_errors_give_line_and_column() {
    let e = errors("[[function]]\nid = \"A\"\nentitlements = [\"erp:X\"\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e, ["line 4, column 1: invalid array; expected `]`"]);
}

#[test]
fn unknown_keys_are_errors() {
    let e = errors(&format!(
        "{}color = \"red\"\n",
        function("A", "[\"erp:X\"]")
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("line 4, column 1: unknown field `color`"),
        "{e:?}"
    );
    let e = errors(&function("A", "[{ any = [\"erp:X\"] }]"));
    assert!(
        e[0].contains("unknown key `any` in an all-of group"),
        "{e:?}"
    );
}

#[test]
fn missing_required_keys_are_errors() {
    let e = errors("[[function]]\nid = \"A\"\n");
    assert!(e[0].contains("missing field `entitlements`"), "{e:?}");
    let text = format!(
        "{}{}",
        function("A", "[\"erp:X\"]"),
        "[[risk]]\nid = \"R\"\nfunctions = [\"A\", \"B\"]\n"
    );
    assert!(errors(&text)[0].contains("missing field `severity`"));
}

#[test]
fn every_semantic_error_is_reported_at_once() {
    let text = [
        function("A", "[\"erp:X\"]"),
        function("A", "[\"erp:Y\"]"),
        function("EMPTY", "[]"),
        function("BAD", "[\"nocolon\", \":X\", \"erp:\", \"er*:X\"]"),
        function("GROUPS", "[{ all = [] }, { all = [\"erp:X\", \"sap:Y\"] }]"),
        risk("R1", "severe", "[\"A\", \"MISSING\"]"),
        risk("R2", "low", "[\"A\", \"A\"]"),
        risk("R2", "low", "[\"A\", \"EMPTY\"]"),
    ]
    .concat();
    assert_eq!(
        errors(&text),
        [
            "function 'A' is defined more than once; function ids must be unique",
            "risk 'R2' is defined more than once; risk ids must be unique",
            "function 'EMPTY' has no entitlements; list at least one \"system:entitlement\"",
            "function 'BAD': 'nocolon' has no ':'; write system_id:entitlement_id",
            "function 'BAD': ':X' has an empty system part; write system_id:entitlement_id",
            "function 'BAD': 'erp:' has an empty entitlement part; write system_id:entitlement_id",
            "function 'BAD': 'er*:X' has a wildcard in the system part; only the entitlement part may contain * or ?",
            "function 'GROUPS' has an empty all-of group; list at least one member",
            "function 'GROUPS': all-of group { all = [\"erp:X\", \"sap:Y\"] } spans systems erp, sap; one account must hold every member, so list members of one system only",
            "risk 'R1' has severity 'severe'; use one of low, medium, high, critical",
            "risk 'R1' names function 'MISSING', which is not defined; add a [[function]] with id = \"MISSING\" or fix the name",
            "risk 'R2' lists 1 distinct function(s); a conflict needs at least 2 distinct functions",
        ]
    );
}

#[test]
fn the_error_list_renders_as_one_message() {
    let one = RuleSet::parse(&[function("A", "[\"erp:X\"]"), risk("R", "low", "[\"A\"]")].concat())
        .unwrap_err();
    assert_eq!(
        one.to_string(),
        "invalid rules: risk 'R' lists 1 distinct function(s); a conflict needs at least 2 distinct functions"
    );
    let two =
        RuleSet::parse(&[function("A", "[]"), function("A", "[\"x\"]")].concat()).unwrap_err();
    assert!(
        two.to_string()
            .starts_with("invalid rules (3 errors):\n  - "),
        "{two}"
    );
}

#[test]
fn an_empty_file_is_an_empty_rule_set() {
    assert_eq!(RuleSet::parse("").unwrap().risks.len(), 0);
}

#[test]
fn json_reads_back_through_validation() {
    let bad = r#"{"function":[{"id":"A","entitlements":["erp:X"]}],"risk":[{"id":"R","severity":"low","functions":["A"]}]}"#;
    let e = serde_json::from_str::<RuleSet>(bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least 2 distinct functions"), "{e}");
}
