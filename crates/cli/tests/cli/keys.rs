//! The signing key and its store: a key signs the ledger whose origin is its
//! name, and nothing is written before that is checked.

use crate::helpers::{Sandbox, edit_csv, note_parts, tamper};

#[test]
fn a_key_of_another_store_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 51, 60);
    let a = sb.path("a");
    let b = sb.path("b");
    sb.import(&snap, &a);
    sb.create_token(&b, &["--init", "--scope", "admin"]);
    let a_size = sb.ledger_size(&a);
    let a_note = sb.checkpoint(&a);
    let token = sb.tokens(&a);
    let wrong = b.join("signing.key");

    // Writing commands with B's key on A: exit 2, naming both origins.
    let origin_a = note_parts(&a_note).0;
    let origin_b = note_parts(&sb.checkpoint(&b)).0;
    // A snapshot with a change, which an import would record.
    let edited = sb.copy_snapshot(&snap, "edited");
    edit_csv(&edited.join("grants.csv"), |_, rows| {
        rows.remove(0);
    });
    let commands = [
        args![
            "token",
            "create",
            "--scope",
            "admin",
            "--data",
            &a,
            "--signing-key",
            &wrong
        ],
        args!["import", &edited, "--data", &a, "--signing-key", &wrong],
        args![
            "token",
            "revoke",
            "tok_000000000000",
            "--data",
            &a,
            "--signing-key",
            &wrong
        ],
        args![
            "export",
            "ledger",
            "--data",
            &a,
            "--signing-key",
            &wrong,
            "--out",
            sb.path("bundle")
        ],
    ];
    for command in commands {
        let run = sb.run(command);
        run.code(2)
            .stderr_has(&[&origin_a, &origin_b, "--signing-key"]);
        assert!(
            !run.stdout.contains("sxt_"),
            "no secret for an unrecorded token: {run:?}"
        );
    }
    assert!(!sb.path("bundle").exists());
    assert_eq!(sb.ledger_size(&a), a_size, "nothing was recorded");
    assert_eq!(sb.checkpoint(&a), a_note);
    assert_eq!(sb.tokens(&a), token);
}

#[test]
fn a_missing_key_is_never_replaced_by_a_new_one() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    let key = data.join("signing.key");
    let kept = sb.path("kept.key");
    let size = sb.ledger_size(&data);
    let note = sb.checkpoint(&data);
    std::fs::rename(&key, &kept).expect("move the key away");

    let snap = sb.snapshot("snap", 52, 60);
    for command in [
        args![
            "token", "create", "--init", "--scope", "admin", "--data", &data
        ],
        args!["token", "revoke", "tok_000000000000", "--data", &data],
        args![
            "export",
            "ledger",
            "--data",
            &data,
            "--out",
            sb.path("bundle")
        ],
        args!["import", &snap, "--data", &data],
    ] {
        sb.run(command)
            .code(2)
            .stderr_has(&["signing key", "is missing", "--signing-key FILE"]);
        assert!(
            !key.exists(),
            "a new key was created for a store with entries"
        );
    }
    // Reading needs no key.
    sb.run(args!["ledger", "checkpoint", "--data", &data]).ok();
    sb.run(args!["token", "list", "--data", &data]).ok();
    // Restored, everything works again, and nothing was recorded meanwhile.
    std::fs::rename(&kept, &key).expect("restore the key");
    assert_eq!(sb.ledger_size(&data), size);
    assert_eq!(sb.checkpoint(&data), note);
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    assert_eq!(sb.tokens(&data).len(), 2);
}

#[test]
fn a_new_store_never_reuses_a_key_or_creates_a_store_it_cannot_sign() {
    let sb = Sandbox::new();
    let old = sb.path("old");
    sb.create_token(&old, &["--init", "--scope", "admin"]);
    let old_key = old.join("signing.key");
    let origin = note_parts(&sb.checkpoint(&old)).0;

    // Another store's key for a new store: one key, one ledger.
    let new = sb.path("new");
    sb.run(args![
        "token",
        "create",
        "--init",
        "--scope",
        "admin",
        "--data",
        &new,
        "--signing-key",
        &old_key
    ])
    .code(2)
    .stderr_has(&["signs one ledger only", &origin]);
    assert!(!new.exists(), "no store without a key that can sign it");
    // The key's directory must exist before the store is created.
    sb.run(args![
        "token",
        "create",
        "--init",
        "--scope",
        "admin",
        "--data",
        &new,
        "--signing-key",
        sb.path("nowhere").join("k")
    ])
    .code(2)
    .stderr_has(&["nowhere", "does not exist"]);
    assert!(!new.exists());
    // A key kept outside the data directory is created there, and used.
    std::fs::create_dir(sb.path("keys")).expect("mkdir");
    let outside = sb.path("keys").join("new.key");
    sb.run(args![
        "token",
        "create",
        "--init",
        "--scope",
        "admin",
        "--data",
        &new,
        "--signing-key",
        &outside
    ])
    .ok();
    assert!(outside.is_file());
    assert!(!new.join("signing.key").exists());
    sb.run(args!["ledger", "checkpoint", "--data", &new]).ok();
}

#[test]
fn origins_are_checked_and_come_from_the_environment_or_the_file() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    for origin in ["has space", "a+b", "caf\u{e9}.example", "tab\there"] {
        let run = sb.run_with_env(
            args![
                "token", "create", "--init", "--scope", "admin", "--data", &data
            ],
            &[("SOXCTL_ORIGIN", std::ffi::OsStr::new(origin))],
        );
        run.code(2)
            .stderr_has(&["SOXCTL_ORIGIN", "printable ASCII"]);
        assert!(!data.exists(), "{run:?}");
    }
    let config = sb.path("soxctl.toml");
    std::fs::write(&config, "[ledger]\norigin = \"\"\n").expect("write");
    sb.run(args![
        "--config", &config, "token", "create", "--init", "--scope", "admin", "--data", &data
    ])
    .code(2)
    .stderr_has(&["soxctl.toml", "empty"]);
    assert!(!data.exists());

    // SOXCTL_ORIGIN beats the file.
    std::fs::write(&config, "[ledger]\norigin = \"file.example/soxctl\"\n").expect("write");
    sb.run_with_env(
        args![
            "--config", &config, "token", "create", "--init", "--scope", "admin", "--data", &data
        ],
        &[("SOXCTL_ORIGIN", std::ffi::OsStr::new("env.example/soxctl"))],
    )
    .ok();
    let note = sb.checkpoint(&data);
    assert_eq!(note_parts(&note).0, "env.example/soxctl", "{note}");
    // Later, another origin changes nothing, and says so.
    sb.run(args![
        "--config", &config, "token", "create", "--init", "--scope", "admin", "--data", &data
    ])
    .ok()
    .stderr_has(&["file.example/soxctl", "ignored"]);
    assert_eq!(note_parts(&sb.checkpoint(&data)).0, "env.example/soxctl");
    // A key that already signs one ledger must not sign a second one for the
    // same origin (two logs under one name is equivocation): its witness
    // checkpoint, kept beside it, makes the new store's signing fail.
    let second = sb.path("second");
    sb.run_with_env(
        args![
            "token",
            "create",
            "--init",
            "--scope",
            "admin",
            "--data",
            &second,
            "--signing-key",
            data.join("signing.key")
        ],
        &[("SOXCTL_ORIGIN", std::ffi::OsStr::new("env.example/soxctl"))],
    )
    .code(2)
    .stderr_has(&["refusing to sign"]);
}

#[test]
fn ledger_checkpoint_says_what_is_true() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    tamper(&data, "DELETE FROM checkpoints");
    sb.run(args!["ledger", "checkpoint", "--data", &data])
        .code(2)
        .stderr_has(&[
            "no signed checkpoint yet; the ledger holds 2 entries",
            "soxctl serve",
        ]);
}
