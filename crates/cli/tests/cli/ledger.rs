//! `soxctl ledger checkpoint|proof`, checked with the ledger crate's own
//! verifiers against the signed checkpoint, and `backup`/`restore`.

use crate::helpers::{Sandbox, mode, note_parts, tamper};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use soxctl_ledger::note::{VerifierKey, open_checkpoint};
use soxctl_ledger::proof::{verify_consistency, verify_inclusion};
use soxctl_ledger::tree::{Hash, leaf_hash};

fn hash(v: &Value) -> Hash {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a base64 string"));
    let bytes = STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text} is not base64: {e}"));
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("a hash has 32 bytes, not {}", b.len()))
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(hash)
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[test]
fn proofs_verify_against_the_signed_checkpoint() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 21, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);

    let note = sb.checkpoint(&data);
    let (origin, size, root_b64) = note_parts(&note);
    assert!(origin.starts_with("soxctl/"), "default origin: {note}");
    let root = hash(&Value::String(root_b64));
    // The note is signed by the store's key (export writes its verifier).
    let bundle = sb.path("bundle");
    sb.run(args!["export", "ledger", "--data", &data, "--out", &bundle])
        .ok();
    let verifier = VerifierKey::parse(
        std::fs::read_to_string(bundle.join("verifier.key"))
            .expect("key")
            .trim(),
    )
    .expect("verifier key");
    let opened = open_checkpoint(&note, &verifier).expect("the checkpoint verifies");
    assert_eq!((opened.size, opened.root), (size, root));

    let inclusion = sb
        .run(args![
            "ledger",
            "proof",
            "inclusion",
            "--seq",
            "3",
            "--data",
            &data,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(
        keys(&inclusion),
        ["hashes", "index", "leaf_hash", "root", "size"],
        "{inclusion}"
    );
    assert_eq!(inclusion["index"], 3);
    assert_eq!(inclusion["size"], size);
    assert_eq!(
        hash(&inclusion["root"]),
        root,
        "default size is the latest checkpoint's"
    );
    let leaf = hash(&inclusion["leaf_hash"]);
    let entries = std::fs::read_to_string(bundle.join("entries.jsonl")).expect("entries");
    let entry3 = entries.lines().nth(3).expect("entry 3");
    assert_eq!(
        leaf,
        leaf_hash(entry3.as_bytes()),
        "leaf_hash is the RFC 9162 hash of entry 3's bytes"
    );
    verify_inclusion(&leaf, 3, size, &hashes(&inclusion["hashes"]), &root)
        .expect("inclusion proof verifies");
    // Against another leaf, the same proof fails.
    let entry4 = entries.lines().nth(4).expect("entry 4");
    assert!(
        verify_inclusion(
            &leaf_hash(entry4.as_bytes()),
            3,
            size,
            &hashes(&inclusion["hashes"]),
            &root
        )
        .is_err()
    );

    let consistency = sb
        .run(args![
            "ledger",
            "proof",
            "consistency",
            "--from",
            "2",
            "--data",
            &data,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(
        keys(&consistency),
        ["hashes", "root1", "root2", "size1", "size2"],
        "{consistency}"
    );
    assert_eq!(
        (&consistency["size1"], &consistency["size2"]),
        (&Value::from(2), &Value::from(size))
    );
    assert_eq!(hash(&consistency["root2"]), root);
    let root2of = |n: usize| {
        let mut tree = soxctl_ledger::proof::MemoryTree::new();
        for line in entries.lines().take(n) {
            tree.push(leaf_hash(line.as_bytes()));
        }
        tree.root()
    };
    assert_eq!(
        hash(&consistency["root1"]),
        root2of(2),
        "root1 is the root of the first two entries"
    );
    verify_consistency(
        2,
        size,
        &hashes(&consistency["hashes"]),
        &hash(&consistency["root1"]),
        &root,
    )
    .expect("consistency proof verifies");

    // Explicit sizes; jsonl is one line.
    let small = sb.run(args![
        "ledger",
        "proof",
        "inclusion",
        "--seq",
        "0",
        "--size",
        "7",
        "--data",
        &data,
        "--format",
        "jsonl"
    ]);
    small.ok();
    assert_eq!(small.stdout.lines().count(), 1);
    let small: Value = serde_json::from_str(&small.stdout).expect("json line");
    verify_inclusion(
        &hash(&small["leaf_hash"]),
        0,
        7,
        &hashes(&small["hashes"]),
        &root2of(7),
    )
    .expect("inclusion at size 7");

    // After more entries, the old checkpoint is a prefix of the new tree.
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    let (_, new_size, new_root) = note_parts(&sb.checkpoint(&data));
    assert_eq!(new_size, size + 1);
    let grown = sb
        .run(args![
            "ledger",
            "proof",
            "consistency",
            "--from",
            size.to_string(),
            "--data",
            &data,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(hash(&grown["root1"]), root);
    verify_consistency(
        size,
        new_size,
        &hashes(&grown["hashes"]),
        &root,
        &hash(&Value::String(new_root)),
    )
    .expect("the log only grew");

    // Out-of-range requests are input errors.
    sb.run(args![
        "ledger",
        "proof",
        "inclusion",
        "--seq",
        new_size.to_string(),
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["not in a tree"]);
    sb.run(args![
        "ledger",
        "proof",
        "inclusion",
        "--seq",
        "1",
        "--size",
        (new_size + 5).to_string(),
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["not a tree size of this ledger"]);
    sb.run(args![
        "ledger",
        "proof",
        "consistency",
        "--from",
        "9",
        "--to",
        "4",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["larger"]);
    sb.run(args!["ledger", "proof", "inclusion", "--data", &data])
        .code(2)
        .stderr_has(&["--seq"]);
    // As the HTTP API (400): a proof from the empty tree is refused.
    let run = sb.run(args![
        "ledger",
        "proof",
        "consistency",
        "--from",
        "0",
        "--data",
        &data
    ]);
    run.code(2).stderr_has(&["from=0", "from 1 to"]);
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn export_checks_its_directory_before_signing() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    // Entries without a checkpoint: an export would sign one.
    tamper(&data, "DELETE FROM checkpoints");
    let full = sb.path("full");
    std::fs::create_dir(&full).expect("mkdir");
    std::fs::write(full.join("notes.txt"), "keep me").expect("write");
    let file = sb.path("file");
    std::fs::write(&file, "not a directory").expect("write");
    for out in [&full, &file] {
        sb.run(args!["export", "ledger", "--data", &data, "--out", out])
            .code(2)
            .stderr_has(&[&out.display().to_string()]);
        sb.run(args!["ledger", "checkpoint", "--data", &data])
            .code(2)
            .stderr_has(&["no signed checkpoint yet"]);
    }
    assert_eq!(std::fs::read_dir(&full).expect("dir").count(), 1);
    // An empty directory is fine.
    let empty = sb.path("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    sb.run(args!["export", "ledger", "--data", &data, "--out", &empty])
        .ok();
    assert_eq!(note_parts(&sb.checkpoint(&data)).1, 2);
}

#[test]
fn backup_and_restore_give_the_same_verified_store() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 22, 60);
    let data = sb.path("data");
    sb.import(&snap, &data);
    sb.create_token(&data, &["--scope", "admin"]);
    let checkpoint = sb.checkpoint(&data);

    let backup = sb.path("backup.db");
    let run = sb.run(args!["backup", "--data", &data, "--out", &backup]);
    let signed = note_parts(&checkpoint).1;
    // The checkpoint named is one the backup holds (read before the copy).
    run.ok().stderr_has(&[
        "signing key",
        &format!("latest signed checkpoint has size {signed} or more"),
    ]);
    assert!(backup.is_file());
    // It holds personal data and the per-person keys: private.
    #[cfg(unix)]
    assert_eq!(
        mode(&backup),
        0o600,
        "a backup is readable by its owner only"
    );
    assert!(run.stdout.is_empty(), "{run:?}");
    let bytes = std::fs::read(&backup).expect("backup");
    let key_text = std::fs::read_to_string(data.join("signing.key")).expect("key");
    // PRIVATE+KEY+<name>+<key hash>+<base64 key>: the base64 may itself
    // hold '+', so take everything after the fourth separator.
    let key_secret = key_text
        .trim()
        .splitn(5, '+')
        .nth(4)
        .expect("key")
        .to_owned();
    assert!(key_secret.len() > 40, "{key_secret}");
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&key_secret),
        "a backup never holds the signing key"
    );
    sb.run(args!["backup", "--data", &data, "--out", &backup])
        .code(2)
        .stderr_has(&["exists"]);

    let restored = sb.path("restored");
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &restored,
        "--signing-key",
        data.join("signing.key")
    ])
    .ok()
    .stderr_has(&[&format!(
        "verified; extends the signer's witness at size {signed}"
    )]);
    // The witness comes along: the restored store's signer keeps extending it.
    assert_eq!(
        std::fs::read(restored.join("signing.key.checkpoint")).expect("witness copied"),
        std::fs::read(data.join("signing.key.checkpoint")).expect("witness")
    );
    assert_eq!(sb.ledger_size(&restored), sb.ledger_size(&data));
    assert_eq!(sb.checkpoint(&restored), checkpoint);
    assert_eq!(sb.tokens(&restored), sb.tokens(&data));
    #[cfg(unix)]
    assert_eq!(mode(&restored.join("signing.key")), 0o600);
    // The restored store works: it takes new entries.
    sb.create_token(&restored, &["--init", "--scope", "admin"]);
    assert_eq!(sb.ledger_size(&restored), sb.ledger_size(&data) + 1);

    // An older backup (the source moved on): restored, with what it lacks.
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    let later = note_parts(&sb.checkpoint(&data)).1;
    let older = sb.path("older");
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &older,
        "--signing-key",
        data.join("signing.key")
    ])
    .ok()
    .stderr_has(&[&format!(
        "note: the backup ends at size {signed}, before the signer's witness {} at size {later}: the {} entries after it",
        data.join("signing.key.checkpoint").display(),
        later - signed
    )]);
    assert!(!older.join("signing.key.checkpoint").exists());
    sb.create_token(&older, &["--init", "--scope", "admin"]);

    // Never over an existing store; never without the key.
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &restored,
        "--signing-key",
        data.join("signing.key")
    ])
    .code(2)
    .stderr_has(&["already holds a store"]);
    let keyless = sb.path("keyless");
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &keyless,
        "--signing-key",
        sb.path("nokey")
    ])
    .code(2)
    .stderr_has(&["signing key"]);
    assert!(!keyless.join("soxctl.db").exists());
    // The wrong key: the restored store does not verify.
    let other = sb.path("other");
    sb.create_token(&other, &["--init", "--scope", "admin"]);
    let wrong = sb.path("wrong");
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &wrong,
        "--signing-key",
        other.join("signing.key")
    ])
    .code(1)
    .stderr_has(&["does not verify"]);
    // A failed restore leaves nothing behind, so it can be retried.
    assert!(
        !wrong.join("soxctl.db").exists(),
        "a restore that does not verify must not leave a store"
    );
    assert!(!wrong.join("signing.key").exists());
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &wrong,
        "--signing-key",
        data.join("signing.key")
    ])
    .ok();
    assert_eq!(sb.checkpoint(&wrong), checkpoint);
    // Not a backup at all.
    let junk = sb.path("junk.db");
    std::fs::write(
        &junk,
        "this is not an SQLite database, it is just long enough to look like a file header.....",
    )
    .expect("write");
    let retry = sb.path("retry");
    sb.run(args![
        "restore",
        &junk,
        "--data",
        &retry,
        "--signing-key",
        data.join("signing.key")
    ])
    .code(2)
    .stderr_has(&["junk.db"]);
    assert!(
        !retry.join("soxctl.db").exists(),
        "a failed restore must not leave a store"
    );
    sb.run(args![
        "restore",
        &backup,
        "--data",
        &retry,
        "--signing-key",
        data.join("signing.key")
    ])
    .ok();
    sb.ledger_size(&retry);
}
