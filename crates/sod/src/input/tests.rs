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

/// A file big enough for the parallel accounts path, and the same file with
/// one quoted field, which sends it through the csv crate row by row.
fn big_accounts(extra: &str) -> (String, String) {
    let mut plain = String::from("system_id,account_id,person_id,kind,status,last_login,mfa\n");
    for i in 0..9000 {
        let (system, kind, status) = match i % 7 {
            0 => ("bank", "service", "active"),
            1 => ("erp", "human", "disabled"),
            2 => ("crm", "shared", "active"),
            _ => ("erp", "human", "active"),
        };
        let person = if i % 11 == 0 {
            String::new()
        } else {
            format!("p{}", i % 3000)
        };
        plain.push_str(&format!(
            "{system},u{i},{person},{kind},{status},2025-06-01T09:00:00Z,true\n"
        ));
        if i == 6000 {
            plain.push_str(extra);
        }
    }
    let quoted = plain.replacen("bank,u0,", "\"bank\",u0,", 1);
    assert!(plain.len() > 1 << 18 && quoted != plain);
    (plain, quoted)
}

#[test]
fn big_accounts_files_load_the_same_on_every_path() {
    let (plain, quoted) = big_accounts("");
    let mut grants = String::from("system_id,account_id,entitlement_id\n");
    for i in 0..9000 {
        let system = match i % 7 {
            0 => "bank",
            2 => "crm",
            _ => "erp",
        };
        for e in ["PAY", "VENDOR_CREATE", "WIRE"].iter().take(1 + i % 3) {
            grants.push_str(&format!("{system},u{i},{e}\n"));
        }
    }
    let fast = load(&plain, &grants).unwrap();
    let slow = load(&quoted, &grants).unwrap();
    assert_eq!(fast.identity_count(), slow.identity_count());
    assert_eq!(fast.account_count(), 9000);
    assert!(!lines(&fast).is_empty());
    assert_eq!(lines(&fast), lines(&slow));
}

#[test]
fn big_accounts_files_report_the_same_errors_on_every_path() {
    let extra = "erp,u3,p1,human,active,,\nerp,bad,p1,robot,active,,\nerp,,p1,human,active,,\ncrm,u5,,shared,paused,,\n";
    let (plain, quoted) = big_accounts(extra);
    let grants = "system_id,account_id,entitlement_id\n";
    let fast = load(&plain, grants).unwrap_err();
    let slow = load(&quoted, grants).unwrap_err();
    assert_eq!(fast, slow);
    assert_eq!(fast.0.len(), 4);
    assert_eq!(
        fast.0[0].to_string(),
        "accounts.csv line 6003, column account_id: account erp:u3 is listed twice; each (system_id, account_id) must be unique"
    );
}

/// A reader handing out at most 777 bytes a call.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(777).min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        buf[..n].copy_from_slice(head);
        self.0 = tail;
        Ok(n)
    }
}

/// The dataset (or errors) from `grants` read in small blocks, in memory
/// and from a reader.
fn load_in_blocks(accounts: &str, grants: &str) -> [Result<Dataset, InputErrors>; 2] {
    let in_memory = super::load(accounts.as_bytes(), None, |b, e| {
        grants::read_in_blocks(grants.as_bytes(), 5000, b, e)
    });
    let streamed = super::load(accounts.as_bytes(), None, |b, e| {
        grants::read_stream_in_blocks(Trickle(grants.as_bytes()), None, 5000, b, e)
    });
    [in_memory, streamed]
}

fn catalogue_order(d: &Dataset) -> Vec<String> {
    (0..d.catalogue().len() as u32)
        .map(|e| d.catalogue().reference(e))
        .collect()
}

#[test]
fn grants_read_in_blocks_or_streamed_load_the_same() {
    let mut accounts = String::from("system_id,account_id,person_id,kind,status\n");
    let mut grants = String::from("system_id,account_id,entitlement_id,granted_at,source\n");
    for i in 0..3000 {
        accounts.push_str(&format!("erp,u{i},p{},human,active\n", i % 700));
        for e in 0..20 {
            grants.push_str(&format!("erp,u{i},E{},,direct\n", (i * 7 + e) % 3000));
        }
        if i % 500 == 0 {
            grants.push_str(&format!(
                "erp,u{i},VENDOR_CREATE,,\r\n\nerp,u{i},PAY,,direct\n"
            ));
        }
    }
    let whole = load(&accounts, &grants).unwrap();
    for d in load_in_blocks(&accounts, &grants) {
        let d = d.unwrap();
        assert_eq!(d.grant_count(), whole.grant_count());
        assert_eq!(catalogue_order(&d), catalogue_order(&whole));
        assert_eq!(lines(&d), lines(&whole));
        assert!(!lines(&d).is_empty());
    }
    // Quotes half-way: the rest goes through the csv crate, same result.
    let at = grants.len() / 2 + grants[grants.len() / 2..].find('\n').unwrap() + 1;
    let quoted = format!(
        "{}\"erp\",\"u1\",\"E1\",,direct\n{}",
        &grants[..at],
        &grants[at..]
    );
    for d in load_in_blocks(&accounts, &quoted) {
        let d = d.unwrap();
        assert_eq!(catalogue_order(&d), catalogue_order(&whole));
        assert_eq!(lines(&d), lines(&whole));
    }
    // Errors keep their line numbers across blocks, before and after quotes.
    let total = grants.lines().count() as u64;
    let bad = format!("{grants}erp,ghost,E1,,direct\n");
    let bad_quoted = format!("{quoted}erp,ghost,E1,,direct\n");
    for (text, line) in [(&bad, total + 1), (&bad_quoted, total + 2)] {
        let expected = load(&accounts, text).unwrap_err();
        assert_eq!(expected.0[0].line, line);
        for e in load_in_blocks(&accounts, text) {
            assert_eq!(e.unwrap_err(), expected);
        }
    }
    // Through the public API, with the length hint.
    let streamed = load_csv_stream(SnapshotStream {
        accounts: accounts.as_bytes(),
        entitlements: None,
        grants: Trickle(grants.as_bytes()),
        grants_len: Some(grants.len() as u64),
    })
    .unwrap();
    assert_eq!(lines(&streamed), lines(&whole));
}

/// Rows as the byte scanner cuts them, and as a plain split on newlines and
/// commas does, for random texts of separators and their neighbours (the
/// zero-byte trick may flag `-` after `,` and `\x0b` after a newline).
#[test]
fn the_row_scanner_agrees_with_splitting() {
    let alphabet = [b',', b'\n', b'\r', b'-', 0x0b, b'+', b'a', 0x0d];
    let table = table::Table::open("t.csv", b"a,b,c\n").unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..3000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 40) as usize;
        let text: String = (0..len)
            .map(|i| alphabet[((seed >> (i % 60)) as usize + i * 7) % alphabet.len()] as char)
            .collect();
        let mut got = Vec::new();
        let mut errors = Vec::new();
        let lines = table::plain_rows(
            &table,
            &text,
            2,
            [0, 1, 2],
            &mut errors,
            &mut |line, row| {
                got.push((line, row.map(str::to_owned)));
                Ok(())
            },
        );
        let mut expected = Vec::new();
        let mut widths = Vec::new();
        let mut count = 0;
        for (line, row) in (2..).zip(text.split('\n')) {
            count += 1;
            let row = row.strip_suffix('\r').unwrap_or(row);
            if row.is_empty() {
                continue;
            }
            let fields: Vec<&str> = row.split(',').collect();
            if fields.len() == 3 {
                expected.push((line, [0, 1, 2].map(|i| fields[i].to_owned())));
            } else {
                widths.push(line);
            }
        }
        if text.ends_with('\n') || text.is_empty() {
            count -= 1;
        }
        assert_eq!(got, expected, "{text:?}");
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            widths,
            "{text:?}"
        );
        assert_eq!(lines, count as u64, "{text:?}");
    }
}

/// More than 100 errors in the first part of a big file: the first 100 by
/// line are reported, whatever the later parts found.
#[test]
fn many_errors_in_one_part_keep_the_first_hundred_by_line() {
    let mut bad = String::new();
    for i in 0..150 {
        bad.push_str(&format!("erp,bad{i},p1,robot,active,,\n"));
    }
    let (plain, quoted) = big_accounts("");
    // Errors at the start (first part) and at the very end (last part).
    let header_end = plain.find('\n').unwrap() + 1;
    let with = |text: &str| {
        format!(
            "{}{bad}{}erp,late,p1,robot,active,,\n",
            &text[..header_end],
            &text[header_end..]
        )
    };
    let fast = load(&with(&plain), "system_id,account_id,entitlement_id\n").unwrap_err();
    let slow = load(&with(&quoted), "system_id,account_id,entitlement_id\n").unwrap_err();
    assert_eq!(fast, slow);
    assert_eq!(fast.0.len(), 100);
    assert_eq!(fast.0.last().unwrap().line, 101);

    let mut grants = String::from("system_id,account_id,entitlement_id\n");
    for i in 0..150 {
        grants.push_str(&format!("erp,ghost{i},E1\n"));
    }
    for i in 0..100_000 {
        grants.push_str(&format!("erp,u{},E{}\n", 3 + 7 * (i % 1000), i % 50));
    }
    grants.push_str("erp,ghost,E1\n");
    assert!(grants.len() > 1 << 20);
    let expected = load(&quoted, &grants).unwrap_err();
    assert_eq!(expected.0.len(), 100);
    assert_eq!(expected.0.last().unwrap().line, 101);
    assert_eq!(load(&plain, &grants).unwrap_err(), expected);
    for got in load_in_blocks(&plain, &grants) {
        assert_eq!(got.unwrap_err(), expected);
    }
}
