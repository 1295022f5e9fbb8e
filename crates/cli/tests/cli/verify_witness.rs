//! Deleted checkpoints and a consistently rewritten tail need only database
//! access: the signer's witness must catch them, and say what it covers.

use crate::helpers::{Run, Sandbox};
use std::path::Path;

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
