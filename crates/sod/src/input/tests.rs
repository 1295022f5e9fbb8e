#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use super::*;
use crate::{Compiled, RuleSet, When, analyze};

const ACCOUNTS: &str = "\
system_id,account_id,person_id,kind,status,last_login,mfa
erp,u1,p1,human,active,2025-06-01T09:00:00Z,true
erp,u2,p1,human,disabled,,
erp,svc,,service,active,,
bank,b1,p1,human,active,,true
";

const GRANTS: &str = "\
system_id,account_id,entitlement_id,granted_at,source
erp,u1,VENDOR_CREATE,2024-01-01T00:00:00Z,direct
erp,u2,PAY,,direct
erp,svc,PAY,,direct
erp,svc,VENDOR:EDIT,,role:BATCH
bank,b1,WIRE,,direct
";

const RULES: &str = r#"
[[function]]
id = "V"
entitlements = ["erp:VENDOR*"]
[[function]]
id = "P"
entitlements = ["erp:PAY", "bank:WIRE"]
[[risk]]
id = "R"
severity = "high"
functions = ["V", "P"]
"#;

fn load(accounts: &str, grants: &str) -> Result<Dataset, InputErrors> {
    load_csv(SnapshotFiles {
        accounts: accounts.as_bytes(),
        grants: grants.as_bytes(),
        entitlements: None,
    })
}

fn lines(d: &Dataset) -> Vec<String> {
    let rules = RuleSet::parse(RULES).unwrap();
    let (c, _) = Compiled::compile(&rules, d.catalogue());
    analyze(&c, d, When::Now)
        .unwrap()
        .iter()
        .map(|v| v.to_json_line())
        .collect()
}

fn first_error(accounts: &str, grants: &str) -> String {
    load(accounts, grants).unwrap_err().0[0].to_string()
}

#[test]
fn plain_files_load_and_analyse() {
    let d = load(ACCOUNTS, GRANTS).unwrap();
    assert_eq!(
        (d.account_count(), d.grant_count(), d.catalogue().len()),
        (4, 5, 4)
    );
    assert_eq!(
        lines(&d),
        [
            r#"{"risk_id":"R","person_id":"account:erp:svc","severity":"high","functions":[{"function_id":"V","entitlements":["erp:VENDOR:EDIT"],"accounts":["erp:svc"]},{"function_id":"P","entitlements":["erp:PAY"],"accounts":["erp:svc"]}]}"#,
            r#"{"risk_id":"R","person_id":"p1","severity":"high","functions":[{"function_id":"V","entitlements":["erp:VENDOR_CREATE"],"accounts":["erp:u1"]},{"function_id":"P","entitlements":["bank:WIRE"],"accounts":["bank:b1"]}]}"#,
        ]
    );
}

#[test]
fn quoting_column_order_and_line_endings_do_not_change_the_result() {
    let accounts = "\
\u{feff}kind,status,\"system_id\",account_id,person_id,owner_id\r
human,active,erp,u1,p1,\"Smith, \"\"Jo\"\"\"\r
human,disabled,erp,u2,p1,\r
service,active,erp,svc,,\r
human,active,bank,b1,p1,\r
";
    let grants = "\
entitlement_id,system_id,account_id,source
\"VENDOR_CREATE\",erp,u1,\"role:A,B\"
PAY,erp,u2,direct

PAY,erp,svc,direct
\"VENDOR:EDIT\",erp,svc,direct
WIRE,bank,b1,direct
";
    let quoted = load(accounts, grants).unwrap();
    assert_eq!(lines(&quoted), lines(&load(ACCOUNTS, GRANTS).unwrap()));
}

#[test]
fn errors_name_file_line_column_and_fix() {
    let unknown = format!("{GRANTS}erp,ghost,PAY,,direct\n");
    assert_eq!(
        first_error(ACCOUNTS, &unknown),
        "grants.csv line 7, column account_id: unknown account erp:ghost (not in accounts.csv)"
    );
    let quoted = format!("{GRANTS}erp,\"ghost\",PAY,,direct\n");
    assert_eq!(
        first_error(ACCOUNTS, &quoted),
        first_error(ACCOUNTS, &unknown)
    );
    assert_eq!(
        first_error(&ACCOUNTS.replace("service", "robot"), GRANTS),
        "accounts.csv line 4, column kind: kind 'robot' is not one of: human, service, shared"
    );
    assert_eq!(
        first_error(&ACCOUNTS.replace("disabled", "locked"), GRANTS),
        "accounts.csv line 3, column status: status 'locked' is not one of: active, disabled"
    );
    assert_eq!(
        first_error(&format!("{ACCOUNTS}erp,u1,p9,human,active,,\n"), GRANTS),
        "accounts.csv line 6, column account_id: account erp:u1 is listed twice; each (system_id, account_id) must be unique"
    );
    assert_eq!(
        first_error(&ACCOUNTS.replace(",kind,", ",type,"), GRANTS),
        "accounts.csv line 1: missing column kind; the header must name system_id, account_id, person_id, kind, status (in any order)"
    );
    assert_eq!(
        first_error(ACCOUNTS, &format!("{GRANTS}erp,u1\n")),
        "grants.csv line 7: 2 fields, but the header has 5"
    );
    let both = ACCOUNTS
        .replace("service", "robot")
        .replace("disabled", "locked");
    assert_eq!(
        load(&both, GRANTS).unwrap_err().0.len(),
        2,
        "all errors are collected"
    );
}

#[test]
fn big_grant_files_split_in_two_and_count_lines_across_the_split() {
    let mut accounts = String::from("system_id,account_id,person_id,kind,status\n");
    let mut grants = String::from("system_id,account_id,entitlement_id,granted_at,source\n");
    for i in 0..3000 {
        accounts.push_str(&format!("erp,u{i},p{},human,active\n", i % 700));
        for e in 0..20 {
            // New entitlements appear in both halves of the file.
            grants.push_str(&format!("erp,u{i},E{},,direct\n", (i * 7 + e) % 3000));
        }
    }
    assert!(grants.len() > 1 << 20);
    let d = load(&accounts, &grants).unwrap();
    assert_eq!(d.grant_count(), 60_000);
    assert_eq!(d.catalogue().len(), 3000);
    assert_eq!(d.identity_count(), 700);
    let total_lines = grants.lines().count() as u64;
    grants.push_str("erp,ghost,E1,,direct\n");
    let e = load(&accounts, &grants).unwrap_err();
    assert_eq!(e.0[0].line, total_lines + 1);
}
