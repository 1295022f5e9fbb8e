//! Reads generated snapshots back with a plain CSV reader and checks them the
//! way a connector or control would: formats, keys, references, findings.

// Clippy only exempts `#[test]` functions themselves; the shared helpers
// below are test code too and should fail loudly.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use soxctl_demo::{DemoConfig, DemoError, DemoSummary, PLANTED_SOD_PAIRS, generate};

type Row = BTreeMap<String, String>;

fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-30T17:00:00Z")
        .unwrap()
        .to_utc()
}

fn cfg(seed: u64, people: usize) -> DemoConfig {
    DemoConfig {
        people,
        ..DemoConfig::new(seed, as_of())
    }
}

fn read(dir: &Path, file: &str, header: &[&str]) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(dir.join(file)).unwrap();
    let found: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(found, header, "{file} header");
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len(), "{file} row width");
            header
                .iter()
                .map(|h| h.to_string())
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn ts(s: &str) -> DateTime<Utc> {
    assert!(s.ends_with('Z'), "timestamp {s:?} must be UTC with Z");
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn boolean(s: &str) -> bool {
    match s {
        "true" => true,
        "false" => false,
        other => panic!("not a boolean: {other:?}"),
    }
}

/// Inserts every key, failing on the first duplicate.
fn unique_keys<'a>(rows: &'a [Row], cols: &[&str], what: &str) -> BTreeSet<Vec<&'a str>> {
    let mut keys = BTreeSet::new();
    for r in rows {
        let key: Vec<&str> = cols.iter().map(|c| r[*c].as_str()).collect();
        assert!(keys.insert(key.clone()), "duplicate {what} key {key:?}");
    }
    keys
}

struct Snapshot {
    people: Vec<Row>,
    systems: Vec<Row>,
    entitlements: Vec<Row>,
    accounts: Vec<Row>,
    grants: Vec<Row>,
    roles: Vec<Row>,
    role_entitlements: Vec<Row>,
    manifest: toml::Table,
}

fn load(dir: &Path) -> Snapshot {
    Snapshot {
        people: read(
            dir,
            "people.csv",
            &[
                "person_id",
                "name",
                "email",
                "manager_id",
                "department",
                "title",
                "status",
                "hire_date",
                "termination_date",
            ],
        ),
        systems: read(
            dir,
            "systems.csv",
            &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
        ),
        entitlements: read(
            dir,
            "entitlements.csv",
            &[
                "system_id",
                "entitlement_id",
                "name",
                "privileged",
                "owner_id",
                "description",
            ],
        ),
        accounts: read(
            dir,
            "accounts.csv",
            &[
                "system_id",
                "account_id",
                "person_id",
                "kind",
                "status",
                "last_login",
                "mfa",
                "owner_id",
                "credential_rotated_at",
            ],
        ),
        grants: read(
            dir,
            "grants.csv",
            &[
                "system_id",
                "account_id",
                "entitlement_id",
                "granted_at",
                "source",
            ],
        ),
        roles: read(dir, "roles.csv", &["role_id", "name", "owner_id"]),
        role_entitlements: read(
            dir,
            "role_entitlements.csv",
            &["role_id", "system_id", "entitlement_id"],
        ),
        manifest: std::fs::read_to_string(dir.join("manifest.toml"))
            .unwrap()
            .parse()
            .unwrap(),
    }
}

fn generated(seed: u64, people: usize) -> (tempfile::TempDir, DemoSummary, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let summary = generate(&cfg(seed, people), &out).unwrap();
    let snap = load(&out);
    (dir, summary, snap)
}

/// Checks every format rule and reference; returns people holding a planted
/// SoD pair through active accounts.
fn check_integrity(s: &Snapshot, summary: &DemoSummary) -> usize {
    let now = as_of();

    // Manifest.
    assert_eq!(s.manifest["source"].as_str(), Some("soxctl-demo"));
    assert_eq!(ts(s.manifest["extracted_at"].as_str().unwrap()), now);
    let manifest_systems: BTreeSet<&str> = s.manifest["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();

    // People.
    let person_ids = unique_keys(&s.people, &["person_id"], "person");
    let people: BTreeMap<&str, &Row> = s
        .people
        .iter()
        .map(|p| (p["person_id"].as_str(), p))
        .collect();
    unique_keys(&s.people, &["email"], "email");
    let mut roots = 0;
    for p in &s.people {
        let email = &p["email"];
        let (local, domain) = email.split_once('@').unwrap();
        assert_eq!(domain, "example.com");
        assert!(
            local.contains('.')
                && local
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
        );
        assert!(!p["name"].is_empty() && !p["department"].is_empty() && !p["title"].is_empty());
        let hire = date(&p["hire_date"]);
        assert!(hire < now.date_naive());
        match p["status"].as_str() {
            "terminated" => {
                let end = date(&p["termination_date"]);
                assert!(end > hire && end < now.date_naive());
            }
            "active" | "leave" => assert!(p["termination_date"].is_empty()),
            other => panic!("bad status {other}"),
        }
        if p["manager_id"].is_empty() {
            roots += 1;
        } else {
            let m = people[p["manager_id"].as_str()];
            assert_ne!(
                m["status"], "terminated",
                "{} reports to a leaver",
                p["person_id"]
            );
        }
    }
    assert_eq!(roots, 1, "exactly one CEO");
    for p in &s.people {
        let mut cur = p;
        for _ in 0..=s.people.len() {
            if cur["manager_id"].is_empty() {
                break;
            }
            cur = people[cur["manager_id"].as_str()];
        }
        assert!(
            cur["manager_id"].is_empty(),
            "management cycle at {}",
            p["person_id"]
        );
    }
    let person_ref = |id: &str, what: &str| {
        assert!(
            person_ids.contains(&vec![id]),
            "{what} references unknown person {id:?}"
        );
    };

    // Systems and entitlements.
    let system_ids = unique_keys(&s.systems, &["system_id"], "system");
    let system_set: BTreeSet<&str> = system_ids.iter().map(|k| k[0]).collect();
    assert_eq!(system_set, manifest_systems);
    for sys in &s.systems {
        person_ref(&sys["owner_id"], "system");
        boolean(&sys["sox_in_scope"]);
    }
    let ent_keys = unique_keys(
        &s.entitlements,
        &["system_id", "entitlement_id"],
        "entitlement",
    );
    let mut privileged = BTreeSet::new();
    for e in &s.entitlements {
        assert!(system_set.contains(e["system_id"].as_str()));
        person_ref(&e["owner_id"], "entitlement");
        if boolean(&e["privileged"]) {
            privileged.insert((e["system_id"].as_str(), e["entitlement_id"].as_str()));
        }
    }

    // Roles.
    let role_ids = unique_keys(&s.roles, &["role_id"], "role");
    for r in &s.roles {
        person_ref(&r["owner_id"], "role");
    }
    unique_keys(
        &s.role_entitlements,
        &["role_id", "system_id", "entitlement_id"],
        "role entitlement",
    );
    let mut role_content: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for re in &s.role_entitlements {
        assert!(role_ids.contains(&vec![re["role_id"].as_str()]));
        assert!(ent_keys.contains(&vec![
            re["system_id"].as_str(),
            re["entitlement_id"].as_str()
        ]));
        role_content.insert((&re["role_id"], &re["system_id"], &re["entitlement_id"]));
    }

    // Accounts.
    let account_keys = unique_keys(&s.accounts, &["system_id", "account_id"], "account");
    let accounts: BTreeMap<(&str, &str), &Row> = s
        .accounts
        .iter()
        .map(|a| ((a["system_id"].as_str(), a["account_id"].as_str()), a))
        .collect();
    let mut person_system = BTreeSet::new();
    for a in &s.accounts {
        assert!(system_set.contains(a["system_id"].as_str()));
        assert!(matches!(a["status"].as_str(), "active" | "disabled"));
        if !a["mfa"].is_empty() {
            boolean(&a["mfa"]);
        }
        if !a["last_login"].is_empty() {
            assert!(ts(&a["last_login"]) < now);
        }
        if !a["credential_rotated_at"].is_empty() {
            assert!(ts(&a["credential_rotated_at"]) < now);
        }
        if !a["owner_id"].is_empty() {
            person_ref(&a["owner_id"], "account owner");
        }
        match a["kind"].as_str() {
            "human" => {
                assert!(a["owner_id"].is_empty());
                if !a["person_id"].is_empty() {
                    person_ref(&a["person_id"], "account");
                    // One account per person per system.
                    assert!(
                        person_system.insert((a["person_id"].as_str(), a["system_id"].as_str()))
                    );
                    let p = people[a["person_id"].as_str()];
                    if !a["last_login"].is_empty() {
                        assert!(ts(&a["last_login"]).date_naive() >= date(&p["hire_date"]));
                    }
                }
            }
            "service" | "shared" => {
                assert!(a["person_id"].is_empty());
                assert!(!a["credential_rotated_at"].is_empty());
            }
            other => panic!("bad account kind {other}"),
        }
    }

    // Grants.
    unique_keys(
        &s.grants,
        &["system_id", "account_id", "entitlement_id"],
        "grant",
    );
    let mut held: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    for g in &s.grants {
        let key = (g["system_id"].as_str(), g["account_id"].as_str());
        assert!(
            account_keys.contains(&vec![key.0, key.1]),
            "grant on unknown account {key:?}"
        );
        assert!(ent_keys.contains(&vec![key.0, g["entitlement_id"].as_str()]));
        let at = ts(&g["granted_at"]);
        assert!(at < now);
        match g["source"].strip_prefix("role:") {
            Some(role) => assert!(
                role_content.contains(&(role, key.0, g["entitlement_id"].as_str())),
                "grant {key:?} {} claims role {role} which lacks it",
                g["entitlement_id"]
            ),
            None => assert_eq!(g["source"], "direct"),
        }
        let acct = accounts[&key];
        if !acct["person_id"].is_empty() {
            let p = people[acct["person_id"].as_str()];
            assert!(
                at.date_naive() >= date(&p["hire_date"]),
                "grant before hire: {key:?}"
            );
            if !p["termination_date"].is_empty() {
                assert!(at.date_naive() <= date(&p["termination_date"]));
            }
            if acct["status"] == "active" {
                held.entry(&acct["person_id"])
                    .or_default()
                    .insert((key.0, g["entitlement_id"].as_str()));
            }
        }
    }

    // Summary agrees with the files.
    assert_eq!(summary.people, s.people.len());
    assert_eq!(summary.systems, s.systems.len());
    assert_eq!(summary.entitlements, s.entitlements.len());
    assert_eq!(summary.accounts, s.accounts.len());
    assert_eq!(summary.grants, s.grants.len());
    assert_eq!(summary.roles, s.roles.len());
    assert_eq!(summary.role_entitlements, s.role_entitlements.len());
    let kind_count = |k: &str| s.accounts.iter().filter(|a| a["kind"] == k).count();
    assert_eq!(summary.service_accounts, kind_count("service"));
    assert_eq!(summary.shared_accounts, kind_count("shared"));
    let orphans = s
        .accounts
        .iter()
        .filter(|a| a["kind"] == "human" && a["person_id"].is_empty())
        .count();
    assert_eq!(summary.orphans, orphans);
    let status_count = |st: &str| s.people.iter().filter(|p| p["status"] == st).count();
    assert_eq!(summary.terminated, status_count("terminated"));
    assert_eq!(summary.on_leave, status_count("leave"));
    let leavers_with_access: BTreeSet<&str> = s
        .accounts
        .iter()
        .filter(|a| a["status"] == "active" && !a["person_id"].is_empty())
        .map(|a| a["person_id"].as_str())
        .filter(|id| people[id]["status"] == "terminated")
        .collect();
    assert_eq!(summary.terminated_with_access, leavers_with_access.len());
    let stale = s
        .accounts
        .iter()
        .filter(|a| a["status"] == "active" && !a["last_login"].is_empty())
        .filter(|a| ts(&a["last_login"]) < now - TimeDelta::days(90))
        .count();
    assert_eq!(summary.stale_accounts, stale);
    let privileged_accounts: BTreeSet<(&str, &str)> = s
        .grants
        .iter()
        .filter(|g| privileged.contains(&(g["system_id"].as_str(), g["entitlement_id"].as_str())))
        .map(|g| (g["system_id"].as_str(), g["account_id"].as_str()))
        .collect();
    let priv_no_mfa = s
        .accounts
        .iter()
        .filter(|a| a["kind"] == "human" && a["status"] == "active" && a["mfa"] == "false")
        .filter(|a| {
            privileged_accounts.contains(&(a["system_id"].as_str(), a["account_id"].as_str()))
        })
        .count();
    assert_eq!(summary.privileged_without_mfa, priv_no_mfa);

    let admin = people[summary.admin_person_id.as_str()];
    assert_eq!(admin["department"], "Security");
    assert_eq!(admin["status"], "active");

    held.values()
        .filter(|ents| {
            PLANTED_SOD_PAIRS
                .iter()
                .any(|p| ents.contains(&p.left) && ents.contains(&p.right))
        })
        .count()
}

#[test]
fn same_seed_gives_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let config = cfg(42, 300);
    let sa = generate(&config, a.path()).unwrap();
    let sb = generate(&config, b.path()).unwrap();
    assert_eq!(sa, sb);
    let files = [
        "manifest.toml",
        "people.csv",
        "systems.csv",
        "entitlements.csv",
        "accounts.csv",
        "grants.csv",
        "roles.csv",
        "role_entitlements.csv",
    ];
    for f in files {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(!x.is_empty(), "{f} is empty");
        assert!(x == y, "{f} differs between runs");
    }
    let c = tempfile::tempdir().unwrap();
    generate(&cfg(43, 300), c.path()).unwrap();
    let other = std::fs::read(c.path().join("people.csv")).unwrap();
    assert_ne!(other, std::fs::read(a.path().join("people.csv")).unwrap());
}

#[test]
fn default_org_is_consistent_and_realistic() {
    let (_dir, summary, snap) = generated(7, 300);
    let sod_people = check_integrity(&snap, &summary);
    assert_eq!(
        sod_people, summary.sod_conflicts_planted,
        "only planted conflicts exist"
    );

    assert_eq!(summary.people, 300);
    assert!((9..=14).contains(&summary.systems));
    assert!(
        (5..=10).contains(&summary.sod_conflicts_planted),
        "{summary:?}"
    );
    assert!((6..=12).contains(&summary.terminated), "{summary:?}");
    assert!((4..=9).contains(&summary.on_leave), "{summary:?}");
    assert!((3..=6).contains(&summary.orphans), "{summary:?}");
    assert!((3..=summary.terminated).contains(&summary.terminated_with_access));
    assert!(
        summary.terminated_with_access < summary.terminated,
        "most leavers are cleaned up"
    );
    assert!(summary.service_accounts >= 5 && summary.shared_accounts >= 1);
    assert!(summary.stale_accounts >= 3);
    assert!(summary.privileged_without_mfa >= 2);
    assert!((800..4000).contains(&summary.accounts), "{summary:?}");
    assert!((1000..6000).contains(&summary.grants), "{summary:?}");

    let departments: BTreeSet<&str> = snap
        .people
        .iter()
        .map(|p| p["department"].as_str())
        .collect();
    for d in [
        "Accounts Payable",
        "Treasury",
        "Payroll",
        "Sales",
        "Engineering",
        "IT Operations",
        "Security",
    ] {
        assert!(departments.contains(d), "missing department {d}");
    }
    assert!(
        snap.people
            .iter()
            .any(|p| p["title"] == "Chief Executive Officer")
    );

    let systems: BTreeSet<&str> = snap
        .systems
        .iter()
        .map(|s| s["system_id"].as_str())
        .collect();
    for s in [
        "erp", "bank", "payroll", "billing", "proddb", "github", "cicd", "aws", "okta",
    ] {
        assert!(systems.contains(s), "missing system {s}");
    }
    assert!(snap.systems.iter().any(|s| s["sox_in_scope"] == "false"));

    // Mostly role-based provisioning, with some direct grants.
    let via_role = snap
        .grants
        .iter()
        .filter(|g| g["source"].starts_with("role:"))
        .count();
    assert!(
        via_role * 10 > snap.grants.len() * 8,
        "{via_role} of {}",
        snap.grants.len()
    );
    assert!(snap.grants.len() - via_role >= 20);

    // Logins are mostly recent and MFA mostly on.
    let human_active: Vec<&Row> = snap
        .accounts
        .iter()
        .filter(|a| a["kind"] == "human" && a["status"] == "active")
        .collect();
    let recent = human_active
        .iter()
        .filter(|a| {
            !a["last_login"].is_empty() && ts(&a["last_login"]) > as_of() - TimeDelta::days(45)
        })
        .count();
    assert!(recent * 10 > human_active.len() * 8);
    let mfa_on = human_active.iter().filter(|a| a["mfa"] == "true").count();
    assert!(mfa_on * 100 > human_active.len() * 97);

    // The service-account findings are each present exactly once.
    let service: Vec<&Row> = snap
        .accounts
        .iter()
        .filter(|a| a["kind"] == "service")
        .collect();
    let stale_keys = service
        .iter()
        .filter(|a| ts(&a["credential_rotated_at"]) < as_of() - TimeDelta::days(90))
        .count();
    assert_eq!(stale_keys, 1);
    assert_eq!(
        service.iter().filter(|a| a["owner_id"].is_empty()).count(),
        1
    );
    let status_of = |id: &str| {
        snap.people
            .iter()
            .find(|p| p["person_id"] == id)
            .map(|p| p["status"].clone())
            .unwrap()
    };
    let orphaned_owner = service
        .iter()
        .filter(|a| !a["owner_id"].is_empty() && status_of(&a["owner_id"]) == "terminated")
        .count();
    assert_eq!(orphaned_owner, 1);
    let shared_privileged = snap.accounts.iter().any(|a| {
        a["kind"] == "shared"
            && a["status"] == "active"
            && snap.grants.iter().any(|g| {
                g["system_id"] == a["system_id"]
                    && g["account_id"] == a["account_id"]
                    && snap.entitlements.iter().any(|e| {
                        e["system_id"] == g["system_id"]
                            && e["entitlement_id"] == g["entitlement_id"]
                            && e["privileged"] == "true"
                    })
            })
    });
    assert!(shared_privileged);

    // Orphan logins match nobody.
    let emails: BTreeSet<&str> = snap.people.iter().map(|p| p["email"].as_str()).collect();
    for a in snap
        .accounts
        .iter()
        .filter(|a| a["kind"] == "human" && a["person_id"].is_empty())
    {
        assert!(!emails.contains(a["account_id"].as_str()));
        let same_login = snap.accounts.iter().any(|b| {
            !b["person_id"].is_empty() && b["account_id"].eq_ignore_ascii_case(&a["account_id"])
        });
        assert!(
            !same_login,
            "orphan {} looks like an employee",
            a["account_id"]
        );
    }
}

#[test]
fn other_seeds_stay_consistent() {
    for seed in [0, 1, u64::MAX] {
        let (_dir, summary, snap) = generated(seed, 120);
        let sod_people = check_integrity(&snap, &summary);
        assert_eq!(sod_people, summary.sod_conflicts_planted);
        assert!(summary.sod_conflicts_planted >= 5);
    }
}

#[test]
fn smallest_org_works() {
    let (_dir, summary, snap) = generated(3, 50);
    let sod_people = check_integrity(&snap, &summary);
    assert_eq!(sod_people, summary.sod_conflicts_planted);
    assert!(summary.terminated >= 1 && summary.orphans >= 3);
}

#[test]
fn scales_to_two_thousand_people() {
    let (_dir, summary, snap) = generated(2024, 2000);
    let sod_people = check_integrity(&snap, &summary);
    assert_eq!(sod_people, summary.sod_conflicts_planted);
    assert_eq!(summary.people, 2000);
    assert!(
        summary.accounts > 6000 && summary.grants > 8000,
        "{summary:?}"
    );
    assert!((40..=80).contains(&summary.terminated));
    assert!(summary.orphans >= 20);
    // Nobody manages an unreasonable number of people directly.
    let mut reports: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &snap.people {
        *reports.entry(p["manager_id"].as_str()).or_default() += 1;
    }
    reports.remove("");
    assert!(
        reports.values().all(|&n| n <= 20),
        "span of control too wide"
    );
}

#[test]
fn rejects_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(&cfg(1, 10), dir.path()).unwrap_err();
    assert!(matches!(err, DemoError::InvalidConfig(_)));
    let mut ancient = cfg(1, 300);
    ancient.as_of = DateTime::from_timestamp(0, 0).unwrap();
    assert!(matches!(
        generate(&ancient, dir.path()),
        Err(DemoError::InvalidConfig(_))
    ));
}

#[test]
fn creates_missing_output_directories() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    generate(&cfg(5, 60), &nested).unwrap();
    assert!(nested.join("manifest.toml").is_file());
}
