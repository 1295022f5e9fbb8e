//! `soxctl verify` on stores and exported bundles, and what it catches: a
//! changed row or entry, a truncated ledger, a store rolled back to a backup.

use crate::helpers::{Sandbox, col, edit_csv, tamper};
use std::path::Path;

#[test]
fn read_only_commands_need_an_existing_store() {
    let sb = Sandbox::new();
    let missing = sb.path("missing");
    let commands = [
        args!["token", "list", "--data", &missing],
        args!["token", "revoke", "tok_000000000000", "--data", &missing],
        args!["verify", "--data", &missing],
        args!["ledger", "checkpoint", "--data", &missing],
        args![
            "ledger",
            "proof",
            "inclusion",
            "--seq",
            "0",
            "--data",
            &missing
        ],
        args![
            "ledger",
            "proof",
            "consistency",
            "--from",
            "1",
            "--data",
            &missing
        ],
        args![
            "export",
            "ledger",
            "--data",
            &missing,
            "--out",
            sb.path("bundle")
        ],
        args!["backup", "--data", &missing, "--out", sb.path("backup.db")],
    ];
    for command in commands {
        let run = sb.run(command);
        run.code(2)
            .stderr_has(&["no soxctl store", "soxctl import"]);
        assert!(run.stdout.is_empty(), "{run:?}");
        assert!(
            !missing.exists(),
            "a read-only command created {}: {run:?}",
            missing.display()
        );
        assert!(!sb.path("bundle").exists());
    }
    // The default location is ./soxctl-data, relative to the working directory.
    sb.run(args!["verify"]).code(2).stderr_has(&["soxctl-data"]);
    assert!(!sb.path("soxctl-data").exists());
}

/// Changes one character of the `time` of entry `seq` in a JSON Lines file.
fn flip_time_digit(entries: &Path, seq: usize) {
    let text = std::fs::read_to_string(entries).expect("entries.jsonl");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let line = &mut lines[seq];
    let at = line.find("\"time\":\"").expect("time field") + "\"time\":\"".len() + 3;
    let year_digit = line.as_bytes()[at];
    let flipped = if year_digit == b'9' {
        '8'
    } else {
        char::from(year_digit + 1)
    };
    line.replace_range(at..=at, &flipped.to_string());
    std::fs::write(entries, lines.join("\n") + "\n").expect("write entries");
}

#[test]
fn verify_a_store_and_an_exported_bundle() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 11, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    sb.create_token(&data, &["--init", "--scope", "admin"]);

    let report = sb
        .run(args!["verify", "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert_eq!(report["ok"], true);
    let size = report["entries"].as_u64().expect("entries");
    assert!(
        report["checkpoints"].as_u64().expect("checkpoints") >= 2,
        "import and token create each sign one: {report}"
    );
    assert!(
        report["state_rows"].as_u64().expect("state rows") > 700,
        "{report}"
    );
    let text = sb.run(args!["verify", "--data", &data, "--format", "table"]);
    text.ok();
    assert!(
        text.stdout
            .starts_with(&format!("store verified: {size} entries")),
        "{text:?}"
    );

    let bundle = sb.path("bundle");
    sb.run(args!["export", "ledger", "--data", &data, "--out", &bundle])
        .ok();
    for file in ["entries.jsonl", "checkpoint", "verifier.key"] {
        assert!(bundle.join(file).is_file(), "export wrote no {file}");
    }
    let entries = std::fs::read_to_string(bundle.join("entries.jsonl")).expect("entries");
    assert_eq!(entries.lines().count() as u64, size);
    assert_eq!(
        std::fs::read_to_string(bundle.join("checkpoint")).expect("checkpoint"),
        sb.checkpoint(&data)
    );
    let key = bundle.join("verifier.key");
    let checked = sb
        .run(args!["verify", &bundle, "--key", &key, "--format", "json"])
        .ok()
        .json();
    assert_eq!(checked["ok"], true);
    assert_eq!(checked["entries"], size);
    assert_eq!(
        checked["root"], report["root"],
        "bundle and store agree on the root"
    );

    // An export never overwrites.
    sb.run(args!["export", "ledger", "--data", &data, "--out", &bundle])
        .code(2)
        .stderr_has(&["not empty"]);
    // A bundle needs a key.
    sb.run(args!["verify", &bundle])
        .code(2)
        .stderr_has(&["--key"]);
    // A key that is not the store's.
    let other = sb.path("other");
    sb.create_token(&other, &["--init", "--scope", "admin"]);
    let other_bundle = sb.path("other-bundle");
    sb.run(args![
        "export",
        "ledger",
        "--data",
        &other,
        "--out",
        &other_bundle
    ])
    .ok();
    sb.run(args![
        "verify",
        &bundle,
        "--key",
        other_bundle.join("verifier.key")
    ])
    .code(1)
    .stderr_has(&["bundle verification failed", "checkpoint"]);
    sb.run(args![
        "verify",
        "--data",
        &data,
        "--key",
        other_bundle.join("verifier.key")
    ])
    .code(1)
    .stderr_has(&["verification failed"]);

    // One byte of entry 3 changed: its successor no longer chains to it.
    let tampered = sb.path("tampered");
    std::fs::create_dir(&tampered).expect("mkdir");
    for file in ["entries.jsonl", "checkpoint", "verifier.key"] {
        std::fs::copy(bundle.join(file), tampered.join(file)).expect("copy");
    }
    flip_time_digit(&tampered.join("entries.jsonl"), 3);
    let run = sb.run(args![
        "verify", &tampered, "--key", &key, "--format", "json"
    ]);
    run.code(1).stderr_has(&[
        "bundle verification failed",
        "entry 4",
        "leaf hash of entry 3",
    ]);
    assert!(
        run.stdout.is_empty(),
        "no success report on failure: {run:?}"
    );

    // The last entry changed: nothing follows it, the signed root catches it.
    let last = sb.path("last");
    std::fs::create_dir(&last).expect("mkdir");
    for file in ["entries.jsonl", "checkpoint", "verifier.key"] {
        std::fs::copy(bundle.join(file), last.join(file)).expect("copy");
    }
    flip_time_digit(
        &last.join("entries.jsonl"),
        usize::try_from(size - 1).expect("size"),
    );
    sb.run(args!["verify", &last, "--key", &key])
        .code(1)
        .stderr_has(&["bundle verification failed", "root"]);

    // A truncated bundle.
    let short = sb.path("short");
    std::fs::create_dir(&short).expect("mkdir");
    for file in ["checkpoint", "verifier.key"] {
        std::fs::copy(bundle.join(file), short.join(file)).expect("copy");
    }
    let kept: String = entries.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(short.join("entries.jsonl"), kept).expect("write");
    sb.run(args!["verify", &short, "--key", &key])
        .code(1)
        .stderr_has(&[&format!(
            "checkpoint covers {size} entries but the bundle holds 5"
        )]);

    assert_eq!(
        sb.ledger_size(&data),
        size,
        "nothing above touched the store"
    );
}

#[test]
fn verify_names_a_state_row_changed_behind_the_ledger() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 12, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    sb.ledger_size(&data);

    tamper(
        &data,
        "UPDATE grants SET source = 'direct' WHERE (system_id, account_id, entitlement_id) IN \
         (SELECT system_id, account_id, entitlement_id FROM grants WHERE source LIKE 'role:%' ORDER BY 1, 2, 3 LIMIT 1)",
    );
    let run = sb.run(args!["verify", "--data", &data, "--format", "json"]);
    run.code(1).stderr_has(&[
        "verification failed",
        "state table grants",
        "without a ledger entry",
    ]);
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn verify_names_a_rewritten_entry() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 13, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    tamper(
        &data,
        "UPDATE ledger_entries SET bytes = CAST(replace(CAST(bytes AS TEXT), '\"time\":\"2', '\"time\":\"1') AS BLOB) WHERE seq = 5",
    );
    sb.run(args!["verify", "--data", &data])
        .code(1)
        .stderr_has(&["verification failed", "entry 5"]);
}

/// Imports `snap`, then a changed copy of it; the ledger sizes after each.
fn two_imports(sb: &Sandbox, seed: u64, data: &Path) -> (u64, u64) {
    let snap = sb.snapshot("snap", seed, 60);
    sb.import(&snap, data);
    let first = sb.ledger_size(data);
    let changed = sb.copy_snapshot(&snap, "changed");
    edit_csv(&changed.join("people.csv"), |h, rows| {
        let title = col(h, "title");
        for row in rows.iter_mut().take(3) {
            row[title] = format!("{} (acting)", row[title]);
        }
    });
    sb.import(&changed, data);
    let second = sb.ledger_size(data);
    assert!(second > first);
    (first, second)
}

#[test]
fn a_truncated_ledger_fails_verification() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let (first, second) = two_imports(&sb, 14, &data);
    let trusted = sb.path("trusted-checkpoint");
    std::fs::write(&trusted, sb.checkpoint(&data)).expect("save checkpoint");
    sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        &trusted,
        "--format",
        "json"
    ])
    .ok();

    // Drop the second import's entries and the checkpoints that cover them.
    tamper(
        &data,
        &format!(
            "DELETE FROM ledger_entries WHERE seq >= {first}; DELETE FROM checkpoints WHERE size > {first};"
        ),
    );
    sb.run(args!["verify", "--data", &data])
        .code(1)
        .stderr_has(&["verification failed"]);
    let run = sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        &trusted
    ]);
    run.code(1).stderr_has(&["verification failed"]);
    assert!(
        run.stderr.contains("truncated")
            || run
                .stderr
                .contains(&format!("says {second} entries but {first} are stored"))
            || run.stderr.contains("subtree"),
        "{run:?}"
    );
}

#[test]
fn a_rolled_back_store_fails_against_the_witness_and_a_trusted_checkpoint() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 15, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    let old_checkpoint = sb.path("old-checkpoint");
    std::fs::write(&old_checkpoint, sb.checkpoint(&data)).expect("save");
    let old_size = sb.ledger_size(&data);
    let backup = sb.path("old.db");
    sb.run(args!["backup", "--data", &data, "--out", &backup])
        .ok();

    sb.create_token(&data, &["--scope", "admin"]);
    let trusted = sb.path("trusted-checkpoint");
    std::fs::write(&trusted, sb.checkpoint(&data)).expect("save");
    let new_size = sb.ledger_size(&data);
    // The newer checkpoint extends the older one.
    let ext = sb
        .run(args![
            "verify",
            "--data",
            &data,
            "--trusted-checkpoint",
            &old_checkpoint,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(ext["trusted_checkpoint_size"], old_size);

    // Roll the whole database back to the old backup: self-consistent.
    for suffix in ["", "-wal", "-shm"] {
        let f = data.join(format!("soxctl.db{suffix}"));
        if f.exists() {
            std::fs::remove_file(&f).expect("remove");
        }
    }
    std::fs::copy(&backup, data.join("soxctl.db")).expect("roll back");
    // The signer's witness beside the key (outside the database) covers the
    // newer checkpoint.
    let witness = data.join("signing.key.checkpoint");
    sb.run(args!["verify", "--data", &data])
        .code(1)
        .stderr_has(&[
            &format!("checkpoint witness {}", witness.display()),
            &format!("covers {new_size} entries but the store holds only {old_size}"),
            "truncated or rolled back",
        ]);
    // Without the witness, the old store verifies on its own.
    let handed = sb.path("handed-witness");
    std::fs::rename(&witness, &handed).expect("move the witness away");
    let run = sb.run(args!["verify", "--data", &data, "--format", "json"]);
    assert_eq!(run.ok().json()["entries"], old_size, "{run:?}");
    run.stderr_has(&["warning: no checkpoint witness at"]);
    sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        &old_checkpoint
    ])
    .ok();
    sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        &trusted
    ])
    .code(1)
    .stderr_has(&[
        "trusted checkpoint",
        &format!("covers {new_size} entries but the store holds only {old_size}"),
        "truncated or rolled back",
    ]);
    // An auditor handed the witness catches it too.
    sb.run(args!["verify", "--data", &data, "--witness", &handed])
        .code(1)
        .stderr_has(&[&format!("checkpoint witness {}", handed.display())]);
    std::fs::rename(&handed, &witness).expect("put the witness back");
    // The signer kept the newer checkpoint beside its key (outside the
    // database): it refuses to write to or sign for the rolled-back store.
    sb.run(args![
        "token", "create", "--init", "--scope", "admin", "--data", &data
    ])
    .code(2)
    .stderr_has(&["refusing to sign", "truncated or rolled back"]);
    // Nothing was written: the store still holds the old entries.
    sb.run(args!["verify", "--data", &data])
        .code(1)
        .stderr_has(&[&format!("the store holds only {old_size}")]);
    // A file that is not a checkpoint of this store.
    let junk = sb.path("junk");
    std::fs::write(&junk, "not a checkpoint\n").expect("write");
    let run = sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        &junk
    ]);
    assert!(run.code == 1 || run.code == 2, "{run:?}");
    run.stderr_has(&["trusted checkpoint"]);
    sb.run(args![
        "verify",
        "--data",
        &data,
        "--trusted-checkpoint",
        sb.path("absent")
    ])
    .code(2)
    .stderr_has(&["absent"]);
}
