//! `soxctl person erase`: crypto-shredding from the command line.

use crate::helpers::{Sandbox, block_on, col, note_parts};
use soxctl_model::ids::PersonId;
use soxctl_model::projection::PersonRow;
use std::path::Path;

const REASON: &str = "GDPR Art. 17 request, ticket HR-4711";

/// (person_id, name, email) of the first person in the snapshot's people.csv.
fn first_person(snapshot: &Path) -> (String, String, String) {
    let mut reader = csv::Reader::from_path(snapshot.join("people.csv")).expect("people.csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let row = reader.records().next().expect("a person").expect("record");
    let field = |name: &str| row[col(&header, name)].to_owned();
    let person = (field("person_id"), field("name"), field("email"));
    assert!(!person.1.is_empty() && !person.2.is_empty(), "{person:?}");
    person
}

/// The person's `people` row, read straight from the SQLite store.
fn person_row(data: &Path, id: &str) -> PersonRow {
    block_on(async {
        let store = soxctl_store::Store::open(soxctl_store::OpenOptions {
            location: soxctl_store::Location::Sqlite(data.to_owned()),
            create: false,
            clock: std::sync::Arc::new(soxctl_model::clock::SystemClock),
            failpoints: Default::default(),
        })
        .await
        .expect("open the store");
        let row = store
            .person(&PersonId::parse(id).expect("person id"))
            .await
            .expect("read the person");
        store.close().await;
        row.expect("person row")
    })
}

/// Exports the ledger to `name` and verifies the bundle offline; its entries.
fn export_and_verify(sb: &Sandbox, data: &Path, name: &str) -> String {
    let bundle = sb.path(name);
    sb.run(args!["export", "ledger", "--data", data, "--out", &bundle])
        .ok();
    let key = bundle.join("verifier.key");
    let checked = sb
        .run(args!["verify", &bundle, "--key", &key, "--format", "json"])
        .ok()
        .json();
    assert_eq!(checked["ok"], true, "{checked}");
    std::fs::read_to_string(bundle.join("entries.jsonl")).expect("entries")
}

#[test]
fn person_erase_shreds_the_data_and_everything_still_verifies() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 13, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    let (id, name, email) = first_person(&snap);
    let before = person_row(&data, &id);
    assert_eq!(before.person.name.as_deref(), Some(name.as_str()));
    assert!(!before.erased);
    let size = sb.ledger_size(&data);

    sb.run(args![
        "person", "erase", &id, "--reason", REASON, "--data", &data
    ])
    .ok()
    .stderr_has(&["erased", &id]);
    let after = person_row(&data, &id);
    assert_eq!((&after.person.name, &after.person.email), (&None, &None));
    assert!(after.erased, "{after:?}");
    assert_eq!(after.person.status, before.person.status);
    // One entry, signed before the command returned; verify exits 0.
    assert_eq!(sb.ledger_size(&data), size + 1);
    assert_eq!(note_parts(&sb.checkpoint(&data)).1, size + 1);
    sb.run(args!["verify", "--data", &data]).ok();

    let entries = export_and_verify(&sb, &data, "bundle");
    let last: serde_json::Value =
        serde_json::from_str(entries.lines().last().expect("entries")).expect("entry");
    assert_eq!(last["type"], "person.erased", "{last}");
    assert_eq!(last["payload"]["person_id"], id.as_str());
    assert_eq!(last["payload"]["reason"], REASON);
    assert!(!entries.contains(name.as_str()), "{name} in the ledger");
    // No person entry holds the email in plain text. (Account ids are not
    // sealed: the demo's systems that key accounts by email put it in
    // account and grant entries, which erasure cannot reach.)
    for line in entries.lines().filter(|l| l.contains(r#""type":"person."#)) {
        assert!(!line.contains(email.as_str()), "{email} in {line}");
    }

    // Tables show them as erased, JSON as null and person_erased.
    let listed = sb
        .run(args!["access-of", &id, "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert_eq!(listed["person_erased"], true, "{listed}");
    assert_eq!(listed["person_name"], serde_json::Value::Null);
    if listed["holdings"].as_array().is_some_and(|h| !h.is_empty()) {
        sb.run(args!["access-of", &id, "--data", &data, "--format", "csv"])
            .ok()
            .stdout
            .contains("(erased)")
            .then_some(())
            .expect("(erased) in the CSV");
    }

    // Erasing again records nothing.
    sb.run(args![
        "person", "erase", &id, "--reason", REASON, "--data", &data
    ])
    .ok()
    .stderr_has(&["already erased"]);
    assert_eq!(sb.ledger_size(&data), size + 1);

    // The HR source still lists them: the next import adds them back, under a
    // new key, and says so; the entries sealed under the shredded one stay
    // erased. A dry run records nothing and warns of nothing.
    sb.run(args!["import", &snap, "--data", &data, "--dry-run"])
        .ok();
    assert_eq!(sb.ledger_size(&data), size + 1);
    let run = sb.run(args!["import", &snap, "--data", &data, "--format", "json"]);
    run.ok()
        .stderr_has(&["warning", &id, "was erased", "Remove them from the source"]);
    let summary = run.json();
    assert_eq!(summary["changed"], 1, "{summary}");
    assert_eq!(
        summary["reappeared"],
        serde_json::json!([id.as_str()]),
        "{summary}"
    );
    let back = person_row(&data, &id);
    assert_eq!(back.person.name.as_deref(), Some(name.as_str()));
    assert!(!back.erased);
    sb.run(args!["verify", "--data", &data]).ok();
    let entries = export_and_verify(&sb, &data, "bundle2");
    assert!(!entries.contains(name.as_str()));
}

#[test]
fn person_erase_refuses_bad_requests() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 14, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    let (id, name, _) = first_person(&snap);
    let size = sb.ledger_size(&data);

    sb.run(args![
        "person", "erase", "E99999", "--reason", REASON, "--data", &data
    ])
    .code(2)
    .stderr_has(&["unknown person 'E99999'"]);
    let named = format!("asked by {name}");
    sb.run(args![
        "person", "erase", &id, "--reason", &named, "--data", &data
    ])
    .code(2)
    .stderr_has(&["name or email"]);
    let long = "x".repeat(501);
    sb.run(args![
        "person", "erase", &id, "--reason", &long, "--data", &data
    ])
    .code(2)
    .stderr_has(&["shorten it"]);
    sb.run(args!["person", "erase", &id, "--data", &data])
        .code(2)
        .stderr_has(&["--reason"]);
    // No store: nothing is created.
    let missing = sb.path("missing");
    sb.run(args![
        "person", "erase", &id, "--reason", REASON, "--data", &missing
    ])
    .code(2);
    assert!(!missing.exists());

    assert_eq!(
        sb.ledger_size(&data),
        size,
        "refused erasures record nothing"
    );
    assert!(!person_row(&data, &id).erased);
}
