//! A PostgreSQL store (`--database URL --signing-key FILE`) on a throw-away
//! cluster; the tests fail, never skip, when PostgreSQL is missing.

use crate::helpers::{Sandbox, mode};

#[test]
fn postgres_store_imports_and_verifies_with_an_external_key() {
    let url = soxctl_testkit::postgres()
        .expect("throw-away PostgreSQL")
        .fresh_database()
        .expect("fresh database");
    let sb = Sandbox::new();
    let snap = sb.snapshot("snap", 41, 60);
    let key = sb.path("keys").join("signing.key");
    std::fs::create_dir_all(sb.path("keys")).expect("mkdir");

    // No key: refused before anything is written.
    sb.run(args!["import", &snap, "--database", &url])
        .code(2)
        .stderr_has(&["--signing-key"]);
    assert!(!key.exists());
    // --data and --database name two stores: a usage error.
    sb.run(args![
        "import",
        &snap,
        "--database",
        &url,
        "--data",
        sb.path("data"),
        "--signing-key",
        &key
    ])
    .code(2);
    assert!(!sb.path("data").exists());

    let summary = sb
        .run(args![
            "import",
            &snap,
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    let events = summary["events"].as_u64().expect("events");
    assert!(events > 800, "{summary}");
    assert!(key.is_file(), "the key is created outside the database");
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    let report = sb
        .run(args![
            "verify",
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["entries"],
        events + 1 + summary["findings_opened"].as_u64().unwrap()
    );
    // The URL can come from the environment too (SOXCTL_DATABASE), like the key.
    sb.run_with_env(
        args!["verify", "--format", "json"],
        &[
            ("SOXCTL_DATABASE", std::ffi::OsStr::new(&url)),
            ("SOXCTL_SIGNING_KEY", key.as_os_str()),
        ],
    )
    .ok();

    // Idempotent here too.
    let again = sb
        .run(args![
            "import",
            &snap,
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(again["events"], 0);
    // Reading commands need no private key (DESIGN A2): verify takes the
    // public verifier key from outside, the others none at all.
    let bundle = sb.path("bundle");
    sb.run(args![
        "export",
        "ledger",
        "--database",
        &url,
        "--signing-key",
        &key,
        "--out",
        &bundle
    ])
    .ok();
    let verifier = bundle.join("verifier.key");
    let report = sb
        .run(args![
            "verify",
            "--database",
            &url,
            "--key",
            &verifier,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(
        report["entries"],
        events + 1 + summary["findings_opened"].as_u64().unwrap()
    );
    let note = sb
        .run(args!["ledger", "checkpoint", "--database", &url])
        .ok()
        .stdout
        .clone();
    assert_eq!(
        crate::helpers::note_parts(&note).1,
        events + 1 + summary["findings_opened"].as_u64().unwrap()
    );
    sb.run(args![
        "ledger",
        "proof",
        "inclusion",
        "--seq",
        "1",
        "--database",
        &url,
        "--format",
        "json"
    ])
    .ok();
    sb.run(args![
        "ledger",
        "proof",
        "consistency",
        "--from",
        "1",
        "--database",
        &url,
        "--format",
        "json"
    ])
    .ok();
    sb.run(args![
        "token",
        "list",
        "--database",
        &url,
        "--format",
        "json"
    ])
    .ok();
    // verify without any key says which to pass.
    sb.run(args!["verify", "--database", &url])
        .code(2)
        .stderr_has(&["--key FILE", "--signing-key FILE"]);
    // Commands that write or sign still need the private key, and say so
    // before connecting.
    for command in [
        args![
            "token",
            "create",
            "--init",
            "--scope",
            "admin",
            "--database",
            &url
        ],
        args!["token", "revoke", "tok_000000000000", "--database", &url],
        args![
            "export",
            "ledger",
            "--database",
            &url,
            "--out",
            sb.path("b2")
        ],
        args!["serve", "--database", &url, "--listen", "127.0.0.1:0"],
    ] {
        sb.run(command)
            .code(2)
            .stderr_has(&["PostgreSQL store needs --signing-key FILE"]);
    }
    assert!(!sb.path("b2").exists());
    // The key of another store is refused before anything is written.
    let other = sb.path("other");
    sb.create_token(&other, &["--init", "--scope", "admin"]);
    sb.run(args![
        "token",
        "create",
        "--scope",
        "read",
        "--database",
        &url,
        "--signing-key",
        other.join("signing.key")
    ])
    .code(2)
    .stderr_has(&["origin", "--signing-key"]);
    let tokens = sb
        .run(args![
            "token",
            "list",
            "--database",
            &url,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(tokens.as_array().map(Vec::len), Some(0), "{tokens}");
    // Backups of PostgreSQL stores are PostgreSQL's business.
    sb.run(args![
        "backup",
        "--database",
        &url,
        "--signing-key",
        &key,
        "--out",
        sb.path("pg.db")
    ])
    .code(2)
    .stderr_has(&["pg_dump"]);
    // Checkpoint and tokens work the same.
    let note = sb
        .run(args![
            "ledger",
            "checkpoint",
            "--database",
            &url,
            "--signing-key",
            &key
        ])
        .ok()
        .stdout
        .clone();
    assert_eq!(
        crate::helpers::note_parts(&note).1,
        events + 1 + summary["findings_opened"].as_u64().unwrap()
    );
    let secret = sb
        .run(args![
            "token",
            "create",
            "--scope",
            "read",
            "--database",
            &url,
            "--signing-key",
            &key
        ])
        .ok()
        .last_line()
        .to_owned();
    assert!(secret.starts_with("sxt_"));
}

/// A database nobody listens for: refused at once with the reason, not
/// after the pool's 30 s with "pool timed out".
#[test]
fn an_unreachable_database_fails_fast_with_the_reason() {
    let sb = Sandbox::new();
    let port = crate::serve::free_port();
    let url = format!("postgres://soxctl@127.0.0.1:{port}/nothing");
    let started = std::time::Instant::now();
    let run = sb.run(args!["verify", "--database", &url]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.stderr_has(&["refused"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
