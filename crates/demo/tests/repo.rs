//! The demo's finance-app repository: reproducible to the commit id, and
//! the history the tour's change gate step reads (README, step 12).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use soxctl_demo::{DemoConfig, DemoError, DemoRepo, REPO_NAME, REPO_ORIGIN, generate_repo};

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).unwrap().to_utc()
}

fn cfg(seed: u64, people: usize, as_of: &str) -> DemoConfig {
    DemoConfig {
        people,
        ..DemoConfig::new(seed, at(as_of))
    }
}

/// `git -C repo ARGS`, stdout; the caller's configuration is left out.
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

/// Every ref and every object reachable from them, by id: equal listings
/// are equal histories, trees and file contents.
fn fingerprint(repo: &Path) -> String {
    git(repo, &["for-each-ref", "--format=%(objectname) %(refname)"])
        + &git(repo, &["rev-list", "--all", "--objects"])
        + &git(repo, &["remote", "get-url", "origin"])
}

fn generated(seed: u64, people: usize, as_of: &str) -> (tempfile::TempDir, DemoRepo) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = generate_repo(&cfg(seed, people, as_of), &tmp.path().join("finance-app")).unwrap();
    (tmp, repo)
}

#[test]
fn the_same_seed_gives_the_same_commits() {
    let (a_dir, a) = generated(2026, 300, "2026-03-31T17:00:00Z");
    // Another extraction time (`soxctl demo` uses the clock) changes nothing.
    let (b_dir, b) = generated(2026, 300, "2027-01-15T08:00:00Z");
    assert_eq!(a.head, b.head);
    assert_eq!(
        DemoRepo {
            dir: b.dir.clone(),
            ..a.clone()
        },
        b
    );
    let fa = fingerprint(&a.dir);
    assert_eq!(fa, fingerprint(&b.dir));
    assert!(fa.contains(&a.head), "{fa}");
    // Byte for byte: the working trees too.
    for file in [
        ".mailmap",
        "README.md",
        "finance_app/payments.py",
        "tests/test_payments.py",
    ] {
        assert_eq!(
            std::fs::read(a.dir.join(file)).unwrap(),
            std::fs::read(b.dir.join(file)).unwrap(),
            "{file}"
        );
    }
    git(&a.dir, &["diff", "--quiet", "HEAD"]);
    assert_eq!(git(&a.dir, &["status", "--porcelain"]), "");

    // Another seed, other people, other commits.
    let (_c_dir, c) = generated(7, 300, "2026-03-31T17:00:00Z");
    assert_ne!(c.head, a.head);
    drop((a_dir, b_dir));
}

#[test]
fn the_history_the_gate_reads() {
    let (_dir, repo) = generated(2026, 300, "2026-03-31T17:00:00Z");
    let dir = &repo.dir;
    assert_eq!(repo.name, REPO_NAME);
    assert_eq!(
        git(dir, &["remote", "get-url", "origin"]).trim(),
        REPO_ORIGIN
    );
    assert_eq!(git(dir, &["rev-parse", "HEAD"]).trim(), repo.head);
    assert_eq!(
        git(dir, &["symbolic-ref", "--short", "HEAD"]).trim(),
        "main"
    );
    // 7 commits; main is a --no-ff merge of the feature branch.
    assert_eq!(
        git(dir, &["rev-list", "--count", "--all"]).trim(),
        repo.commits.to_string()
    );
    assert_eq!(repo.commits, 7);
    let parents = git(dir, &["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(parents.split_whitespace().count(), 3, "{parents}");
    assert_eq!(
        git(dir, &["rev-list", "--first-parent", "--count", "HEAD"]).trim(),
        "5"
    );

    // The people of seed 2026, 300 people, whom README step 12 names.
    let ids = |people: &[soxctl_demo::RepoPerson]| {
        people
            .iter()
            .map(|p| p.person_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&repo.authors), ["E00080", "E00116", "E00160"]);
    assert_eq!(repo.triggered_by.person_id, "E00080");
    assert_eq!(repo.triggered_by.email, "laura.young@example.com");
    assert_eq!(repo.approver.person_id, "E00025");
    assert_eq!(repo.deployer.person_id, "E00294");
    assert_eq!(repo.deployer.email, "dmitri.patel@example.com");

    // After .mailmap every author and committer of the change main brings
    // (the branch and the merge) is a work address of an author; the raw
    // laptop identity differs, the co-author is a trailer.
    let emails: BTreeSet<String> = git(
        dir,
        &[
            "log",
            "--format=%aE%n%cE%n%(trailers:key=Co-authored-by,valueonly)",
            "HEAD^1..HEAD",
        ],
    )
    .lines()
    .map(|l| {
        let l = l.trim();
        l.rsplit_once('<')
            .map_or(l, |(_, e)| e.trim_end_matches('>'))
            .to_owned()
    })
    .filter(|l| !l.is_empty())
    .collect();
    let author_emails: BTreeSet<String> = repo.authors.iter().map(|p| p.email.clone()).collect();
    assert_eq!(emails, author_emails);
    let raw = git(dir, &["log", "--format=%an <%ae>", "HEAD^1..HEAD"]);
    assert!(raw.contains("zkumar <Zoe.Kumar@example.com>"), "{raw}");
    let mailmap = std::fs::read_to_string(dir.join(".mailmap")).unwrap();
    assert!(
        mailmap.contains("Zoë Kumar <zoe.kumar@example.com> <Zoe.Kumar@example.com>"),
        "{mailmap}"
    );
}

#[test]
fn a_directory_in_use_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let err = generate_repo(&cfg(2026, 300, "2026-03-31T17:00:00Z"), tmp.path()).unwrap_err();
    assert!(matches!(err, DemoError::NotEmpty { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn small_organisations_have_a_repository_too() {
    for seed in [1, 2, 3] {
        let (_dir, repo) = generated(seed, 50, "2026-03-31T17:00:00Z");
        let involved: BTreeSet<&str> = repo.authors.iter().map(|p| p.person_id.as_str()).collect();
        assert!(!involved.is_empty());
        assert!(!involved.contains(repo.approver.person_id.as_str()));
        assert!(!involved.contains(repo.deployer.person_id.as_str()));
        assert_ne!(repo.approver.person_id, repo.deployer.person_id);
        assert!(involved.contains(repo.triggered_by.person_id.as_str()));
    }
}
