//! `soxctl demo` builds the same organisation from the same seed whenever
//! it runs, with a year of history behind it that point-in-time questions
//! and findings' first sightings bear out.

use crate::helpers::Sandbox;
use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `dir`, by path relative to it, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string();
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_organisation_with_a_past() {
    let sb = Sandbox::new();
    let (a, b) = (sb.path("a"), sb.path("b"));
    sb.run(args!["demo", "--data", &a, "--no-serve"]).ok();
    // Another clock time: nothing generated may depend on it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sb.run(args!["demo", "--data", &b, "--no-serve"])
        .ok()
        .stderr_has(&[
            "imported the snapshot of 2025-09-30",
            "in its past: a slow leaver",
        ]);
    let (first, second) = (
        files(&a.join("demo-snapshot")),
        files(&b.join("demo-snapshot")),
    );
    assert_eq!(
        first.len(),
        13 * 8 + 1,
        "13 dated snapshots and ADMIN: {:?}",
        first.keys()
    );
    assert!(
        first == second,
        "the snapshot files differ between two runs"
    );
    // And the stores answer alike but for entry times and ids.
    let answer = |data: &std::path::Path, question: &[&str]| {
        let mut all: Vec<std::ffi::OsString> = question.iter().map(Into::into).collect();
        all.extend(args!["--data", data, "--format", "json"]);
        let mut value = sb.run(all).ok().json();
        if let Some(holdings) = value["holdings"].as_array_mut() {
            for h in holdings {
                h.as_object_mut().map(|o| o.remove("import_id"));
            }
        }
        value
    };
    for question in [
        &["people", "--limit", "1000"][..],
        &["who-has", "erp:PAYMENT_RUN", "--at", "2026-03-31"],
        &["access-of", "E00004", "--at", "2026-06-30"],
    ] {
        assert_eq!(answer(&a, question), answer(&b, question), "{question:?}");
    }

    // Point in time: the quarter-end payment run is held at the quarter's
    // end and gone a month later.
    let holders = |at: &str| -> Vec<String> {
        let answer = sb
            .run(args![
                "who-has",
                "erp:PAYMENT_RUN",
                "--at",
                at,
                "--data",
                &a,
                "--format",
                "json"
            ])
            .ok()
            .json();
        assert_eq!(answer["coverage"]["state"], "known", "{answer}");
        answer["holdings"]
            .as_array()
            .expect("holdings")
            .iter()
            .filter(|h| h["source"] == "direct" && h["account_kind"] == "human")
            .map(|h| h["person_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let at_quarter_end = holders("2026-03-31");
    assert_eq!(at_quarter_end.len(), 1, "{at_quarter_end:?}");
    assert!(holders("2026-04-30").is_empty());
    // Before the history starts, the answer is unknown, not empty.
    sb.run(args![
        "who-has",
        "erp:PAYMENT_RUN",
        "--at",
        "2025-06-30",
        "--data",
        &a
    ])
    .ok()
    .stderr_has(&["unknown"]);

    // Findings are first seen across the year, not all at the import.
    let findings = sb.run(args![
        "findings", "--status", "all", "--data", &a, "--format", "jsonl"
    ]);
    findings.ok();
    let months: std::collections::BTreeSet<String> = findings
        .stdout
        .lines()
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).expect("finding");
            f["first_seen"].as_str().expect("first_seen")[..7].to_owned()
        })
        .collect();
    assert!(months.len() >= 6, "first seen in {months:?}");
    assert!(months.iter().all(|m| m.as_str() <= "2026-09"), "{months:?}");
}

#[test]
fn the_demo_present_is_a_past_date() {
    let sb = Sandbox::new();
    let data = sb.path("d");
    sb.run(args![
        "demo",
        "--data",
        &data,
        "--no-serve",
        "--as-of",
        "2999-01-01"
    ])
    .code(2)
    .stderr_has(&["future"]);
    sb.run(args![
        "demo",
        "--data",
        &data,
        "--no-serve",
        "--as-of",
        "last tuesday"
    ])
    .code(2)
    .stderr_has(&["YYYY-MM-DD"]);
    assert!(!data.exists());
}
