//! `soxctl import`: creation of the store, idempotence, dry runs, and
//! rejection of bad snapshots without touching the store.

use crate::helpers::{Sandbox, assert_store_created, col, edit_csv};
use serde_json::json;
use std::path::Path;

/// Terminates `person` in people.csv (asserting they were active).
fn terminate(snapshot: &Path, person: &str) {
    edit_csv(&snapshot.join("people.csv"), |h, rows| {
        let (id, status) = (col(h, "person_id"), col(h, "status"));
        let row = rows
            .iter_mut()
            .find(|r| r[id] == person)
            .expect("person in people.csv");
        assert_eq!(row[status], "active");
        row[status] = "terminated".into();
    });
}

/// Removes the first grant row; its dry-run key.
fn remove_first_grant(snapshot: &Path) -> String {
    let mut key = String::new();
    edit_csv(&snapshot.join("grants.csv"), |h, rows| {
        let g = rows.remove(0);
        let (s, a, e) = (
            &g[col(h, "system_id")],
            &g[col(h, "account_id")],
            &g[col(h, "entitlement_id")],
        );
        key = format!("{s}/{a} {s}:{e}");
    });
    key
}

#[test]
fn import_creates_the_store_is_idempotent_and_dry_run_records_nothing() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 7, 60);
    let data = sb.path("data");

    // A dry run on a directory without a store lists every fact as added,
    // and creates nothing.
    let dry = sb.run(args![
        "import",
        &snap,
        "--data",
        &data,
        "--dry-run",
        "--format",
        "json"
    ]);
    dry.ok().stderr_has(&["nothing recorded"]);
    let planned = dry.json().as_array().expect("array").clone();
    assert!(planned.iter().all(|r| r["change"] == "added"), "{dry:?}");
    assert!(!data.exists(), "a dry run must not create a store");

    let first = sb.import(&snap, &data);
    assert_store_created(&data);
    assert_eq!(
        first["added"],
        planned.len(),
        "the dry run announced exactly what the import did"
    );
    let events = first["events"].as_u64().expect("events");
    assert!(
        events > 800,
        "a 60-person organisation is hundreds of facts: {first}"
    );
    assert_eq!(first["changed"], 0);
    assert_eq!(first["removed"], 0);
    assert_eq!(
        first["systems"].as_array().map(Vec::len),
        Some(11),
        "{first}"
    );
    assert_eq!(
        first["new_baselines"].as_array().map(Vec::len),
        Some(11),
        "{first}"
    );
    let size = sb.ledger_size(&data);
    // Entry 0 initialises the store; the import's events follow, then the
    // findings its detectors opened.
    let findings = first["findings_opened"].as_u64().unwrap();
    assert!(findings > 0, "the demo plants hygiene problems: {first}");
    assert_eq!(size, events + 1 + findings);
    assert_eq!(first["ledger_size"], size, "{first}");
    let checkpoint = sb.checkpoint(&data);

    // The same snapshot again: nothing changed, nothing recorded.
    let again = sb.import(&snap, &data);
    assert_eq!(
        (
            &again["events"],
            &again["added"],
            &again["changed"],
            &again["removed"]
        ),
        (&json!(0), &json!(0), &json!(0), &json!(0)),
        "{again}"
    );
    assert_eq!(again["new_baselines"], json!([]));
    assert_eq!(sb.ledger_size(&data), size);
    assert_eq!(sb.checkpoint(&data), checkpoint);

    // Without --format on a pipe: JSON Lines, data only.
    let piped = sb.run(args!["import", &snap, "--data", &data]);
    piped.ok();
    assert_eq!(piped.stdout.lines().count(), 1, "{piped:?}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&piped.stdout).expect("one JSON line")["events"],
        0
    );
    // CSV: a header and one row.
    let csv = sb.run(args!["import", &snap, "--data", &data, "--format", "csv"]);
    csv.ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{csv:?}");
    assert!(lines[0].split(',').any(|c| c == "events"), "{csv:?}");

    // A terminated person and a removed grant: exactly those two changes.
    let changed = sb.copy_snapshot(&snap, "changed");
    terminate(&changed, "E00005");
    let grant_key = remove_first_grant(&changed);
    let dry = sb.run(args![
        "import",
        &changed,
        "--data",
        &data,
        "--dry-run",
        "--format",
        "json"
    ]);
    dry.ok().stderr_has(&["2 changes, nothing recorded"]);
    let mut records = dry.json().as_array().expect("array").clone();
    records.sort_by_key(|r| r["fact"].as_str().map(str::to_owned));
    assert_eq!(
        records,
        vec![
            json!({"change": "removed", "fact": "grant", "key": grant_key, "fields": null}),
            json!({"change": "changed", "fact": "person", "key": "E00005", "fields": ["status"]}),
        ]
    );
    let jsonl = sb.run(args![
        "import",
        &changed,
        "--data",
        &data,
        "--dry-run",
        "--format",
        "jsonl"
    ]);
    assert_eq!(jsonl.ok().stdout.lines().count(), 2, "{jsonl:?}");
    assert_eq!(sb.ledger_size(&data), size, "a dry run records nothing");
    assert_eq!(sb.checkpoint(&data), checkpoint);

    // Recorded for real: two change events plus the import's summary.
    let real = sb.import(&changed, &data);
    assert_eq!(
        (
            &real["events"],
            &real["changed"],
            &real["removed"],
            &real["added"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(0)),
        "{real}"
    );
    let findings =
        real["findings_opened"].as_u64().unwrap() + real["findings_resolved"].as_u64().unwrap();
    assert!(
        findings > 0,
        "the leaver's accounts are findings now: {real}"
    );
    assert_eq!(sb.ledger_size(&data), size + 3 + findings);
}

#[test]
fn import_refuses_mass_removals() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 8, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    let size = sb.ledger_size(&data);

    let truncated = sb.copy_snapshot(&snap, "truncated");
    edit_csv(&truncated.join("grants.csv"), |h, rows| {
        let s = col(h, "system_id");
        let erp: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r[s] == "erp")
            .map(|(i, _)| i)
            .collect();
        let half: Vec<usize> = erp.iter().copied().step_by(2).collect();
        for i in half.into_iter().rev() {
            rows.remove(i);
        }
    });
    sb.run(args!["import", &truncated, "--data", &data])
        .code(2)
        .stderr_has(&["erp", "--max-removals", "nothing was imported"]);
    assert_eq!(sb.ledger_size(&data), size);
    sb.run(args![
        "import",
        &truncated,
        "--data",
        &data,
        "--max-removals",
        "60"
    ])
    .ok();
    assert!(sb.ledger_size(&data) > size);
}

/// A bad snapshot: how to break it, and what stderr must say.
struct Bad {
    name: &'static str,
    file: &'static str,
    edit: fn(&Path),
    expect: &'static [&'static str],
}

const BAD: &[Bad] = &[
    Bad {
        name: "unknown reference",
        file: "grants.csv",
        edit: |s| {
            edit_csv(&s.join("grants.csv"), |h, rows| {
                let a = col(h, "account_id");
                rows[2][a] = "nobody@example.com".into();
            })
        },
        expect: &[
            "grants.csv line 4, column account_id",
            "unknown account",
            "nobody@example.com",
        ],
    },
    Bad {
        name: "duplicate key",
        file: "systems.csv",
        edit: |s| {
            edit_csv(&s.join("systems.csv"), |_, rows| {
                let dup = rows[1].clone();
                rows.push(dup);
            })
        },
        expect: &[
            "systems.csv line 13, column system_id",
            "duplicate key bank (first on line 3)",
        ],
    },
    Bad {
        name: "wrong column",
        file: "people.csv",
        edit: |s| {
            edit_csv(&s.join("people.csv"), |h, _| {
                let i = col(h, "status");
                h[i] = "state".into();
            })
        },
        expect: &["people.csv line 1, column state", "unknown column"],
    },
    Bad {
        name: "bad date",
        file: "people.csv",
        edit: |s| {
            edit_csv(&s.join("people.csv"), |h, rows| {
                let i = col(h, "hire_date");
                rows[4][i] = "2020-13-45".into();
            })
        },
        expect: &["people.csv line 6, column hire_date", "2020-13-45"],
    },
    Bad {
        name: "wrong number of fields",
        file: "accounts.csv",
        edit: |s| {
            edit_csv(&s.join("accounts.csv"), |_, rows| {
                rows[0].pop();
            })
        },
        expect: &["accounts.csv line 2", "fields but the header has"],
    },
];

#[test]
fn bad_snapshots_are_rejected_with_their_location_and_change_nothing() {
    let sb = Sandbox::new();
    let good = sb.snapshot("good", 9, 60);
    let existing = sb.path("existing");
    sb.import(&good, &existing);
    let size = sb.ledger_size(&existing);
    let checkpoint = sb.checkpoint(&existing);

    for (i, bad) in BAD.iter().enumerate() {
        let snap = sb.copy_snapshot(&good, &format!("bad{i}"));
        (bad.edit)(&snap);
        assert!(snap.join(bad.file).exists());

        // On a directory without a store: refused, and no store is created.
        let fresh = sb.path(&format!("fresh{i}"));
        let run = sb.run(args!["import", &snap, "--data", &fresh]);
        run.code(2)
            .stderr_has(bad.expect)
            .stderr_has(&["nothing was imported"]);
        assert!(run.stdout.is_empty(), "{}: {run:?}", bad.name);
        assert!(
            !fresh.join("soxctl.db").exists(),
            "{}: a rejected snapshot must not create a store",
            bad.name
        );
        assert!(
            !fresh.join("signing.key").exists(),
            "{}: a rejected snapshot must not create a key",
            bad.name
        );

        // On an existing store: refused, store unchanged (dry run too).
        sb.run(args!["import", &snap, "--data", &existing])
            .code(2)
            .stderr_has(bad.expect);
        sb.run(args!["import", &snap, "--data", &existing, "--dry-run"])
            .code(2)
            .stderr_has(bad.expect);
        assert_eq!(sb.ledger_size(&existing), size, "{}", bad.name);
        assert_eq!(sb.checkpoint(&existing), checkpoint, "{}", bad.name);
    }

    // Not a directory at all.
    sb.run(args![
        "import",
        sb.path("no-such-snapshot"),
        "--data",
        &existing
    ])
    .code(2)
    .stderr_has(&["no-such-snapshot"]);
    // Files outside the format are named, not silently used.
    let extra = sb.copy_snapshot(&good, "extra");
    std::fs::write(extra.join("notes.txt"), "hello").expect("write");
    sb.run(args!["import", &extra, "--data", &existing])
        .ok()
        .stderr_has(&["notes.txt"]);
}
