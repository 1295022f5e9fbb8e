//! Input the reader must not trust: a file that is not the table it is
//! named after (a symlink to `/etc/passwd`) is never quoted in an error;
//! a huge or sparse file is refused at its first bad line, quickly and in
//! bounded memory; a person who is their own manager is recorded with none;
//! free text (names, titles, descriptions) hides no characters.

use crate::helpers::*;
use soxctl_app::ingest::ImportError;
use soxctl_connectors::snapshot::{self, SnapshotError};
use soxctl_model::ids::PersonId;
use std::path::Path;
use std::time::{Duration, Instant};

on_both_backends!(
    a_file_of_secrets_is_never_quoted,
    a_self_manager_is_recorded_with_no_manager,
    free_text_that_hides_characters_is_refused
);

const SECRET_LINE: &str = "root:x:0:0:SECRET:/root:/bin/bash\n";

fn symlink(target: &Path, link: &Path) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// The snapshot error of reading `dir`, asserting it names `file`.
#[track_caller]
fn read_error(dir: &Path, file: &str) -> SnapshotError {
    let err = snapshot::read(dir).expect_err("the snapshot must be refused");
    assert_eq!(err.file, file, "{err}");
    err
}

#[track_caller]
fn assert_not_quoted(err: &SnapshotError) {
    let shown = err.to_string();
    assert!(
        !shown.contains("SECRET"),
        "the error quotes the file: {shown}"
    );
    assert!(
        !shown.contains("root"),
        "the error quotes the file: {shown}"
    );
    assert!(!shown.contains('\0'), "a raw NUL in the error: {shown:?}");
}

async fn a_file_of_secrets_is_never_quoted(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let size = env.size().await;
    let inventory = env.inventory().await;
    let secret = env.dir.path().join("passwd");
    std::fs::write(&secret, format!("{SECRET_LINE}daemon:x:1:1:SECRET\n")).unwrap();

    // people.csv is a link to it: its first line is no header of people.
    let dir = env.write_snapshot("linked", &base());
    symlink(&secret, &dir.join("people.csv"));
    let err = match env.import(&dir, &Default::default()).await {
        Err(ImportError::Snapshot(err)) => err,
        other => panic!("expected a snapshot error, got {other:?}"),
    };
    assert_not_quoted(&err);
    assert_eq!((err.file.as_str(), err.line), ("people.csv", Some(1)));
    assert!(
        err.reason
            .contains("the first line is not a CSV header of this file's columns")
            && err.reason.contains("person_id,name,email,manager_id"),
        "{err}"
    );

    // A header of the right columns but one that could be no column name.
    let dir = env.write_snapshot(
        "odd-column",
        &edit("people.csv", |t| {
            t.replacen("termination_date", "termination_date,SECRET:x", 1)
        }),
    );
    let err = read_error(&dir, "people.csv");
    assert_not_quoted(&err);
    assert!(
        err.reason.contains("its field 10 is not a column name"),
        "{err}"
    );

    // A plausible unknown name is named, with what is missing.
    let dir = env.write_snapshot(
        "renamed",
        &edit("people.csv", |t| t.replacen(",status,", ",state,", 1)),
    );
    let err = read_error(&dir, "people.csv");
    assert_eq!(err.column.as_deref(), Some("state"), "{err}");
    assert!(
        err.reason
            .starts_with("unknown column; missing: status; the columns are "),
        "{err}"
    );

    // The manifest, the JSON Lines form: the same.
    let dir = env.write_snapshot("manifest", &base());
    symlink(&secret, &dir.join("manifest.toml"));
    let err = read_error(&dir, "manifest.toml");
    assert_not_quoted(&err);
    assert_eq!(err.line, Some(1), "{err}");
    for (what, text) in [
        ("a JSON string", "\"root:x:0:0:SECRET\"\n".to_owned()),
        ("not JSON", SECRET_LINE.to_owned()),
        (
            "an unknown field that is no name",
            "{\"root:x:0:0:SECRET\":1}\n".to_owned(),
        ),
        (
            "an array value",
            "{\"system_id\":[\"root:x:0:0:SECRET\"]}\n".to_owned(),
        ),
    ] {
        let dir = env.write_snapshot(&format!("jsonl-{}", what.replace(' ', "-")), &base());
        std::fs::remove_file(dir.join("grants.csv")).unwrap();
        std::fs::write(dir.join("grants.jsonl"), text).unwrap();
        let err = read_error(&dir, "grants.jsonl");
        assert_not_quoted(&err);
        assert_eq!(err.line, Some(1), "{what}: {err}");
    }

    // A value that is quoted is escaped: a NUL as \0, a bidi override as
    // \u{202e}.
    let dir = env.write_snapshot(
        "nul",
        &edit("accounts.csv", |t| {
            t.replace("2025-06-01T09:00:00Z", "2025-06-01\0\u{202e}x")
        }),
    );
    let err = read_error(&dir, "accounts.csv");
    let shown = err.to_string();
    assert!(
        shown.contains(r"'2025-06-01\0\u{202e}x' is not an RFC 3339 time"),
        "{shown}"
    );
    assert!(
        !shown.contains('\0') && !shown.contains('\u{202e}'),
        "{shown:?}"
    );

    assert_eq!(env.size().await, size);
    assert_eq!(env.inventory().await, inventory);
}

/// A 1 GB file that takes no disk: NUL bytes, no newline.
fn sparse(path: &Path) {
    std::fs::File::create(path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
}

#[test]
fn a_sparse_gigabyte_is_refused_at_once() {
    let env = tempfile::tempdir().unwrap();
    for file in ["grants.csv", "grants.jsonl", "people.csv"] {
        let dir = env.path().join(file.replace('.', "-"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in base() {
            std::fs::write(dir.join(name), text).unwrap();
        }
        if file.ends_with(".jsonl") {
            std::fs::remove_file(dir.join(file.replace(".jsonl", ".csv"))).unwrap();
        }
        sparse(&dir.join(file));
        let started = Instant::now();
        let err = read_error(&dir, file);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "{file}: refused only after {took:?}"
        );
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.reason.starts_with("is longer than 1 MiB"), "{err}");
        assert_not_quoted(&err);
        assert!(err.to_string().len() < 400, "{err}");
    }
    // A manifest cannot be a gigabyte either.
    let dir = env.path().join("manifest");
    std::fs::create_dir_all(&dir).unwrap();
    sparse(&dir.join("manifest.toml"));
    let started = Instant::now();
    let err = read_error(&dir, "manifest.toml");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.reason.contains("larger than 1 MiB"), "{err}");
}

#[test]
fn a_line_longer_than_a_mebibyte_is_refused() {
    let env = tempfile::tempdir().unwrap();
    let write = |name: &str, file: &str, text: String| {
        let dir = env.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (n, t) in base() {
            std::fs::write(dir.join(n), t).unwrap();
        }
        if file.ends_with(".jsonl") {
            std::fs::remove_file(dir.join(file.replace(".jsonl", ".csv"))).unwrap();
        }
        std::fs::write(dir.join(file), text).unwrap();
        dir
    };
    let long = "x".repeat((1 << 20) + 1);

    // The third line of entitlements.csv is one field too long.
    let text = ENTITLEMENTS.replacen(
        "Create vendors,false,p1,",
        &format!("Create vendors,false,p1,{long}"),
        1,
    );
    let err = read_error(&write("csv", "entitlements.csv", text), "entitlements.csv");
    assert_eq!(err.line, Some(2), "{err}");
    assert!(err.reason.starts_with("is longer than 1 MiB"), "{err}");

    // A quoted field never closed: a record of many short lines.
    let open = format!(
        "{ENTITLEMENTS}erp,OPEN,\"{}",
        "short line\n".repeat(200_000)
    );
    let err = read_error(
        &write("open-quote", "entitlements.csv", open),
        "entitlements.csv",
    );
    assert_eq!(err.line, Some(7), "{err}");
    assert!(
        err.reason.contains("starts a record longer than 1 MiB"),
        "{err}"
    );

    // JSON Lines.
    let text = format!("{{\"role_id\":\"R\",\"name\":\"{long}\",\"owner_id\":\"p1\"}}\n");
    let err = read_error(&write("jsonl", "roles.jsonl", text), "roles.jsonl");
    assert_eq!(err.line, Some(1), "{err}");
    assert!(err.reason.starts_with("is longer than 1 MiB"), "{err}");

    // Just under the limit is a line like any other: read whole, then held
    // to the rule of its column (a description has at most 4,000 characters).
    let fits = "y".repeat((1 << 20) - 200);
    let text = ENTITLEMENTS.replacen(
        "Create vendors,false,p1,",
        &format!("Create vendors,false,p1,{fits}"),
        1,
    );
    let err = read_error(&write("fits", "entitlements.csv", text), "entitlements.csv");
    assert_eq!(
        (err.line, err.column.as_deref()),
        (Some(2), Some("description")),
        "{err}"
    );
    assert!(err.reason.contains("more than 4000"), "{err}");
}

fn manager(inventory: &soxctl_model::inventory::Inventory, id: &str) -> Option<String> {
    inventory.people[&PersonId::parse(id).unwrap()]
        .manager_id
        .as_ref()
        .map(|m| m.as_str().to_owned())
}

async fn a_self_manager_is_recorded_with_no_manager(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    assert_eq!(manager(&env.inventory().await, "p3").as_deref(), Some("p1"));
    let size = env.size().await;

    // Alan Turing (line 4) names himself as his manager.
    let files = edit("people.csv", |t| {
        t.replace(
            "p3,Alan Turing,alan.turing@example.com,p1,",
            "p3,Alan Turing,alan.turing@example.com,p3,",
        )
    });
    let dir = env.write_snapshot("self-managed", &files);
    let snap = snapshot::read(&dir).unwrap();
    assert_eq!(
        snap.warnings(),
        ["people.csv line 4: p3 is their own manager; recorded with no manager"]
    );
    env.import_ok(&dir).await;
    assert_eq!(manager(&env.inventory().await, "p3"), None);
    let events = env.events_since(size).await;
    assert_eq!(
        kinds(&events),
        counts(&[("person.changed", 1), ("import.completed", 1)])
    );

    // The JSON Lines form names its own file.
    let dir = env.write_snapshot("self-managed-jsonl", &files);
    let people = std::fs::read_to_string(dir.join("people.csv")).unwrap();
    std::fs::remove_file(dir.join("people.csv")).unwrap();
    let mut lines = people.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let jsonl: String = lines
        .map(|line| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(line.split(','))
                .map(|(k, v)| ((*k).to_owned(), v.into()))
                .collect();
            format!("{}\n", serde_json::Value::Object(object))
        })
        .collect();
    std::fs::write(dir.join("people.jsonl"), jsonl).unwrap();
    assert_eq!(
        snapshot::read(&dir).unwrap().warnings(),
        ["people.jsonl line 3: p3 is their own manager; recorded with no manager"]
    );

    // A source that builds its snapshot itself (a directory) gets the same.
    let mut snap = snapshot::read(&env.write_snapshot("built", &base())).unwrap();
    let p4 = PersonId::parse("p4").unwrap();
    snap.inventory.people.get_mut(&p4).unwrap().manager_id = Some(p4.clone());
    soxctl_app::ingest::import(&env.store, &snap, &Default::default())
        .await
        .unwrap();
    let inventory = env.inventory().await;
    assert_eq!(manager(&inventory, "p4"), None);
    // p3 is back under p1 (base), nobody manages themselves.
    assert_eq!(manager(&inventory, "p3").as_deref(), Some("p1"));
    assert!(
        inventory
            .people
            .values()
            .all(|p| p.manager_id.as_ref() != Some(&p.person_id))
    );
    env.verify().await;
}

/// Ids that enter by import meet the rule for new input: no system id
/// outside the safe alphabet, nothing invisible in any id; what a ledger
/// already holds is not judged again.
#[test]
fn imported_ids_meet_the_rule_for_new_input() {
    let dir = tempfile::tempdir().unwrap();
    let people =
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date\n";
    for (systems, accounts, needle) in [
        (
            "system_id,name,kind,owner_id,sox_in_scope\n../x,Bad,erp,,true\n",
            "",
            "system_id",
        ),
        (
            "system_id,name,kind,owner_id,sox_in_scope\na b,Bad,erp,,true\n",
            "",
            "system_id",
        ),
        (
            "system_id,name,kind,owner_id,sox_in_scope\nerp,ERP,erp,,true\n",
            "system_id,account_id,person_id,kind,status,last_login,mfa\nerp,kev\u{202e}in,,human,active,,\n",
            "account_id",
        ),
    ] {
        let snap = dir
            .path()
            .join(format!("snap-{}", needle.len() + systems.len()));
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("people.csv"), people).unwrap();
        std::fs::write(snap.join("systems.csv"), systems).unwrap();
        if !accounts.is_empty() {
            std::fs::write(snap.join("accounts.csv"), accounts).unwrap();
        }
        let error = soxctl_connectors::snapshot::read(&snap)
            .unwrap_err()
            .to_string();
        assert!(error.contains(needle), "{error}");
        assert!(!error.contains('\u{202e}'), "{error}");
    }
}

async fn free_text_that_hides_characters_is_refused(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let size = env.size().await;
    let inventory = env.inventory().await;
    let cases: [(&str, &str, &str, &str, u64); 7] = [
        ("people.csv", "name", "Grace Hopper", "Grace\0Hopper", 3),
        (
            "people.csv",
            "department",
            "IT,Engineer",
            "I\u{202e}T,Engineer",
            4,
        ),
        ("people.csv", "title", "Controller", "Control\u{7}ler", 2),
        (
            "people.csv",
            "email",
            "ada.lovelace@",
            "ada\u{200b}.lovelace@",
            2,
        ),
        (
            "systems.csv",
            "name",
            "Banking portal",
            "Banking\u{1b}[31m portal",
            3,
        ),
        (
            "entitlements.csv",
            "name",
            "Post journals",
            "Post\njournals",
            4,
        ),
        (
            "entitlements.csv",
            "description",
            "Approve, then pay",
            "Approve,\u{202e} then pay",
            3,
        ),
    ];
    for (file, column, from, to, line) in cases {
        let files = edit(file, |t| {
            assert!(t.contains(from), "{file} has no {from}");
            let to = if to.contains('\n') {
                format!("\"{to}\"")
            } else {
                to.to_owned()
            };
            t.replacen(from, &to, 1)
        });
        let dir = env.write_snapshot(
            &format!("hidden-{}-{column}", file.replace('.', "-")),
            &files,
        );
        let err = match env.import(&dir, &Default::default()).await {
            Err(ImportError::Snapshot(err)) => err,
            other => panic!("{file} {column}: expected a snapshot error, got {other:?}"),
        };
        assert_eq!(
            (err.file.as_str(), err.line, err.column.as_deref()),
            (file, Some(line), Some(column)),
            "{err}"
        );
        let shown = err.to_string();
        assert!(
            shown.contains("holds a control or invisible character"),
            "{shown}"
        );
        assert!(
            !shown.chars().any(soxctl_model::identity::is_hidden),
            "the error shows the raw character: {shown:?}"
        );
    }
    assert_eq!(env.size().await, size, "a refused import wrote nothing");
    assert_eq!(env.inventory().await, inventory);

    // Too long is refused as well; a description may span lines.
    let long = "x".repeat(soxctl_model::text::MAX_INVENTORY_LINE + 1);
    let dir = env.write_snapshot(
        "long-title",
        &edit("people.csv", |t| t.replacen("Controller", &long, 1)),
    );
    let err = read_error(&dir, "people.csv");
    assert!(err.reason.contains("more than 512"), "{err}");
    let dir = env.write_snapshot(
        "two-line-description",
        &edit("entitlements.csv", |t| {
            t.replacen("Approve, then pay", "Approve,\nthen pay", 1)
        }),
    );
    env.import_ok(&dir).await;
    let description = env.inventory().await.entitlements.values().find_map(|e| {
        (e.entitlement_id.as_str() == "PAYMENT_APPROVE").then(|| e.description.clone())
    });
    assert_eq!(description, Some(Some("Approve,\nthen pay".to_owned())));
}
