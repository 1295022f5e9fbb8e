//! `who-has`, `access-of` and `history` against a store with two imports
//! a month apart: answers now, at an instant, and "unknown" before the
//! first import.

use crate::helpers::{Sandbox, col, edit_csv};
use crate::serve::{Server, free_port, get};
use serde_json::Value;

/// (system, account, entitlement, person) of the first grant of a human
/// account that has a person, from the snapshot's CSV files.
fn first_personal_grant(snapshot: &std::path::Path) -> (String, String, String, String) {
    let mut owner = std::collections::HashMap::new();
    edit_csv(&snapshot.join("accounts.csv"), |h, rows| {
        for r in rows.iter() {
            if !r[col(h, "person_id")].is_empty() && r[col(h, "status")] == "active" {
                owner.insert(
                    (
                        r[col(h, "system_id")].clone(),
                        r[col(h, "account_id")].clone(),
                    ),
                    r[col(h, "person_id")].clone(),
                );
            }
        }
    });
    let mut found = None;
    edit_csv(&snapshot.join("grants.csv"), |h, rows| {
        found = rows.iter().find_map(|r| {
            let key = (
                r[col(h, "system_id")].clone(),
                r[col(h, "account_id")].clone(),
            );
            owner.get(&key).map(|p| {
                (
                    key.0.clone(),
                    key.1.clone(),
                    r[col(h, "entitlement_id")].clone(),
                    p.clone(),
                )
            })
        });
    });
    found.expect("a grant of a correlated account")
}

fn set_extracted_at(snapshot: &std::path::Path, at: &str) {
    let path = snapshot.join("manifest.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("extracted_at") {
                format!("extracted_at = \"{at}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn point_in_time_questions_from_the_command_line() {
    let sb = Sandbox::new();
    let june = sb.snapshot("june", 11, 60);
    let data = sb.path("data");
    sb.import(&june, &data);
    let (system, account, entitlement, person) = first_personal_grant(&june);
    let reference = format!("{system}:{entitlement}");

    // July: the grant is gone.
    let july = sb.copy_snapshot(&june, "july");
    set_extracted_at(&july, "2025-07-31T17:00:00Z");
    edit_csv(&july.join("grants.csv"), |h, rows| {
        rows.retain(|r| {
            !(r[col(h, "system_id")] == system
                && r[col(h, "account_id")] == account
                && r[col(h, "entitlement_id")] == entitlement)
        });
    });
    sb.import(&july, &data);

    let holders = |at: Option<&str>| -> (Vec<Value>, String) {
        let mut args = args!["who-has", &reference, "--data", &data, "--format", "jsonl"];
        if let Some(at) = at {
            args.extend(args!["--at", at]);
        }
        let run = sb.run(args);
        run.ok();
        let rows = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (rows, run.stderr.clone())
    };
    let has = |rows: &[Value]| rows.iter().any(|r| r["account_id"] == account.as_str());
    let (now, _) = holders(None);
    assert!(!has(&now), "revoked in July: {now:?}");
    let (in_july, _) = holders(Some("2025-07-15"));
    assert!(has(&in_july), "held mid-July: {in_july:?}");
    let row = in_july
        .iter()
        .find(|r| r["account_id"] == account.as_str())
        .unwrap();
    assert_eq!(row["person_id"], person.as_str());
    // The API's holding (HoldingView): system and entitlement apart.
    assert_eq!(row["system_id"], system.as_str());
    assert_eq!(row["entitlement_id"], entitlement.as_str());
    assert!(row.get("entitlement").is_none(), "{row}");
    let (before, note) = holders(Some("2025-01-01"));
    assert!(before.is_empty());
    assert!(note.contains("unknown"), "{note}");

    // The JSON form carries the coverage.
    let json = sb
        .run(args![
            "who-has",
            &reference,
            "--data",
            &data,
            "--at",
            "2025-01-01",
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(json["coverage"]["state"], "unknown", "{json}");

    let access = sb
        .run(args![
            "access-of",
            &person,
            "--data",
            &data,
            "--at",
            "2025-07-15",
            "--format",
            "json"
        ])
        .ok()
        .json();
    let held: Vec<&str> = access["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["entitlement_id"].as_str().unwrap())
        .collect();
    assert!(held.contains(&entitlement.as_str()), "{access}");

    let history = sb.run(args![
        "history",
        &person,
        "--data",
        &data,
        "--from",
        "2025-07-01",
        "--to",
        "2025-08-31",
        "--format",
        "jsonl"
    ]);
    history.ok();
    let changes: Vec<Value> = history
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let revoked = changes
        .iter()
        .find(|c| c["change"] == "revoked" && c["entitlement_id"] == entitlement.as_str())
        .unwrap_or_else(|| panic!("revocation in {changes:?}"));
    assert_eq!(revoked["at"], "2025-07-31T17:00:00.000000Z");
    assert_eq!(revoked["recorded_by"], "system:cli");

    // Bad input: exit 2 with a reason.
    sb.run(args!["who-has", "no-colon", "--data", &data])
        .code(2)
        .stderr_has(&["system_id:entitlement_id"]);
    sb.run(args![
        "who-has",
        &reference,
        "--data",
        &data,
        "--at",
        "yesterday"
    ])
    .code(2)
    .stderr_has(&["--at"]);
    sb.run(args!["access-of", "nobody-here", "--data", &data])
        .code(2)
        .stderr_has(&["no person 'nobody-here'"]);
}

#[test]
fn findings_of_the_demo_organisation() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 5, 80);
    let data = sb.path("data");
    let summary = sb.import(&snap, &data);
    assert!(
        summary["findings_opened"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let run = sb.run(args!["findings", "--data", &data, "--format", "jsonl"]);
    run.ok();
    let findings: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    // The demo plants leavers who kept access and orphan accounts.
    for kind in ["leaver_access", "orphan_account"] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    assert!(findings.iter().all(|f| f["status"] == "open"));
    let critical = sb
        .run(args![
            "findings",
            "--data",
            &data,
            "--severity",
            "critical",
            "--format",
            "jsonl"
        ])
        .ok()
        .stdout
        .lines()
        .count();
    assert!(critical < findings.len());
    sb.run(args!["findings", "--data", &data, "--severity", "urgent"])
        .code(2)
        .stderr_has(&["low, medium, high, critical"]);

    // Accepting a risk and assigning a finding are ledger events too.
    let id = findings[0]["finding_id"].as_str().unwrap();
    let owner = findings
        .iter()
        .find_map(|f| f["owner_id"].as_str())
        .unwrap();
    sb.run(args![
        "findings",
        "accept",
        id,
        "--reason",
        "compensated by review",
        "--until",
        "2000-01-01",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["in the future"]);
    sb.run(args![
        "findings",
        "accept",
        id,
        "--reason",
        "compensated by review",
        "--until",
        "2027-06-30",
        "--data",
        &data
    ])
    .ok();
    sb.run(args![
        "findings",
        "accept",
        id,
        "--reason",
        "again",
        "--until",
        "2027-06-30",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["not open"]);
    sb.run(args![
        "findings",
        "assign",
        id,
        "--owner",
        owner,
        "--due",
        "2027-01-31",
        "--data",
        &data
    ])
    .ok();
    sb.run(args![
        "findings",
        "assign",
        "fnd_nope",
        "--due",
        "2027-01-31",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["no finding"]);
    let accepted = sb.run(args![
        "findings", "--status", "accepted", "--data", &data, "--format", "jsonl"
    ]);
    let row: Value = serde_json::from_str(accepted.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(row["finding_id"], id);
    assert_eq!(row["due"], "2027-01-31");
    assert_eq!(row["owner_id"], owner);
    assert_eq!(row["accepted_until"], "2027-06-30T23:59:59.999999Z");
    let verify = sb.run(args!["verify", "--data", &data, "--format", "json"]);
    assert_eq!(verify.ok().json()["ok"], true);
}

/// `who-has`, `access-of`, `history` and `findings` read the store
/// directly, and print what the API answers for the same question.
#[test]
fn store_direct_answers_are_the_apis() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 7, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    let (system, _, entitlement, person) = first_personal_grant(&snap);
    let reference = format!("{system}:{entitlement}");
    let token = sb.create_token(&data, &["--scope", "read"]);
    let port = free_port();
    let server = Server::start(
        &sb,
        "serve",
        args![
            "serve",
            "--data",
            &data,
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );
    let api = |path: &str| -> Value {
        let (status, body) = get(port, path, Some(&token)).expect("request");
        assert_eq!(status, 200, "{path}: {body}\n{}", server.logs());
        serde_json::from_str(&body).unwrap()
    };
    let cli = |a: Vec<std::ffi::OsString>| -> Value {
        let mut a = a;
        a.extend(args!["--data", &data, "--format", "json"]);
        sb.run(a).ok().json()
    };
    let pairs = [
        (
            cli(args!["who-has", &reference]),
            api(&format!("/api/v1/who-has?entitlement={reference}")),
        ),
        (
            cli(args!["who-has", &reference, "--at", "2000-01-01"]),
            api(&format!(
                "/api/v1/who-has?entitlement={reference}&at=2000-01-01"
            )),
        ),
        (
            cli(args!["access-of", &person]),
            api(&format!("/api/v1/people/{person}/access")),
        ),
        (
            cli(args![
                "history",
                &person,
                "--from",
                "2000-01-01",
                "--to",
                "2099-12-31"
            ]),
            api(&format!(
                "/api/v1/people/{person}/history?from=2000-01-01&to=2099-12-31"
            )),
        ),
        (cli(args!["findings"]), api("/api/v1/findings")),
    ];
    for (from_store, from_api) in pairs {
        assert_eq!(from_store, from_api);
    }
    assert!(
        !api(&format!("/api/v1/who-has?entitlement={reference}"))["holdings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    server.stop();
}

/// `people`, `systems` and `entitlements` find what a person remembers (a
/// name, part of an email), and `who-has` names the holders; a reader that
/// goes away early (`| head`) ends the command quietly.
#[test]
fn people_are_found_by_name_and_named_in_answers() {
    let sb = Sandbox::new();
    let snapshot = sb.snapshot("snap", 11, 60);
    let data = sb.path("data");
    sb.import(&snapshot, &data);
    let (system, _, entitlement, person) = first_personal_grant(&snapshot);
    let mut name = String::new();
    edit_csv(&snapshot.join("people.csv"), |h, rows| {
        let row = rows
            .iter()
            .find(|r| r[col(h, "person_id")] == person)
            .expect("the holder's row");
        name = row[col(h, "name")].clone();
    });
    let surname = name
        .split_whitespace()
        .last()
        .expect("a surname")
        .to_uppercase();

    let found = sb
        .run(args![
            "people", &surname, "--data", &data, "--format", "json"
        ])
        .ok()
        .json();
    let people = found["people"].as_array().expect("people");
    assert!(
        people
            .iter()
            .any(|p| p["person_id"] == person.as_str() && p["name"] == name.as_str()),
        "{found}"
    );
    assert!(people.iter().all(|p| {
        p["name"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase()
            .contains(&surname)
            || p["email"]
                .as_str()
                .unwrap_or_default()
                .to_uppercase()
                .contains(&surname)
    }));
    sb.run(args!["people", "no such person at all", "--data", &data])
        .ok()
        .stderr_has(&["nobody matches"]);
    sb.run(args!["people", "--limit", "5000", "--data", &data])
        .code(2)
        .stderr_has(&["1000"]);

    let holders = sb
        .run(args![
            "who-has",
            format!("{system}:{entitlement}"),
            "--data",
            &data,
            "--format",
            "json"
        ])
        .ok()
        .json();
    let holding = holders["holdings"]
        .as_array()
        .expect("holdings")
        .iter()
        .find(|h| h["person_id"] == person.as_str())
        .expect("the holder")
        .clone();
    assert_eq!(holding["person_name"], name.as_str(), "{holding}");

    let systems = sb
        .run(args!["systems", "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert!(
        systems["systems"]
            .as_array()
            .expect("systems")
            .iter()
            .any(|s| s["system_id"] == system.as_str() && s["entitlements"].as_u64() > Some(0)),
        "{systems}"
    );
    let listed = sb
        .run(args![
            "entitlements",
            &system,
            "--data",
            &data,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert!(
        listed["entitlements"]
            .as_array()
            .expect("entitlements")
            .iter()
            .any(|e| e["entitlement_id"] == entitlement.as_str())
    );
    sb.run(args!["entitlements", "nope", "--data", &data])
        .code(2)
        .stderr_has(&["no system 'nope'", "soxctl systems"]);
    // A typo is not "nobody".
    sb.run(args![
        "who-has",
        format!("{system}:NO_SUCH_THING"),
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["no entitlement", "soxctl entitlements"]);

    // The reader closes its end before anything is written.
    let listing = args!["people", "--data", &data, "--format", "jsonl"];
    let mut child = crate::helpers::command(sb.path("").as_path(), &listing)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

/// `history` refuses a window that ends before it starts, as the API does
/// (one use case behind both).
#[test]
fn history_refuses_a_window_that_ends_before_it_starts() {
    let sb = Sandbox::new();
    let snapshot = sb.snapshot("snap", 12, 50);
    let data = sb.path("data");
    sb.import(&snapshot, &data);
    let (_, _, _, person) = first_personal_grant(&snapshot);
    sb.run(args![
        "history",
        &person,
        "--from",
        "2026-02-01",
        "--to",
        "2026-01-01",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["ends", "before it starts"]);
}
