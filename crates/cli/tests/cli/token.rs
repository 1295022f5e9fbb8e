//! `soxctl token create|list|revoke`.

use crate::helpers::{Sandbox, assert_store_created};

/// A listed token's scopes, sorted: a JSON array or a comma-separated string.
fn scopes(token: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = match &token["scopes"] {
        serde_json::Value::String(s) => s.split(',').map(str::to_owned).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("scope").to_owned())
            .collect(),
        other => panic!("scopes is {other}"),
    };
    out.sort();
    out
}

#[test]
fn tokens_are_created_listed_without_secret_and_revoked() {
    let sb = Sandbox::new();
    let data = sb.path("data");

    // A forgotten --data creates no store: only --init does (DESIGN A4),
    // and only for the first admin token.
    sb.run(args![
        "token", "create", "--scope", "admin", "--data", &data
    ])
    .code(2)
    .stderr_has(&["no soxctl store", "--init"]);
    assert!(!data.exists());
    sb.run(args![
        "token", "create", "--init", "--scope", "read", "--data", &data
    ])
    .code(2)
    .stderr_has(&["--scope admin"]);
    assert!(!data.exists());
    let run = sb.run(args![
        "token",
        "create",
        "--init",
        "--scope",
        "admin",
        "--data",
        &data,
        "--description",
        "ci pipeline"
    ]);
    run.ok();
    assert_store_created(&data);
    let secret = run.last_line().to_owned();
    assert!(secret.starts_with("sxt_") && secret.len() > 40, "{run:?}");
    assert_eq!(secret.trim(), secret, "the secret stands alone on its line");
    assert!(run.stdout.ends_with(&format!("{secret}\n")), "{run:?}");
    assert!(
        !run.stderr.contains(&secret),
        "the secret goes to stdout only"
    );

    let tokens = sb.tokens(&data);
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let token = &tokens[0];
    let id = token["token_id"].as_str().expect("token_id").to_owned();
    assert!(id.starts_with("tok_"), "{token}");
    assert!(
        run.stderr.contains(&id),
        "create names the new token's id: {run:?}"
    );
    assert_eq!(token["state"], "active");
    assert_eq!(scopes(token), ["admin"]);
    assert_eq!(token["description"], "ci pipeline");
    assert_eq!(token["revoked_at"], serde_json::Value::Null);
    for format in ["json", "jsonl", "csv", "table"] {
        let listing = sb.run(args!["token", "list", "--data", &data, "--format", format]);
        listing.ok();
        assert!(
            !listing.stdout.contains(&secret),
            "token list never shows the secret ({format})"
        );
        assert!(
            !listing.stdout.contains(&secret["sxt_".len()..]),
            "nor a part of it ({format})"
        );
        assert!(listing.stdout.contains(&id), "{format}: {listing:?}");
    }
    let csv = sb.run(args!["token", "list", "--data", &data, "--format", "csv"]);
    assert!(csv.stdout.starts_with("token_id,state,scopes,"), "{csv:?}");

    let size = sb.ledger_size(&data);
    sb.run(args!["token", "revoke", &id, "--data", &data])
        .ok()
        .stderr_has(&["revoked"]);
    let after = sb.tokens(&data);
    assert_eq!(after[0]["state"], "revoked", "{after:?}");
    assert!(after[0]["revoked_at"].is_string(), "{after:?}");
    assert_eq!(
        sb.ledger_size(&data),
        size + 1,
        "a revocation is a ledger event"
    );
    // Revoking twice changes nothing.
    sb.run(args!["token", "revoke", &id, "--data", &data])
        .ok()
        .stderr_has(&["already revoked"]);
    assert_eq!(sb.ledger_size(&data), size + 1);
    sb.run(args![
        "token",
        "revoke",
        "tok_000000000000",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["no token 'tok_000000000000'"]);
}

#[test]
fn token_create_refuses_bad_requests() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let snap = sb.snapshot("snap", 3, 60);
    sb.import(&snap, &data);
    let size = sb.ledger_size(&data);

    sb.run(args!["token", "create", "--scope", "scim", "--data", &data])
        .code(2)
        .stderr_has(&["--system"]);
    sb.run(args![
        "token", "create", "--scope", "admin", "--person", "E99999", "--data", &data
    ])
    .code(2)
    .stderr_has(&["unknown person 'E99999'"]);
    sb.run(args![
        "token",
        "create",
        "--scope",
        "superuser",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["superuser"]);
    sb.run(args![
        "token",
        "create",
        "--scope",
        "read",
        "--expires",
        "2001-01-01",
        "--data",
        &data
    ])
    .code(2)
    .stderr_has(&["in the past"]);
    sb.run(args!["token", "create", "--data", &data])
        .code(2)
        .stderr_has(&["--scope"]);
    assert_eq!(
        sb.ledger_size(&data),
        size,
        "refused requests record nothing"
    );
    assert!(sb.tokens(&data).is_empty());

    // The same requests done right.
    sb.create_token(&data, &["--scope", "scim", "--system", "okta"]);
    sb.create_token(
        &data,
        &[
            "--scope",
            "read",
            "--scope",
            "gate",
            "--person",
            "E00003",
            "--expires",
            "90d",
        ],
    );
    let tokens = sb.tokens(&data);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let scim = tokens
        .iter()
        .find(|t| scopes(t) == ["scim"])
        .expect("scim token");
    assert_eq!(scim["system_id"], "okta");
    let read = tokens
        .iter()
        .find(|t| t["person_id"] == "E00003")
        .expect("person token");
    assert_eq!(scopes(read), ["gate", "read"]);
    assert!(read["expires_at"].is_string(), "{read}");
    assert_eq!(read["state"], "active");
    assert_eq!(sb.ledger_size(&data), size + 2);
}

/// Requests refused on their arguments alone, each with a word of its error.
fn bad_requests() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        // Not a char boundary before the last byte; overflows of i64 and chrono.
        (vec!["--scope", "read", "--expires", "5é"], "--expires"),
        (vec!["--scope", "read", "--expires", "é"], "--expires"),
        (
            vec!["--scope", "read", "--expires", "99999999999999d"],
            "too far",
        ),
        (
            vec!["--scope", "read", "--expires", "9223372036854775807m"],
            "too far",
        ),
        (
            vec!["--scope", "read", "--expires", "99999999999999999999h"],
            "too far",
        ),
        (vec!["--scope", "read", "--expires=-5d"], "positive"),
        (vec!["--scope", "read", "--expires", "0h"], "positive"),
        (
            vec!["--scope", "read", "--expires", "2001-01-01"],
            "in the past",
        ),
        (vec!["--scope", "superuser"], "superuser"),
        (vec!["--scope", "scim"], "--system"),
        (vec!["--scope", "scim", "--system", "a:b"], "--system"),
        (vec!["--scope", "read", "--person", " E1"], "--person"),
    ]
}

#[test]
fn token_create_checks_every_argument_before_touching_a_store() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let long = "x".repeat(1_001);
    let mut cases = bad_requests();
    cases.push((
        vec!["--scope", "read", "--description", &long],
        "shorten it",
    ));
    // A new store has no people: refused before it is created.
    cases.push((
        vec!["--scope", "read", "--person", "E00001"],
        "unknown person",
    ));
    for (extra, needle) in &cases {
        let mut a = args!["token", "create", "--data", &data];
        a.extend(extra.iter().map(std::ffi::OsString::from));
        let run = sb.run(a);
        run.code(2).stderr_has(&[needle]);
        assert!(run.stdout.is_empty(), "{run:?}");
        assert!(
            !data.exists(),
            "a refused request created the store: {run:?}"
        );
    }

    // On an existing store, nothing is recorded either.
    let snap = sb.snapshot("snap", 5, 60);
    sb.import(&snap, &data);
    let size = sb.ledger_size(&data);
    let checkpoint = sb.checkpoint(&data);
    for (extra, needle) in bad_requests() {
        let mut a = args!["token", "create", "--data", &data];
        a.extend(extra.iter().map(std::ffi::OsString::from));
        sb.run(a).code(2).stderr_has(&[needle]);
    }
    assert_eq!(sb.ledger_size(&data), size);
    assert_eq!(sb.checkpoint(&data), checkpoint);
    assert!(sb.tokens(&data).is_empty());
    // Durations still work, up to the last representable year.
    sb.create_token(&data, &["--scope", "read", "--expires", "2900000d"]);
    sb.create_token(&data, &["--scope", "read", "--expires", "30m"]);
    assert_eq!(sb.tokens(&data).len(), 2);
}
