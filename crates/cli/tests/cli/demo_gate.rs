//! The tour's change gate step (README, step 12) as written: the demo store
//! and its finance-app repository, a `soxctl serve` on them, the pipeline's
//! bound credential, the approver's request token, and the two checks.

use crate::helpers::{Run, Sandbox};
use crate::serve::{Server, free_port};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

/// The README the commands below are copied from.
const README: &str = include_str!("../../../../README.md");

/// `git -C repo ARGS` without the caller's configuration; stdout.
fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is needed by this test (test.sh installs it)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The people (by id) whose work email is among `emails`, from people.csv.
fn people_by_email(snapshot: &Path, emails: &BTreeSet<String>) -> BTreeSet<String> {
    let mut reader = csv::Reader::from_path(snapshot.join("people.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, email) = (col("person_id"), col("email"));
    reader
        .records()
        .map(Result::unwrap)
        .filter(|r| emails.contains(&r[email].to_ascii_lowercase()))
        .map(|r| r[id].to_owned())
        .collect()
}

/// Every address in the commits of `range` (authors and committers, raw
/// and after .mailmap, and `Co-authored-by` trailers), lowercased.
fn emails_in(repo: &Path, range: &str) -> BTreeSet<String> {
    git(
        repo,
        &[
            "log",
            "--format=%aE%n%cE%n%ae%n%ce%n%(trailers:key=Co-authored-by,valueonly)",
            range,
        ],
    )
    .lines()
    .map(|l| {
        let l = l.trim();
        l.rsplit_once('<')
            .map_or(l, |(_, e)| e.trim_end_matches('>'))
            .to_ascii_lowercase()
    })
    .filter(|l| !l.is_empty())
    .collect()
}

#[test]
fn the_tour_takes_the_demo_repository_through_the_change_gate() {
    // The README's step-12 values, so a change of the demo breaks this test.
    for line in [
        "soxctl token create --scope gate --repo github.com/acme-demo/finance-app --env staging",
        "--triggered-by laura.young@example.com",
        "soxctl token create --scope request --person E00025 --data ./soxctl-demo",
        "--deployer dmitri.patel@example.com",
        "--deployer zoe.kumar@example.com",
    ] {
        assert!(README.contains(line), "README step 12 lacks {line:?}");
    }

    let sb = Sandbox::new();
    // 1. The demo store, in ./soxctl-demo of the sandbox (the binary's cwd).
    let demo = sb.run(args!["demo", "--no-serve"]);
    demo.ok().stderr_has(&[
        "demo repository: ./soxctl-demo/finance-app (github.com/acme-demo/finance-app, 7 commits by E00080, E00116, E00160)",
    ]);
    for line in [
        "--triggered-by laura.young@example.com",
        "--person E00025",
        "--deployer dmitri.patel@example.com   # exit 0",
    ] {
        assert!(
            demo.stdout.contains(line),
            "banner lacks {line:?}: {}",
            demo.stdout
        );
    }
    let data = sb.path("soxctl-demo");
    let repo = data.join("finance-app");
    #[cfg(unix)]
    assert_eq!(crate::helpers::mode(&repo), 0o700, "private like the store");
    assert_eq!(
        git(&repo, &["remote", "get-url", "origin"]).trim(),
        "https://github.com/acme-demo/finance-app.git"
    );

    // 9. `soxctl serve --data ./soxctl-demo`.
    let port = free_port();
    let server = Server::start(
        &sb,
        "serve",
        args![
            "serve",
            "--data",
            "./soxctl-demo",
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );
    let url = format!("http://127.0.0.1:{port}");
    let as_ = |token: &str, a: Vec<OsString>| -> Run {
        sb.run_with_env(
            a,
            &[
                ("SOXCTL_TOKEN", OsStr::new(token)),
                ("SOXCTL_SERVER", OsStr::new(&url)),
            ],
        )
    };

    // 12. PIPELINE=$(soxctl token create --scope gate --repo … --env staging --data ./soxctl-demo | tail -n1)
    let pipeline = sb.create_token(
        Path::new("./soxctl-demo"),
        &[
            "--scope",
            "gate",
            "--repo",
            "github.com/acme-demo/finance-app",
            "--env",
            "staging",
        ],
    );
    // SOXCTL_TOKEN=$PIPELINE soxctl gate request --repo ./soxctl-demo/finance-app --commit HEAD
    //   --env staging --triggered-by laura.young@example.com
    let registered = as_(
        &pipeline,
        args![
            "gate",
            "request",
            "--repo",
            "./soxctl-demo/finance-app",
            "--commit",
            "HEAD",
            "--env",
            "staging",
            "--triggered-by",
            "laura.young@example.com"
        ],
    );
    registered.ok().stderr_has(&["awaits approval by E00025"]);
    let change = registered.json();
    assert_eq!(change["requester_id"], "E00080", "{change}");
    assert_eq!(
        change["approvers"],
        serde_json::json!(["E00025"]),
        "{change}"
    );
    assert_eq!(change["policy_rule"], "action \"deploy-other\"", "{change}");
    assert_eq!(
        change["ask"]["action"]["repo"],
        "github.com/acme-demo/finance-app"
    );
    // With no earlier deployment to staging, HEAD (a merge) brings its
    // branch and itself: the people who wrote those commits are the authors.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(change["ask"]["action"]["payload"]["commit"], head.trim());
    let wrote = people_by_email(
        &crate::helpers::present_snapshot(&data),
        &emails_in(&repo, "HEAD^1..HEAD"),
    );
    let author_people: BTreeSet<String> = change["ask"]["action"]["author_people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(author_people, wrote, "{change}");
    assert_eq!(
        author_people,
        BTreeSet::from(["E00080", "E00116", "E00160"].map(String::from))
    );
    assert_eq!(change["ask"]["action"]["commits"], 3, "{change}");
    let request_id = change["request_id"].as_str().unwrap().to_owned();

    // SOXCTL_TOKEN=$(soxctl token create --scope request --person E00025 --data ./soxctl-demo | tail -n1)
    //   soxctl request approve req_…
    let approver = sb.create_token(
        Path::new("./soxctl-demo"),
        &["--scope", "request", "--person", "E00025"],
    );
    as_(&approver, args!["request", "approve", &request_id])
        .ok()
        .stderr_has(&["approved (1 of 1 approvals)"]);

    // SOXCTL_TOKEN=$PIPELINE soxctl gate check --repo ./soxctl-demo/finance-app --commit HEAD
    //   --env staging --deployer …
    let check = |deployer: &str| {
        as_(
            &pipeline,
            args![
                "gate",
                "check",
                "--repo",
                "./soxctl-demo/finance-app",
                "--commit",
                "HEAD",
                "--env",
                "staging",
                "--deployer",
                deployer
            ],
        )
    };
    // An SRE who neither wrote nor approved it: exit 0.
    let allowed = check("dmitri.patel@example.com");
    allowed.ok().stderr_has(&["allowed: approved by E00025"]);
    assert_eq!(allowed.json()["request_id"], request_id.as_str());
    // An author: exit 1.
    check("zoe.kumar@example.com")
        .code(1)
        .stderr_has(&["E00116 (zoe.kumar@example.com) wrote part of this change"]);
    server.stop();
}
