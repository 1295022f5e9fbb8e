#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use super::*;

const RULES: &str = r#"
[[function]]
id = "VENDOR"
entitlements = ["erp:VENDOR_CREATE", "erp:VENDOR_*", "erp:MISSING", { all = ["sap:A", "sap:B*"] }]

[[function]]
id = "PAY"
entitlements = ["erp:PAY"]

[[risk]]
id = "R"
severity = "high"
functions = ["VENDOR", "PAY"]
"#;

fn messages(warnings: &[Warning]) -> Vec<String> {
    warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn what_matches_nothing_is_a_warning_that_names_function_and_item() {
    let rules = RuleSet::parse(RULES).unwrap();
    let mut catalogue = Catalogue::new();
    catalogue.insert("erp", "PAY");
    catalogue.insert("sap", "A");
    let (_, warnings) = Compiled::compile(&rules, &catalogue);
    assert_eq!(
        messages(&warnings),
        [
            "function 'VENDOR': entitlement 'erp:VENDOR_CREATE' is unknown (in no entitlements list or grant), so it matches nothing; check the spelling (ids are case-sensitive)",
            "function 'VENDOR': pattern 'erp:VENDOR_*' matches no known entitlement, so it matches nothing; check the system and the pattern (case-sensitive)",
            "function 'VENDOR': entitlement 'erp:MISSING' is unknown (in no entitlements list or grant), so it matches nothing; check the spelling (ids are case-sensitive)",
            "function 'VENDOR': pattern 'sap:B*' matches no known entitlement, so it matches nothing; check the system and the pattern (case-sensitive); the all-of group containing it cannot be held",
        ]
    );
}

#[test]
fn refresh_resolves_new_entitlements_against_references_and_patterns() {
    let rules = RuleSet::parse(RULES).unwrap();
    let mut catalogue = Catalogue::new();
    let pay = catalogue.insert("erp", "PAY");
    let (mut c, warnings) = Compiled::compile(&rules, &catalogue);
    assert_eq!(warnings.len(), 5);
    let create = catalogue.insert("erp", "VENDOR_CREATE");
    let edit = catalogue.insert("erp", "VENDOR_EDIT");
    let b1 = catalogue.insert("sap", "B1");
    let warnings = c.refresh(&catalogue);
    assert_eq!(
        warnings.iter().map(|w| w.item.as_str()).collect::<Vec<_>>(),
        ["erp:MISSING", "sap:A"]
    );
    assert_eq!(c.postings(pay), &[Posting::Function(1)]);
    // The exact reference and the pattern both give VENDOR: one posting.
    assert_eq!(c.postings(create), &[Posting::Function(0)]);
    assert_eq!(c.postings(edit), &[Posting::Function(0)]);
    assert_eq!(c.postings(b1), &[Posting::Member { group: 0, bit: 1 }]);
    assert_eq!(c.catalogue_len(), 4);
    // Not in the catalogue: computed without changing anything.
    assert_eq!(
        c.postings_for_new("erp", "VENDOR_X"),
        [Posting::Function(0)]
    );
    assert_eq!(
        c.postings_for_new("sap", "A"),
        [Posting::Member { group: 0, bit: 0 }]
    );
    assert!(c.postings_for_new("ERP", "VENDOR_X").is_empty());
    assert_eq!(c.catalogue_len(), 4);
}
