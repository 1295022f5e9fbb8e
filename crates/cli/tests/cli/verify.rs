//! `soxctl verify` on stores and exported bundles, and what it catches.

use crate::helpers::{Run, Sandbox, col, edit_csv, tamper};
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

/// The backends a tail-rewrite test runs on.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A store as the binary names it, as the tamper helpers open it, and where
/// its signer keeps the witness.
struct Target {
    args: Vec<std::ffi::OsString>,
    location: soxctl_store::Location,
    witness: std::path::PathBuf,
}

impl Target {
    fn new(sb: &Sandbox, backend: Backend) -> Target {
        match backend {
            Backend::Sqlite => {
                let data = sb.path("data");
                Target {
                    args: args!["--data", &data],
                    location: soxctl_store::Location::Sqlite(data.clone()),
                    witness: data.join("signing.key.checkpoint"),
                }
            }
            Backend::Postgres => {
                let url = soxctl_testkit::postgres()
                    .expect("throw-away PostgreSQL")
                    .fresh_database()
                    .expect("fresh database");
                std::fs::create_dir_all(sb.path("keys")).expect("mkdir");
                let key = sb.path("keys").join("signing.key");
                Target {
                    args: args!["--database", &url, "--signing-key", &key],
                    location: soxctl_store::Location::Postgres(url),
                    witness: sb.path("keys").join("signing.key.checkpoint"),
                }
            }
        }
    }

    /// `soxctl COMMAND… <store args> EXTRA…`.
    fn run(&self, sb: &Sandbox, command: &[&str], extra: Vec<std::ffi::OsString>) -> Run {
        let mut a: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
        a.extend(self.args.iter().cloned());
        a.extend(extra);
        sb.run(a)
    }

    /// SQL literal for bytes.
    fn blob(&self, bytes: &[u8]) -> String {
        match self.location {
            soxctl_store::Location::Sqlite(_) => format!("X'{}'", hex::encode(bytes)),
            soxctl_store::Location::Postgres(_) => format!("'\\x{}'::bytea", hex::encode(bytes)),
        }
    }

    /// Issue 12's attack, with write access to the database only: every
    /// checkpoint row but the `kept` oldest deleted, then the tail after the
    /// newest one left rewritten consistently — its first `token.created`
    /// changed from `read` to `admin`, the later entries chained to it
    /// again, their leaf hashes, the tokens row, the subtree nodes and the
    /// head. Returns the size of the newest checkpoint left.
    fn delete_checkpoints_and_rewrite_tail(&self, kept: usize) -> u64 {
        use soxctl_ledger::tree::{Frontier, leaf_hash};
        crate::helpers::block_on(async {
            let store = soxctl_store::Store::open(soxctl_store::OpenOptions {
                location: self.location.clone(),
                create: false,
                clock: std::sync::Arc::new(soxctl_model::clock::SystemClock),
                failpoints: Default::default(),
            })
            .await
            .expect("open the store");
            let checkpoints = store.checkpoints().await.expect("checkpoints");
            let kept = checkpoints[kept - 1].size;
            let entries = store.entries(0, 1 << 40).await.expect("entries");
            let mut leaves: Vec<[u8; 32]> = entries.iter().map(|(_, leaf, _)| *leaf).collect();
            let first = entries
                .iter()
                .position(|(seq, _, bytes)| {
                    *seq >= kept
                        && serde_json::from_slice::<serde_json::Value>(bytes).expect("entry")["type"]
                            == "token.created"
                })
                .expect("a token created after the checkpoint kept");
            let mut sql = format!("DELETE FROM checkpoints WHERE size > {kept};\n");
            for (seq, _, bytes) in &entries[first..] {
                let i = usize::try_from(*seq).expect("seq");
                let mut text = String::from_utf8(bytes.clone()).expect("entry text");
                if i == first {
                    let entry: serde_json::Value = serde_json::from_str(&text).expect("entry");
                    let token = entry["payload"]["token_id"].as_str().expect("token id");
                    sql += &format!(
                        "UPDATE tokens SET scopes = 'admin' WHERE token_id = '{token}';\n"
                    );
                    assert!(text.contains(r#""scopes":["read"]"#), "{text}");
                    text = text.replacen(r#""scopes":["read"]"#, r#""scopes":["admin"]"#, 1);
                } else {
                    let stored = format!(r#""prev":"{}""#, hex::encode(entries[i - 1].1));
                    assert!(text.contains(&stored), "{text}");
                    text = text.replacen(
                        &stored,
                        &format!(r#""prev":"{}""#, hex::encode(leaves[i - 1])),
                        1,
                    );
                }
                leaves[i] = leaf_hash(text.as_bytes());
                sql += &format!(
                    "UPDATE ledger_entries SET bytes = {}, leaf_hash = {} WHERE seq = {seq};\n",
                    self.blob(text.as_bytes()),
                    self.blob(&leaves[i])
                );
            }
            sql += "DELETE FROM ledger_nodes;\n";
            let mut frontier = Frontier::new();
            for leaf in &leaves {
                for (node, hash) in frontier.push(*leaf) {
                    if node.level % 4 == 0 {
                        sql += &format!(
                            "INSERT INTO ledger_nodes (level, idx, hash) VALUES ({}, {}, {});\n",
                            node.level,
                            node.index,
                            self.blob(&hash)
                        );
                    }
                }
            }
            sql += &format!(
                "UPDATE ledger_head SET size = {}, last_leaf = {}, frontier = {} WHERE id = 1;\n",
                leaves.len(),
                self.blob(leaves.last().expect("entries")),
                self.blob(&frontier.to_bytes())
            );
            store
                .execute_unchecked(&sql)
                .await
                .unwrap_or_else(|e| panic!("tamper SQL failed: {e}\n{sql}"));
            store.close().await;
            kept
        })
    }
}

/// Issue 12: checkpoint rows deleted, all but the `kept(count)` oldest, and
/// the tail after the rest rewritten consistently. `verify` passes without
/// the witness (the rewrite is otherwise undetected, the tail merely
/// "unsigned"), fails against it, and agrees with the signer, which refuses.
fn tail_rewrite_is_caught_by_the_witness(backend: Backend, kept: fn(u64) -> u64) {
    let sb = Sandbox::new();
    let target = Target::new(&sb, backend);
    let snap = sb.snapshot("snap", 16, 50);
    target.run(&sb, &["import"], args![&snap]).ok();
    // Four `read` tokens, each signed.
    for _ in 0..4 {
        target
            .run(&sb, &["token", "create"], args!["--scope", "read"])
            .ok();
    }
    let before = target
        .run(&sb, &["verify"], args!["--format", "json"])
        .ok()
        .json();
    let size = before["entries"].as_u64().expect("entries");
    let count = before["checkpoints"].as_u64().expect("checkpoints");
    assert!(count >= 5, "{before}");
    assert_eq!(before["witness_size"], size, "{before}");
    assert_eq!(before["witness"], target.witness.display().to_string());
    assert_eq!(before["unsigned_entries"], 0, "{before}");
    let left = kept(count);
    let kept = target.delete_checkpoints_and_rewrite_tail(usize::try_from(left).expect("count"));
    let unsigned = size - kept;

    // Without the witness the rewrite passes, as merely unsigned entries.
    let handed = sb.path("handed-witness");
    std::fs::rename(&target.witness, &handed).expect("move the witness away");
    let run = target.run(&sb, &["verify"], args!["--format", "json"]);
    let report = run.ok().json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["entries"], size, "{report}");
    assert_eq!(report["checkpoints"], left, "{report}");
    assert_eq!(report["unsigned_entries"], unsigned, "{report}");
    assert_eq!(report["witness_size"], serde_json::Value::Null, "{report}");
    run.stderr_has(&[
        &format!(
            "warning: no checkpoint witness at {}",
            target.witness.display()
        ),
        &format!("note: the last {unsigned} entries (after size {kept})"),
    ]);

    // Against the witness, handed to an auditor or beside the key, it fails.
    let rewritten = |run: &Run, witness: &Path| {
        run.code(1).stderr_has(&[
            &format!(
                "verification failed: checkpoint witness {}: at size {size} it has root",
                witness.display()
            ),
            "the ledger was rewritten",
        ]);
        assert!(run.stdout.is_empty(), "{run:?}");
    };
    rewritten(
        &target.run(&sb, &["verify"], args!["--witness", &handed]),
        &handed,
    );
    std::fs::rename(&handed, &target.witness).expect("put the witness back");
    rewritten(
        &target.run(&sb, &["verify"], args!["--format", "json"]),
        &target.witness,
    );
    // A backup of the rewritten store does not restore with the key and
    // the witness beside it.
    if let Backend::Sqlite = backend {
        let data = sb.path("data");
        let backup = sb.path("rewritten.db");
        sb.run(args!["backup", "--data", &data, "--out", &backup])
            .ok();
        let restored = sb.path("restored");
        sb.run(args![
            "restore",
            &backup,
            "--data",
            &restored,
            "--signing-key",
            data.join("signing.key")
        ])
        .code(1)
        .stderr_has(&[
            "restored store does not verify: checkpoint witness",
            "the ledger was rewritten",
        ]);
        assert!(!restored.join("soxctl.db").exists());
    }
    // The signer agrees: nothing is written or signed.
    target
        .run(
            &sb,
            &["token", "create"],
            args!["--init", "--scope", "admin"],
        )
        .code(2)
        .stderr_has(&["refusing to sign", "differs from the signed one"]);
    target
        .run(
            &sb,
            &["export", "ledger"],
            args!["--out", sb.path("bundle")],
        )
        .code(2)
        .stderr_has(&["refusing to sign", "differs from the signed one"]);
}

#[test]
fn newest_checkpoint_deleted_and_tail_rewritten_sqlite() {
    tail_rewrite_is_caught_by_the_witness(Backend::Sqlite, |count| count - 1);
}

#[test]
fn newest_checkpoint_deleted_and_tail_rewritten_postgres() {
    tail_rewrite_is_caught_by_the_witness(Backend::Postgres, |count| count - 1);
}

#[test]
fn three_newest_checkpoints_deleted_and_tail_rewritten_sqlite() {
    tail_rewrite_is_caught_by_the_witness(Backend::Sqlite, |count| count - 3);
}

#[test]
fn three_newest_checkpoints_deleted_and_tail_rewritten_postgres() {
    tail_rewrite_is_caught_by_the_witness(Backend::Postgres, |count| count - 3);
}

#[test]
fn all_but_the_first_checkpoint_deleted_and_tail_rewritten_sqlite() {
    tail_rewrite_is_caught_by_the_witness(Backend::Sqlite, |_| 1);
}

#[test]
fn all_but_the_first_checkpoint_deleted_and_tail_rewritten_postgres() {
    tail_rewrite_is_caught_by_the_witness(Backend::Postgres, |_| 1);
}

/// The newest checkpoint rows deleted and nothing else: the entries still
/// extend the witness, so `verify` passes, but says the rows are gone.
fn deleted_checkpoints_are_noted(backend: Backend) {
    let sb = Sandbox::new();
    let target = Target::new(&sb, backend);
    for _ in 0..3 {
        target
            .run(
                &sb,
                &["token", "create"],
                args!["--init", "--scope", "admin"],
            )
            .ok();
    }
    let before = target
        .run(&sb, &["verify"], args!["--format", "json"])
        .ok()
        .json();
    assert_eq!(before["witness_checkpoint_missing"], false, "{before}");
    let size = before["entries"].as_u64().expect("entries");
    crate::helpers::block_on(async {
        let store = soxctl_store::Store::open(soxctl_store::OpenOptions {
            location: target.location.clone(),
            create: false,
            clock: std::sync::Arc::new(soxctl_model::clock::SystemClock),
            failpoints: Default::default(),
        })
        .await
        .expect("open the store");
        store
            .execute_unchecked("DELETE FROM checkpoints WHERE size > 1;")
            .await
            .expect("delete");
        store.close().await;
    });
    let run = target.run(&sb, &["verify"], args!["--format", "json"]);
    let report = run.ok().json();
    assert_eq!(report["witness_checkpoint_missing"], true, "{report}");
    assert_eq!(report["witness_size"], size, "{report}");
    assert_eq!(report["unsigned_entries"], 0, "{report}");
    run.stderr_has(&[&format!(
        "warning: the signer's checkpoint at size {size} (the witness) is not among the store's checkpoints"
    )]);
}

#[test]
fn deleted_checkpoints_are_noted_sqlite() {
    deleted_checkpoints_are_noted(Backend::Sqlite);
}

#[test]
fn deleted_checkpoints_are_noted_postgres() {
    deleted_checkpoints_are_noted(Backend::Postgres);
}

/// Entries after the witness are reported as unsigned; a PostgreSQL store
/// verified with the public key alone has no witness, and says so; a
/// `--witness` that does not exist is a usage error.
#[test]
fn verify_reports_the_witness_and_what_it_does_not_cover() {
    let sb = Sandbox::new();
    let target = Target::new(&sb, Backend::Postgres);
    target
        .run(
            &sb,
            &["token", "create"],
            args!["--init", "--scope", "admin"],
        )
        .ok();
    target
        .run(
            &sb,
            &["export", "ledger"],
            args!["--out", sb.path("bundle")],
        )
        .ok();
    let verifier = sb.path("bundle").join("verifier.key");
    let soxctl_store::Location::Postgres(url) = &target.location else {
        unreachable!()
    };
    let run = sb.run(args![
        "verify",
        "--database",
        url,
        "--key",
        &verifier,
        "--format",
        "json"
    ]);
    assert_eq!(run.ok().json()["witness"], serde_json::Value::Null);
    run.stderr_has(&["warning: no checkpoint witness:", "--witness FILE"]);
    let report = sb
        .run(args![
            "verify",
            "--database",
            url,
            "--key",
            &verifier,
            "--witness",
            &target.witness,
            "--format",
            "json"
        ])
        .ok()
        .json();
    let size = report["entries"].as_u64().expect("entries");
    assert_eq!(report["witness_size"], size, "{report}");

    // An entry appended after the last signature (as a server does between
    // checkpoints): unsigned, counted after the witness.
    crate::helpers::block_on(async {
        let store = soxctl_store::Store::open(soxctl_store::OpenOptions {
            location: target.location.clone(),
            create: false,
            clock: std::sync::Arc::new(soxctl_model::clock::SystemClock),
            failpoints: Default::default(),
        })
        .await
        .expect("open the store");
        let mut tx = store.begin_write().await.expect("begin");
        tx.append(
            &soxctl_model::principal::Principal::system("test"),
            &soxctl_model::event::Event::TokenRevoked(soxctl_model::event::TokenRevoked {
                token_id: soxctl_model::ids::TokenId::parse(report_token(&sb, &target).as_str())
                    .expect("token id"),
            }),
        )
        .await
        .expect("append");
        tx.commit().await.expect("commit");
        store.close().await;
    });
    let run = target.run(&sb, &["verify"], args!["--format", "table"]);
    run.ok().stderr_has(&[&format!(
        "note: the last 1 entries (after size {size}) are not yet covered by a signed checkpoint"
    )]);
    assert!(
        run.stdout.contains(&format!(
            "; extends the witness at size {size}; 1 entries unsigned; root"
        )),
        "{run:?}"
    );
    target
        .run(&sb, &["verify"], args!["--witness", sb.path("absent")])
        .code(2)
        .stderr_has(&["cannot read the checkpoint witness", "absent"]);
}

/// The id of the one token of `target`'s store.
fn report_token(sb: &Sandbox, target: &Target) -> String {
    let list = target
        .run(sb, &["token", "list"], args!["--format", "json"])
        .ok()
        .json();
    list[0]["token_id"].as_str().expect("token id").to_owned()
}
