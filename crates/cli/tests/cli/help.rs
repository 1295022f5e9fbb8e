//! `--help` everywhere, and clap's usage errors exiting 2.

use crate::helpers::Sandbox;

#[test]
fn every_command_documents_its_options() {
    let sb = Sandbox::new();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &[],
            &[
                "serve",
                "demo",
                "import",
                "sync",
                "token",
                "person",
                "export",
                "verify",
                "ledger",
                "backup",
                "restore",
                "--config",
                "--log-format",
            ],
        ),
        (
            &["serve"],
            &[
                "--listen",
                "--data",
                "--database",
                "--signing-key",
                "--metrics-public",
            ],
        ),
        (
            &["demo"],
            &["--data", "--listen", "--people", "--seed", "--no-serve"],
        ),
        (
            &["import"],
            &[
                "SNAPSHOT",
                "--dry-run",
                "--max-removals",
                "--format",
                "--data",
                "--database",
            ],
        ),
        (&["sync"], &["ldap"]),
        (
            &["sync", "ldap"],
            &[
                "--url",
                "--bind-dn",
                "--bind-password-file",
                "SOXCTL_LDAP_PASSWORD",
                "--base",
                "--starttls",
                "--ca-file",
                "--preset",
                "--mapping",
                "--system",
                "--dry-run",
                "--max-removals",
                "--format",
                "--data",
                "--database",
            ],
        ),
        (&["token"], &["create", "list", "revoke"]),
        (
            &["token", "create"],
            &[
                "--scope",
                "--system",
                "--person",
                "--expires",
                "--description",
                "last line",
            ],
        ),
        (&["token", "list"], &["--format", "--data"]),
        (&["token", "revoke"], &["TOKEN_ID", "--data"]),
        (&["person"], &["erase"]),
        (
            &["person", "erase"],
            &["PERSON_ID", "--reason", "--data", "--database", "new key"],
        ),
        (&["export"], &["ledger"]),
        (
            &["export", "ledger"],
            &["--out", "entries.jsonl", "verifier.key"],
        ),
        (
            &["verify"],
            &[
                "BUNDLE",
                "--key",
                "--trusted-checkpoint",
                "--data",
                "--database",
                "--format",
            ],
        ),
        (&["ledger"], &["checkpoint", "proof"]),
        (&["ledger", "checkpoint"], &["--data"]),
        (&["ledger", "proof"], &["inclusion", "consistency"]),
        (
            &["ledger", "proof", "inclusion"],
            &["--seq", "--size", "--format"],
        ),
        (
            &["ledger", "proof", "consistency"],
            &["--from", "--to", "--format"],
        ),
        (&["backup"], &["--out", "--data", "signing key"]),
        (&["restore"], &["BACKUP", "--data", "--signing-key"]),
    ];
    for (path, words) in cases {
        let mut a: Vec<std::ffi::OsString> = path.iter().map(Into::into).collect();
        a.push("--help".into());
        let run = sb.run(a);
        run.ok();
        assert!(run.stdout.contains("Usage: soxctl"), "{run:?}");
        for w in *words {
            assert!(
                run.stdout.contains(w),
                "`soxctl {} --help` does not mention {w:?}:\n{}",
                path.join(" "),
                run.stdout
            );
        }
    }
    let version = sb.run(args!["--version"]);
    version.ok();
    assert!(version.stdout.starts_with("soxctl "), "{version:?}");
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    for a in [
        args![],
        args!["frobnicate"],
        args!["import"],
        args!["verify", "--format", "yaml"],
        args!["ledger", "proof", "inclusion", "--seq", "minus-one"],
        args!["serve", "--listen", "not-an-address"],
        args!["--log-format", "xml", "verify"],
    ] {
        let run = sb.run(a);
        run.code(2);
        assert!(run.stdout.is_empty(), "usage errors go to stderr: {run:?}");
        assert!(!run.stderr.is_empty(), "{run:?}");
    }
    assert!(!sb.path("soxctl-data").exists());
    // A config file that is not valid: an input error naming it.
    let config = sb.path("soxctl.toml");
    std::fs::write(&config, "colour = 'blue'\n").expect("write");
    sb.run(args!["--config", &config, "verify"])
        .code(2)
        .stderr_has(&["soxctl.toml"]);
}

/// An error that quotes what was typed shows it escaped: an escape
/// sequence in an argument does not drive the terminal.
#[test]
fn errors_show_input_escaped() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    sb.run(args![
        "token", "create", "--init", "--data", &data, "--scope", "admin"
    ])
    .ok();
    for (a, shown) in [
        (
            args!["who-has", "--data", &data, "erp:PAY\u{1b}[31mRED"],
            "PAY\\u{1b}[31mRED",
        ),
        (
            args![
                "token", "create", "--data", &data, "--scope", "request", "--person", "E0\u{1}"
            ],
            "E0\\u{1}",
        ),
    ] {
        let run = sb.run(a);
        run.code(2).stderr_has(&[shown]);
        assert!(
            !run.stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            run.stderr
        );
    }
}

/// The benchmarks live in `soxctl-bench`; the product binary starts no
/// database and installs nothing, and says where they went.
#[test]
fn bench_is_not_part_of_soxctl() {
    let sb = Sandbox::new();
    for a in [
        args!["bench"],
        args!["bench", "import", "--scale", "full"],
        args!["bench", "sod", "--help"],
    ] {
        let run = sb.run(a);
        run.code(2)
            .stderr_has(&["benchmarks are not part of soxctl", "-p soxctl-bench"]);
        assert!(run.stdout.is_empty(), "{run:?}");
    }
    let help = sb.run(args!["--help"]);
    assert!(!help.ok().stdout.contains("bench"), "{help:?}");
}

#[test]
fn configuration_file_environment_and_options_layer() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let config = sb.path("soxctl.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\n[ledger]\norigin = \"audit.example.com/soxctl\"\n",
            data.display().to_string()
        ),
    )
    .expect("write config");

    // The file names the store and the origin of a new ledger.
    sb.run(args![
        "--config", &config, "token", "create", "--init", "--scope", "admin"
    ])
    .ok();
    assert!(data.join("soxctl.db").exists());
    let note = sb.checkpoint(&data);
    assert!(note.starts_with("audit.example.com/soxctl\n"), "{note}");
    sb.run(args!["--config", &config, "verify"]).ok();

    // An option beats the file.
    let elsewhere = sb.path("elsewhere");
    sb.run(args!["--config", &config, "verify", "--data", &elsewhere])
        .code(2)
        .stderr_has(&["elsewhere"]);
    // So does a SOXCTL_* variable.
    sb.run_with_env(
        args!["--config", &config, "verify"],
        &[("SOXCTL_DATA", elsewhere.as_os_str())],
    )
    .code(2)
    .stderr_has(&["elsewhere"]);
    // And the variable alone names a store.
    sb.run_with_env(args!["verify"], &[("SOXCTL_DATA", data.as_os_str())])
        .ok();
    // A config file that does not exist is an input error.
    sb.run(args!["--config", sb.path("nope.toml"), "verify"])
        .code(2)
        .stderr_has(&["nope.toml"]);
}

#[test]
fn help_never_shows_the_values_of_secret_variables() {
    let sb = Sandbox::new();
    let url = "postgres://auditor:pw-Xq7%21secret@db.example/soxctl";
    let key = "/run/secrets/key-Zt9-signing.key";
    let env = [
        ("SOXCTL_DATABASE", std::ffi::OsStr::new(url)),
        ("SOXCTL_SIGNING_KEY", std::ffi::OsStr::new(key)),
    ];
    for path in [
        &["serve"][..],
        &["import"],
        &["token", "create"],
        &["token", "list"],
        &["token", "revoke"],
        &["export", "ledger"],
        &["verify"],
        &["ledger", "checkpoint"],
        &["ledger", "proof", "inclusion"],
        &["ledger", "proof", "consistency"],
        &["backup"],
    ] {
        let mut a: Vec<std::ffi::OsString> = path.iter().map(Into::into).collect();
        a.push("--help".into());
        let run = sb.run_with_env(a, &env);
        run.ok();
        for secret in ["pw-Xq7", "auditor", "key-Zt9"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "`soxctl {} --help` shows {secret:?}:\n{}",
                path.join(" "),
                run.stdout
            );
        }
        assert!(
            run.stdout.contains("SOXCTL_DATABASE") && run.stdout.contains("SOXCTL_SIGNING_KEY"),
            "the variables are still named: {}",
            run.stdout
        );
    }
}

#[test]
fn the_command_line_names_the_store_before_the_configuration_file() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    let unreachable = "postgres://nobody@127.0.0.1:9/none";

    // The file names a PostgreSQL store; --data or SOXCTL_DATA beats it.
    let config = sb.path("pg.toml");
    std::fs::write(&config, format!("database = {unreachable:?}\n")).expect("write");
    sb.run(args!["--config", &config, "token", "list", "--data", &data])
        .ok();
    sb.run_with_env(
        args!["--config", &config, "token", "list"],
        &[("SOXCTL_DATA", data.as_os_str())],
    )
    .ok();
    // Its signing key goes with its store, not with the one named instead.
    std::fs::write(
        &config,
        format!(
            "database = {unreachable:?}\nsigning_key = {:?}\n",
            sb.path("pg.key").display().to_string()
        ),
    )
    .expect("write");
    sb.run(args![
        "--config", &config, "token", "create", "--init", "--scope", "admin", "--data", &data
    ])
    .ok();
    assert!(!sb.path("pg.key").exists());

    // The file names an SQLite store; --database beats it (and, as a
    // writing command without a key, is refused before connecting).
    let config = sb.path("sqlite.toml");
    std::fs::write(
        &config,
        format!("data = {:?}\n", data.display().to_string()),
    )
    .expect("write");
    sb.run(args![
        "--config",
        &config,
        "token",
        "revoke",
        "tok_000000000000",
        "--database",
        unreachable
    ])
    .code(2)
    .stderr_has(&["PostgreSQL store needs --signing-key"]);
    // An option beats the other store's variable, both ways.
    sb.run_with_env(
        args![
            "token",
            "revoke",
            "tok_000000000000",
            "--database",
            unreachable
        ],
        &[("SOXCTL_DATA", data.as_os_str())],
    )
    .code(2)
    .stderr_has(&["PostgreSQL store needs --signing-key"]);
    sb.run_with_env(
        args!["token", "list", "--data", &data],
        &[("SOXCTL_DATABASE", std::ffi::OsStr::new(unreachable))],
    )
    .ok();
    // Two stores on the command line, or in the file: a usage error.
    sb.run(args![
        "token",
        "list",
        "--data",
        &data,
        "--database",
        unreachable
    ])
    .code(2)
    .stderr_has(&["two stores"]);
    std::fs::write(
        &config,
        format!(
            "data = {:?}\ndatabase = {unreachable:?}\n",
            data.display().to_string()
        ),
    )
    .expect("write");
    sb.run(args!["--config", &config, "token", "list"])
        .code(2)
        .stderr_has(&["sqlite.toml", "both"]);
}

/// Log lines carry colour only for a person at a terminal: not into a pipe
/// or a file, and not at a terminal when `NO_COLOR` is set. The terminal is
/// a real pseudo-terminal from util-linux's `script`.
#[test]
fn logs_are_coloured_only_at_a_terminal_without_no_color() {
    use std::process::Command;
    let sb = Sandbox::new();
    let snapshot = sb.snapshot("snap", 7, 50);
    let esc = '\u{1b}';
    let logged = |data: &str, pty: bool, no_color: Option<&str>| {
        let mut cmd = if pty {
            let line = format!(
                "'{}' import '{}' --data '{}' >/dev/null",
                crate::helpers::BIN,
                snapshot.display(),
                sb.path(data).display()
            );
            let mut c = Command::new("script");
            c.args(["-qec", &line, "/dev/null"]);
            c
        } else {
            let mut c = Command::new(crate::helpers::BIN);
            c.arg("import")
                .arg(&snapshot)
                .arg("--data")
                .arg(sb.path(data));
            c
        };
        cmd.current_dir(sb.path("")).env("SOXCTL_LOG", "info");
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = cmd.output().expect("run soxctl (script from util-linux)");
        assert!(out.status.success(), "{out:?}");
        // script copies the terminal's output to its stdout.
        let text =
            String::from_utf8_lossy(if pty { &out.stdout } else { &out.stderr }).into_owned();
        assert!(text.contains("INFO"), "no log lines to judge: {text}");
        text
    };
    assert!(
        !logged("piped", false, None).contains(esc),
        "colour into a pipe"
    );
    assert!(
        logged("tty", true, None).contains(esc),
        "no colour at a terminal"
    );
    assert!(
        !logged("no-color", true, Some("1")).contains(esc),
        "colour despite NO_COLOR"
    );
    assert!(
        logged("empty", true, Some("")).contains(esc),
        "an empty NO_COLOR counts as unset"
    );
}
