//! The demo's year of dated snapshots read back as a connector would: the
//! last is the present `generate` writes, every one stands on its own
//! (references resolve), and the past differs from the present the way
//! the stories say.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use soxctl_demo::{DemoConfig, HISTORY_MONTHS, generate, generate_history};

type Row = BTreeMap<String, String>;

fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-09-30T18:00:00Z")
        .unwrap()
        .to_utc()
}

fn rows(dir: &Path, file: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(dir.join(file)).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn bytes_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_history_ends_in_the_present_and_repeats_byte_for_byte() {
    let cfg = DemoConfig::new(2026, as_of());
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let present = tempfile::tempdir().unwrap();
    let history = generate_history(&cfg, a.path()).unwrap();
    generate_history(&cfg, b.path()).unwrap();
    let summary = generate(&cfg, present.path()).unwrap();
    assert_eq!(history.summary, summary);
    assert_eq!(history.snapshots.len(), HISTORY_MONTHS as usize + 1);
    let last = history.snapshots.last().unwrap();
    assert_eq!(last.as_of, as_of());
    assert_eq!(
        bytes_of(&last.dir),
        bytes_of(present.path()),
        "the last is the present"
    );
    for s in &history.snapshots {
        let name = s.dir.file_name().unwrap();
        assert_eq!(bytes_of(&s.dir), bytes_of(&b.path().join(name)), "{name:?}");
    }
    let dates: Vec<String> = history
        .snapshots
        .iter()
        .map(|s| s.as_of.to_rfc3339())
        .collect();
    assert_eq!(dates.first().unwrap(), "2025-09-30T18:00:00+00:00");
    assert_eq!(dates[6], "2026-03-31T18:00:00+00:00");
    assert!(history.stories.len() >= 4, "{:?}", history.stories);
}

#[test]
fn every_snapshot_stands_on_its_own_and_the_past_differs() {
    let cfg = DemoConfig::new(2026, as_of());
    let out = tempfile::tempdir().unwrap();
    let history = generate_history(&cfg, out.path()).unwrap();
    let mut people_counts = Vec::new();
    let mut payment_runs = Vec::new();
    for s in &history.snapshots {
        let manifest = std::fs::read_to_string(s.dir.join("manifest.toml")).unwrap();
        let stamp = s.as_of.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        assert!(manifest.contains(&stamp), "{manifest}");
        let people = rows(&s.dir, "people.csv");
        let ids: BTreeSet<&str> = people.iter().map(|p| p["person_id"].as_str()).collect();
        for p in &people {
            let m = &p["manager_id"];
            assert!(
                m.is_empty() || ids.contains(m.as_str()),
                "{stamp}: manager {m}"
            );
            assert!(p["hire_date"].as_str() <= stamp.as_str() || p["status"] == "active");
            if p["status"] != "terminated" {
                assert!(p["termination_date"].is_empty(), "{stamp}: {p:?}");
            }
        }
        let accounts = rows(&s.dir, "accounts.csv");
        let keys: BTreeSet<(&str, &str)> = accounts
            .iter()
            .map(|a| (a["system_id"].as_str(), a["account_id"].as_str()))
            .collect();
        for a in &accounts {
            for col in ["person_id", "owner_id"] {
                let p = &a[col];
                assert!(
                    p.is_empty() || ids.contains(p.as_str()),
                    "{stamp}: {col} {p}"
                );
            }
            assert!(a["last_login"].as_str() <= stamp.as_str(), "{stamp}: {a:?}");
        }
        let entitlements: BTreeSet<(String, String)> = rows(&s.dir, "entitlements.csv")
            .into_iter()
            .map(|e| (e["system_id"].clone(), e["entitlement_id"].clone()))
            .collect();
        let grants = rows(&s.dir, "grants.csv");
        for g in &grants {
            assert!(keys.contains(&(g["system_id"].as_str(), g["account_id"].as_str())));
            assert!(entitlements.contains(&(g["system_id"].clone(), g["entitlement_id"].clone())));
            assert!(g["granted_at"].as_str() <= stamp.as_str(), "{stamp}: {g:?}");
        }
        people_counts.push(people.len());
        payment_runs.push(
            grants
                .iter()
                .filter(|g| g["system_id"] == "erp" && g["entitlement_id"] == "PAYMENT_RUN")
                .count(),
        );
    }
    // Joiners: the company grew over the year.
    assert!(
        people_counts.first() < people_counts.last(),
        "{people_counts:?}"
    );
    // The quarter-end payment run is held at the quarter ends only.
    let quarter_end = payment_runs[6]; // 2026-03-31
    assert!(quarter_end > payment_runs[5], "{payment_runs:?}");
    assert!(quarter_end > payment_runs[7], "{payment_runs:?}");
}
