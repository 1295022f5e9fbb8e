//! The just-in-time workflow through the command line against a real
//! `soxctl serve`: person-bound tokens ask and approve, the gate reads a
//! real git repository's authors, execution tokens verify offline.

use crate::helpers::Sandbox;
use crate::serve::{Server, free_port};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub(crate) fn write_snapshot(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let files = [
        (
            "people.csv",
            "person_id,name,email,manager_id,department,title,status,hire_date,termination_date
rita,Rita Requester,rita@example.com,olga,Finance,Analyst,active,,
olga,Olga Owner,olga@example.com,,Finance,Controller,active,,
max,Max Manager,max@example.com,olga,Engineering,Engineer,active,,
vera,Vera Vendor,vera@example.com,olga,Engineering,Engineer,active,,
dave,Dave Deployer,dave@example.com,olga,IT,Release engineer,active,,
",
        ),
        (
            "systems.csv",
            "system_id,name,kind,owner_id,sox_in_scope\nerp,ERP,erp,olga,true\n",
        ),
        (
            "entitlements.csv",
            "system_id,entitlement_id,name,privileged,owner_id,description\nerp,GL_POST,Post journals,false,olga,\n",
        ),
        (
            "accounts.csv",
            "system_id,account_id,person_id,kind,status,last_login,mfa\nerp,rita,rita,human,active,,true\n",
        ),
        (
            "grants.csv",
            "system_id,account_id,entitlement_id,granted_at,source\n",
        ),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

fn git(repo: &Path, args: &[&str]) -> String {
    git_as(repo, ("Rita Requester", "rita@example.com"), args)
}

/// `git` with `who` as author and committer.
fn git_as(repo: &Path, who: (&str, &str), args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .output()
        .expect("git is needed by this test (test.sh installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A `soxctl serve` on the store in `data`, and its URL.
pub(crate) fn serve(sb: &Sandbox, data: &Path) -> (Server, String) {
    let port = free_port();
    let server = Server::start(
        sb,
        "serve",
        args![
            "serve",
            "--data",
            data,
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );
    (server, format!("http://127.0.0.1:{port}"))
}

/// `soxctl ARGS` as a client of the server at `url`, with `token`.
pub(crate) fn client(
    sb: &Sandbox,
    url: &str,
    token: &str,
    a: Vec<std::ffi::OsString>,
) -> crate::helpers::Run {
    sb.run_with_env(
        a,
        &[
            ("SOXCTL_TOKEN", OsStr::new(token)),
            ("SOXCTL_SERVER", OsStr::new(url)),
        ],
    )
}

#[test]
fn people_ask_approve_and_pipelines_pass_the_gate_through_the_command_line() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let snapshot = sb.path("snapshot");
    write_snapshot(&snapshot);
    sb.import(&snapshot, &data);
    let rita = sb.create_token(&data, &["--scope", "request", "--person", "rita"]);
    let olga = sb.create_token(&data, &["--scope", "request", "--person", "olga"]);
    let ci = sb.create_token(&data, &["--scope", "gate"]);
    // The pipeline of the repository `app`, for these environments only.
    let pipeline = sb.create_token(
        &data,
        &[
            "--scope", "gate", "--repo", "app", "--env", "prod", "--env", "staging",
        ],
    );
    let (server, url) = serve(&sb, &data);
    let as_ = |token: &str, a: Vec<std::ffi::OsString>| client(&sb, &url, token, a);

    // Access: rita asks, cannot approve her own, olga approves.
    let created = as_(
        &rita,
        args![
            "request",
            "create",
            "--entitlement",
            "erp:GL_POST",
            "--duration",
            "2h",
            "--justification",
            "quarter close",
            "--format",
            "json"
        ],
    );
    created.ok();
    let request: Value = created.json();
    let id = request["request_id"].as_str().unwrap().to_owned();
    assert_eq!(request["approvers"], serde_json::json!(["olga"]));
    as_(&rita, args!["request", "approve", &id])
        .code(1)
        .stderr_has(&["nobody approves their own request"]);
    as_(&olga, args!["request", "approve", &id, "--comment", "ok"]).ok();
    let grants = as_(&rita, args!["grant", "list", "--format", "json"]);
    grants.ok();
    assert_eq!(grants.json().as_array().unwrap().len(), 1);
    as_(&rita, args!["request", "show", "req_nope"]).code(2);
    sb.run_with_env(
        args!["request", "list"],
        &[
            ("SOXCTL_SERVER", OsStr::new(&url)),
            ("SOXCTL_TOKEN", OsStr::new("")),
        ],
    )
    .code(2)
    .stderr_has(&["SOXCTL_TOKEN is not set"]);

    // The gate: a change rita wrote, in a real repository.
    let repo = sb.path("app");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.txt"), "one").unwrap();
    git(&repo, &["add", "."]);
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-m",
            "first\n\nCo-authored-by: Max <max@example.com>",
        ],
    );
    let head = git(&repo, &["rev-parse", "HEAD"]);
    // The pipeline registers the repository's HEAD for deployment to `env`,
    // run by rita.
    let gate_request_with = |token: &str, env: &str| {
        as_(
            token,
            args![
                "gate",
                "request",
                "--repo",
                &repo,
                "--commit",
                "HEAD",
                "--env",
                env,
                "--triggered-by",
                "rita",
                "--format",
                "json"
            ],
        )
    };
    let gate_request = |env: &str| gate_request_with(&pipeline, env);
    // Neither a person nor an unbound gate token registers a change.
    gate_request_with(&rita, "prod")
        .code(1)
        .stderr_has(&["lacks the 'gate' scope"]);
    gate_request_with(&ci, "prod")
        .code(1)
        .stderr_has(&["only a repository's pipeline credential"]);
    gate_request("uat")
        .code(1)
        .stderr_has(&["acts in prod, staging only"]);
    let registered = gate_request("prod");
    registered.ok();
    let change = registered.json();
    assert_eq!(change["requester_id"], "rita");
    assert_eq!(
        change["ask"]["action"]["author_people"],
        serde_json::json!(["max", "rita"]),
        "{}",
        registered.stderr
    );
    let change_id = change["request_id"].as_str().unwrap().to_owned();
    let check = |deployer: &str| {
        as_(
            &pipeline,
            args![
                "gate",
                "check",
                "--commit",
                "HEAD",
                "--repo",
                &repo,
                "--env",
                "prod",
                "--deployer",
                deployer,
                "--format",
                "json"
            ],
        )
    };
    check("dave@example.com").code(1).stderr_has(&["pending"]);
    as_(&olga, args!["request", "approve", &change_id]).ok();
    check("dave@example.com")
        .ok()
        .stderr_has(&["allowed", "evidence"]);
    check("Max <max@example.com>")
        .code(1)
        .stderr_has(&["may not deploy"]);
    check("olga@example.com")
        .code(1)
        .stderr_has(&["approved this change"]);
    check("max+ci@example.com.").code(1);
    check("Michelle Wang")
        .code(2)
        .stderr_has(&["a display name alone names nobody"]);
    check("ci@example.com")
        .code(1)
        .stderr_has(&["no known person"]);
    as_(
        &pipeline,
        args![
            "gate",
            "deployed",
            "--commit",
            &head,
            "--env",
            "prod",
            "--deployer",
            "dave@example.com",
            "--repo",
            &repo
        ],
    )
    .ok();
    check("dave@example.com").code(1);
    // A deployment nobody approved: recorded, finding, exit 1.
    std::fs::write(repo.join("a.txt"), "two").unwrap();
    git(&repo, &["commit", "-q", "-am", "second"]);
    as_(
        &pipeline,
        args![
            "gate",
            "deployed",
            "--commit",
            "HEAD",
            "--repo",
            &repo,
            "--env",
            "prod",
            "--deployer",
            "dave@example.com"
        ],
    )
    .code(1)
    .stderr_has(&["UNAPPROVED"]);

    // A merged branch: the range since the last deployment holds the
    // branch's commits and the merge itself, whose author could have
    // added code inside it (an evil merge): both are authors.
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(repo.join("b.txt"), "vendor fix").unwrap();
    git_as(&repo, ("Vera Vendor", "vera@example.com"), &["add", "."]);
    git_as(
        &repo,
        ("Vera Vendor", "vera@example.com"),
        &["commit", "-q", "-m", "vendor fix"],
    );
    git(&repo, &["checkout", "-q", "main"]);
    git_as(
        &repo,
        ("Dave Deployer", "dave@example.com"),
        &["merge", "-q", "--no-ff", "--no-commit", "feature"],
    );
    std::fs::write(repo.join("evil.txt"), "added inside the merge").unwrap();
    git_as(&repo, ("Dave Deployer", "dave@example.com"), &["add", "."]);
    git_as(
        &repo,
        ("Dave Deployer", "dave@example.com"),
        &["commit", "-q", "-m", "merge feature"],
    );
    let merged = gate_request("prod");
    merged.ok();
    let authors = merged.json()["ask"]["action"]["author_people"].clone();
    assert_eq!(
        authors,
        serde_json::json!(["dave", "vera"]),
        "{}",
        merged.stderr
    );
    let merge_id = merged.json()["request_id"].as_str().unwrap().to_owned();
    as_(&olga, args!["request", "approve", &merge_id]).ok();
    check("dave@example.com")
        .code(1)
        .stderr_has(&["wrote part of this change"]);
    // With no deployment to start from, a merge brings its branch.
    let staging = gate_request("staging");
    staging.ok().stderr_has(&["no earlier deployment"]);
    assert_eq!(staging.json()["ask"]["action"]["author_people"], authors);

    // An action: the execution token is bound, verified offline, used once.
    let payment = as_(
        &rita,
        args![
            "request",
            "create",
            "--action",
            "payment",
            "--env",
            "prod",
            "--payload",
            r#"{"invoice":"991","amount":{"amount":"1250.00","currency":"USD"}}"#,
            "--justification",
            "invoice 991",
            "--format",
            "json"
        ],
    );
    payment.ok();
    let pay_id = payment.json()["request_id"].as_str().unwrap().to_owned();
    as_(&olga, args!["request", "approve", &pay_id]).ok();
    as_(
        &ci,
        args![
            "gate",
            "token",
            "--request",
            &pay_id,
            "--env",
            "prod",
            "--payload",
            r#"{"invoice":"991","amount":{"amount":"9999.00","currency":"USD"}}"#
        ],
    )
    .code(1)
    .stderr_has(&["payload changed"]);
    let issued = as_(
        &ci,
        args![
            "gate",
            "token",
            "--request",
            &pay_id,
            "--env",
            "prod",
            "--payload",
            r#"{"amount":{"currency":"USD","amount":"1250.00"},"invoice":"991"}"#
        ],
    );
    issued.ok();
    let token = issued.last_line().to_owned();
    sb.run(args![
        "export",
        "ledger",
        "--data",
        &data,
        "--out",
        sb.path("bundle")
    ])
    .ok();
    let key = sb.path("bundle").join("verifier.key");
    sb.run(args![
        "gate",
        "verify-token",
        &token,
        "--key",
        &key,
        "--env",
        "prod"
    ])
    .ok()
    .stderr_has(&["valid"]);
    sb.run(args![
        "gate",
        "verify-token",
        &token,
        "--key",
        &key,
        "--env",
        "staging"
    ])
    .code(1);
    // The token need not be an argument (visible in the process list).
    let token_file = sb.path("execution-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    sb.run(args![
        "gate",
        "verify-token",
        format!("@{}", token_file.display()),
        "--key",
        &key,
        "--env",
        "prod"
    ])
    .ok()
    .stderr_has(&["valid"]);
    // Or on stdin.
    sb.run_with_stdin(
        args!["gate", "verify-token", "-", "--key", &key, "--env", "prod"],
        format!("{token}\n").as_bytes(),
    )
    .ok()
    .stderr_has(&["valid"]);
    sb.run_with_stdin(
        args!["gate", "verify-token", "-", "--key", &key, "--env", "prod"],
        b"",
    )
    .code(2);
    // Reported with it from a file too (below, once from the argument is refused as used).
    let token = format!("@{}", token_file.display());
    as_(
        &ci,
        args![
            "gate",
            "executed",
            "--token",
            &token,
            "--outcome",
            "paid: ref 77"
        ],
    )
    .ok();
    as_(
        &ci,
        args!["gate", "executed", "--token", &token, "--outcome", "again"],
    )
    .code(1)
    .stderr_has(&["used"]);
    server.stop();
}

/// A name git keeps with a record separator in it (or a `.mailmap` line
/// that maps to one) must not make `gate request` skip the commit: the
/// commit is read, its identity names nobody, and the change is refused.
#[test]
fn commits_with_control_characters_in_names_are_not_skipped() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let snapshot = sb.path("snapshot");
    write_snapshot(&snapshot);
    sb.import(&snapshot, &data);
    let pipeline = sb.create_token(
        &data,
        &["--scope", "gate", "--repo", "app", "--env", "prod"],
    );
    let (server, url) = serve(&sb, &data);
    let repo = sb.path("app");
    std::fs::create_dir_all(&repo).unwrap();
    let commit = |who: (&str, &str), file: &str| {
        std::fs::write(repo.join(file), file).unwrap();
        git_as(&repo, who, &["add", "."]);
        git_as(&repo, who, &["commit", "-q", "-m", file]);
        git(&repo, &["rev-parse", "HEAD"])
    };
    git(&repo, &["init", "-q", "-b", "main"]);
    let rita = ("Rita Requester", "rita@example.com");
    let root = commit(rita, "a.txt");
    commit(("Ve\u{1e}ra Vendor", "vera@example.com"), "b.txt");
    let third = commit(rita, "c.txt");
    let request = |since: &str| {
        client(
            &sb,
            &url,
            &pipeline,
            args![
                "gate",
                "request",
                "--repo",
                &repo,
                "--commit",
                "HEAD",
                "--env",
                "prod",
                "--since",
                since,
                "--triggered-by",
                "rita"
            ],
        )
    };
    request(&root).code(1).stderr_has(&["matched no person"]);
    std::fs::write(
        repo.join(".mailmap"),
        "Zo\u{1e}K <vera@example.com> <vera@example.com>\n",
    )
    .unwrap();
    commit(("Vera Vendor", "vera@example.com"), "d.txt");
    request(&third).code(1).stderr_has(&["matched no person"]);
    server.stop();
}
