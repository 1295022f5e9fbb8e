//! `soxctl sod …` and `soxctl rules …`: the scenario corpus through the
//! command line (files, and the same files imported into a store), rule
//! sets as ledger documents, point-in-time and window analysis, simulation,
//! role analysis, mitigations and SoD findings.

use crate::helpers::{Sandbox, col, edit_csv};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/sod")
}

fn scenarios() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 12, "the corpus is there");
    dirs
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn expected(dir: &Path) -> Vec<Value> {
    lines(&std::fs::read_to_string(dir.join("expected.jsonl")).unwrap())
}

#[test]
fn the_corpus_through_the_command_line_on_files_and_on_a_store() {
    let sb = Sandbox::new();
    for (i, dir) in scenarios().into_iter().enumerate() {
        let rules = dir.join("rules.toml");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Files, no store.
        let run = sb.run(args![
            "sod", "analyze", &dir, "--rules", &rules, "--format", "jsonl"
        ]);
        run.ok();
        assert_eq!(lines(&run.stdout), expected(&dir), "{name} from files");
        if let Ok(warnings) = std::fs::read_to_string(dir.join("expected-warnings.txt")) {
            for w in warnings.lines().filter(|l| !l.trim().is_empty()) {
                assert!(
                    run.stderr.contains(w),
                    "{name}: warning '{w}' in {}",
                    run.stderr
                );
            }
        }
        // The same snapshot imported, the rules loaded: the same answer.
        let data = sb.path(&format!("data{i}"));
        sb.import(&dir, &data);
        sb.run(args!["rules", "load", &rules, "--data", &data]).ok();
        let run = sb.run(args![
            "sod", "analyze", "--data", &data, "--format", "jsonl"
        ]);
        run.ok();
        assert_eq!(lines(&run.stdout), expected(&dir), "{name} from a store");
        // And one SoD finding per violation.
        let findings = sb
            .run(args![
                "findings",
                "--data",
                &data,
                "--kind",
                "sod_violation",
                "--format",
                "jsonl"
            ])
            .ok()
            .stdout
            .clone();
        assert_eq!(
            lines(&findings).len(),
            expected(&dir).len(),
            "{name} findings"
        );
    }
}

#[test]
fn rule_sets_are_versioned_documents() {
    let sb = Sandbox::new();
    let dir = corpus().join("01-simple-conflict");
    let data = sb.path("data");
    sb.import(&dir, &data);
    sb.run(args!["sod", "analyze", "--data", &data])
        .code(2)
        .stderr_has(&["no rule set", "rules load"]);
    let rules = dir.join("rules.toml");
    sb.run(args!["rules", "load", &rules, "--data", &data])
        .ok()
        .stderr_has(&["version 1"]);
    sb.run(args!["rules", "load", &rules, "--data", &data])
        .ok()
        .stderr_has(&["nothing recorded"]);
    let edited = sb.path("edited.toml");
    let text = std::fs::read_to_string(&rules).unwrap();
    std::fs::write(
        &edited,
        text.replace("severity = \"critical\"", "severity = \"high\""),
    )
    .unwrap();
    sb.run(args!["rules", "load", &edited, "--data", &data])
        .ok()
        .stderr_has(&["version 2"]);
    let history = sb.run(args![
        "rules", "history", "--data", &data, "--format", "jsonl"
    ]);
    history.ok();
    let versions = lines(&history.stdout);
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["name"], "edited.toml");
    let v1 = sb.run(args!["rules", "show", "--version", "1", "--data", &data]);
    v1.ok();
    assert_eq!(v1.stdout, text);
    // Bad rules are refused with every problem and change nothing.
    let bad = sb.path("bad.toml");
    std::fs::write(
        &bad,
        "[[risk]]\nid = \"R\"\nseverity = \"dire\"\nfunctions = [\"NOPE\"]\n",
    )
    .unwrap();
    sb.run(args!["rules", "load", &bad, "--data", &data])
        .code(2)
        .stderr_has(&["NOPE", "dire"]);
    let after = sb.run(args![
        "rules", "history", "--data", &data, "--format", "jsonl"
    ]);
    assert_eq!(lines(&after.stdout).len(), 2);
    let verify = sb.run(args!["verify", "--data", &data, "--format", "json"]);
    assert_eq!(verify.ok().json()["ok"], true);
}

#[test]
fn violations_found_without_a_server_wait_in_the_outbox() {
    let sb = Sandbox::new();
    let dir = corpus().join("01-simple-conflict");
    let data = sb.path("data");
    sb.import(&dir, &data);
    sb.run(args![
        "rules",
        "load",
        dir.join("rules.toml"),
        "--data",
        &data
    ])
    .ok();
    let status = sb.run(args![
        "outbox", "status", "--data", &data, "--format", "json"
    ]);
    let status = status.ok().json();
    assert_eq!(
        (status["dead"].as_u64(), status["delivered"].as_u64()),
        (Some(0), Some(0))
    );
    let listed = sb.run(args![
        "outbox", "list", "--data", &data, "--format", "jsonl"
    ]);
    let listed = lines(&listed.ok().stdout);
    let alerts: Vec<_> = listed
        .iter()
        .filter(|m| m["topic"] == "sod.violation.opened")
        .collect();
    assert_eq!(
        alerts.len(),
        expected(&dir).len(),
        "one alert per violation: {listed:?}"
    );
    assert!(alerts.iter().all(|m| m["state"] == "pending"));
    assert_eq!(status["pending"].as_u64(), Some(listed.len() as u64));
    let dead = sb.run(args![
        "outbox", "list", "--dead", "--data", &data, "--format", "jsonl"
    ]);
    assert!(lines(&dead.ok().stdout).is_empty());
    sb.run(args!["outbox", "requeue", "--data", &data])
        .ok()
        .stderr_has(&["0 dead letter(s)"]);
}

/// Grants `entitlement` to `account` (on system erp) in the snapshot.
fn add_grant(snapshot: &Path, account: &str, entitlement: &str) {
    edit_csv(&snapshot.join("grants.csv"), |h, rows| {
        let held = rows.iter().any(|r| {
            r[col(h, "system_id")] == "erp"
                && r[col(h, "account_id")] == account
                && r[col(h, "entitlement_id")] == entitlement
        });
        if held {
            return;
        }
        let mut row = vec![String::new(); h.len()];
        row[col(h, "system_id")] = "erp".into();
        row[col(h, "account_id")] = account.into();
        row[col(h, "entitlement_id")] = entitlement.into();
        row[col(h, "source")] = "direct".into();
        rows.push(row);
    });
}

fn set_extracted_at(snapshot: &Path, at: &str) {
    std::fs::write(
        snapshot.join("manifest.toml"),
        format!("source = \"test\"\nextracted_at = \"{at}\"\n"),
    )
    .unwrap();
}

#[test]
fn history_windows_simulation_roles_and_mitigations() {
    let sb = Sandbox::new();
    let base = corpus().join("12-no-violations");
    let rules = base.join("rules.toml");
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    assert!(rules_text.contains("erp:"), "{rules_text}");
    let march = sb.copy_snapshot(&base, "march");
    set_extracted_at(&march, "2025-03-01T00:00:00Z");
    let data = sb.path("data");
    sb.import(&march, &data);
    sb.run(args!["rules", "load", &rules, "--data", &data]).ok();

    // What would give someone a conflict? Simulate before granting.
    let accounts = std::fs::read_to_string(march.join("accounts.csv")).unwrap();
    let (account, person) = accounts
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == "erp" && !f[2].is_empty() && f[4] == "active")
        .map(|f| (f[1].to_owned(), f[2].to_owned()))
        .expect("an active correlated erp account");
    let first_risk_pair: Vec<String> = {
        let rs: toml::Value = toml::from_str(&rules_text).unwrap();
        let functions = rs["function"].as_array().unwrap();
        let risk = &rs["risk"].as_array().unwrap()[0];
        risk["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = functions
                    .iter()
                    .find(|x| x["id"].as_str() == f.as_str())
                    .unwrap();
                f["entitlements"][0].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let mut sim = args![
        "sod", "simulate", "--person", &person, "--data", &data, "--format", "jsonl"
    ];
    for e in &first_risk_pair {
        sim.extend(args!["--add", e]);
    }
    let run = sb.run(sim.clone());
    run.code(1).stderr_has(&["would create"]);
    assert!(!lines(&run.stdout).is_empty());
    // As JSON: the API's answer, field for field.
    let as_json: Vec<std::ffi::OsString> = sim
        .iter()
        .map(|a| {
            if a == "jsonl" {
                "json".into()
            } else {
                a.clone()
            }
        })
        .collect();
    let answer = sb.run(as_json).code(1).json();
    assert_eq!(answer["clear"], false, "{answer}");
    assert!(answer["rules_version"].as_u64().is_some(), "{answer}");
    assert_eq!(
        answer["violations"].as_array().map(Vec::len),
        Some(lines(&run.stdout).len()),
        "{answer}"
    );
    // A window that ends where it starts, or before, is refused.
    for (from, to) in [("2025-06-01", "2025-06-01"), ("2025-06-02", "2025-06-01")] {
        let mut empty = sim.clone();
        empty.extend(args!["--from", from, "--to", to]);
        sb.run(empty)
            .code(2)
            .stderr_has(&["the grant's end (to) must be after its start (from)"]);
    }

    // April: the conflict is granted; May: it is gone again.
    let april = sb.copy_snapshot(&march, "april");
    set_extracted_at(&april, "2025-04-01T00:00:00Z");
    for e in &first_risk_pair {
        let (_, ent) = e.split_once(':').unwrap();
        add_grant(&april, &account, ent);
    }
    sb.import(&april, &data);
    let may = sb.copy_snapshot(&march, "may");
    set_extracted_at(&may, "2025-05-01T00:00:00Z");
    sb.run(args![
        "import",
        &may,
        "--data",
        &data,
        "--max-removals",
        "100"
    ])
    .ok();

    let analyze = |extra: Vec<std::ffi::OsString>| {
        let mut a = args!["sod", "analyze", "--data", &data, "--format", "jsonl"];
        a.extend(extra);
        let run = sb.run(a);
        run.ok();
        lines(&run.stdout)
    };
    assert!(analyze(vec![]).is_empty(), "gone now");
    assert_eq!(
        analyze(args!["--at", "2025-04-15"]).len(),
        1,
        "held mid-April"
    );
    assert!(analyze(args!["--at", "2025-03-15"]).is_empty());
    let window = analyze(args!["--from", "2025-03-15", "--to", "2025-06-01"]);
    assert_eq!(window.len(), 1);
    assert_eq!(window[0]["person_id"], person.as_str());
    assert!(
        window[0]["during"][0]
            .as_str()
            .unwrap()
            .starts_with("2025-04-01")
    );
    sb.run(args![
        "sod",
        "analyze",
        "--data",
        &data,
        "--at",
        "2025-04-15",
        "--from",
        "2025-01-01"
    ])
    .code(2);

    // Granted again, then mitigated: reported as mitigated, finding accepted.
    let june = sb.copy_snapshot(&april, "june");
    set_extracted_at(&june, "2025-06-01T00:00:00Z");
    sb.import(&june, &data);
    let open = analyze(vec![]);
    assert_eq!(open.len(), 1);
    let risk = open[0]["risk_id"].as_str().unwrap().to_owned();
    let approver = accounts
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| !f[2].is_empty() && f[2] != person)
        .map(|f| f[2].to_owned())
        .unwrap();
    sb.run(args![
        "sod",
        "mitigate",
        "--risk",
        &risk,
        "--identity",
        &person,
        "--control",
        "monthly review of payments",
        "--owner",
        &approver,
        "--approver",
        &person,
        "--reason",
        "covering",
        "--expires",
        "2099-01-01",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["own conflict"]);
    let expires = "2027-01-01";
    let run = sb.run(args![
        "sod",
        "mitigate",
        "--risk",
        &risk,
        "--identity",
        &person,
        "--control",
        "monthly review of payments",
        "--owner",
        &approver,
        "--approver",
        &approver,
        "--reason",
        "covering a leave",
        "--expires",
        expires,
        "--data",
        &data
    ]);
    run.ok();
    let mitigation = run.last_line().to_owned();
    let now = analyze(vec![]);
    assert_eq!(now[0]["mitigated"]["control"], "monthly review of payments");
    sb.run(args!["sod", "analyze", "--data", &data, "--fail-on", "low"])
        .ok();
    let findings = |status: &str| {
        lines(
            &sb.run(args![
                "findings",
                "--data",
                &data,
                "--kind",
                "sod_violation",
                "--status",
                status,
                "--format",
                "jsonl"
            ])
            .stdout,
        )
    };
    // The finding follows in the same transaction: accepted until the expiry.
    let accepted = findings("accepted");
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert!(
        accepted[0]["resolution"]
            .as_str()
            .unwrap()
            .contains("monthly review of payments")
    );
    assert!(findings("open").is_empty());
    sb.run(args![
        "sod",
        "unmitigate",
        &mitigation,
        "--reason",
        "leave over",
        "--data",
        &data
    ])
    .ok();
    sb.run(args!["sod", "analyze", "--data", &data, "--fail-on", "low"])
        .code(1);
    assert_eq!(
        findings("open").len(),
        1,
        "open again once the mitigation is revoked"
    );
    let listed = sb.run(args![
        "sod",
        "mitigations",
        "--all",
        "--data",
        &data,
        "--format",
        "jsonl"
    ]);
    assert_eq!(lines(&listed.stdout)[0]["state"], "revoked");

    // Role analysis: a role holding both sides of the risk.
    let roles_dir = sb.copy_snapshot(&march, "roles");
    std::fs::write(
        roles_dir.join("roles.csv"),
        "role_id,name,owner_id\nTOXIC,Toxic role,\n",
    )
    .unwrap();
    let mut re = String::from("role_id,system_id,entitlement_id\n");
    for e in &first_risk_pair {
        let (s, ent) = e.split_once(':').unwrap();
        re.push_str(&format!("TOXIC,{s},{ent}\n"));
    }
    std::fs::write(roles_dir.join("role_entitlements.csv"), re).unwrap();
    let run = sb.run(args![
        "sod", "roles", &roles_dir, "--rules", &rules, "--format", "jsonl"
    ]);
    run.code(1);
    assert_eq!(lines(&run.stdout)[0]["role_id"], "TOXIC");

    let verify = sb.run(args!["verify", "--data", &data, "--format", "json"]);
    assert_eq!(verify.ok().json()["ok"], true);
}

/// A table of the violations in snapshot files names the people from their
/// people.csv, escaped: those files were never checked by an import.
#[test]
fn files_only_tables_name_people_escaped() {
    let sb = Sandbox::new();
    let snapshot = sb.snapshot("snap", 2026, 300);
    let rules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/finance-stack.toml");
    let analyze = |format: &str| {
        sb.run(args![
            "sod", "analyze", &snapshot, "--rules", &rules, "--format", format
        ])
    };
    let table = analyze("table").stdout.clone();
    let first = table.lines().nth(1).expect("a violation").to_owned();
    let person = first
        .split_whitespace()
        .nth(2)
        .expect("a person id")
        .to_owned();
    crate::helpers::edit_csv(&snapshot.join("people.csv"), |h, rows| {
        let (id, name) = (
            crate::helpers::col(h, "person_id"),
            crate::helpers::col(h, "name"),
        );
        for row in rows.iter_mut().filter(|r| r[id] == person) {
            row[name] = "Eve \u{1b}[31mRed".to_owned();
        }
    });
    let table = analyze("table").stdout.clone();
    assert!(
        !table.contains('\u{1b}'),
        "a raw escape reached the terminal: {table}"
    );
    assert!(table.contains("Eve \\u{1b}[31mRed"), "{table}");
    // JSON Lines stay the corpus format (DESIGN A6): no names.
    assert!(!analyze("jsonl").stdout.contains("person_name"));
}
