//! The generated demo organisation imports cleanly, once.

use crate::helpers::*;
use soxctl_demo::{DemoConfig, generate};

on_both_backends!(demo_snapshot_imports_once_and_verifies);

async fn demo_snapshot_imports_once_and_verifies(env: Env) {
    let dir = env.snapshot_dir("demo");
    let config = DemoConfig {
        seed: 42,
        people: 60,
        as_of: ts("2025-06-30T17:00:00Z").as_datetime(),
    };
    let summary = generate(&config, &dir).unwrap();
    let before = env.size().await;

    let first = env.import_ok(&dir).await;
    let facts = summary.people
        + summary.systems
        + summary.entitlements
        + summary.accounts
        + summary.grants
        + summary.roles
        + summary.role_entitlements;
    // Every fact, a baseline per system, and the summary.
    assert_eq!(first.events as usize, facts + summary.systems + 1);
    let findings = first.findings.opened + first.findings.resolved;
    assert!(
        first.findings.opened > 0,
        "the demo plants hygiene problems"
    );
    assert_eq!(env.size().await, before + first.events + findings);
    let inv = env.inventory().await;
    assert_eq!(
        [
            inv.people.len(),
            inv.systems.len(),
            inv.entitlements.len(),
            inv.accounts.len(),
            inv.grants.len()
        ],
        [
            summary.people,
            summary.systems,
            summary.entitlements,
            summary.accounts,
            summary.grants
        ]
    );
    assert_eq!(
        [inv.roles.len(), inv.role_entitlements.len()],
        [summary.roles, summary.role_entitlements]
    );
    env.verify().await;

    let second = env.import_ok(&dir).await;
    assert_eq!(second.events, 0, "{:?}", second.diff.changes.first());
    let findings = first.findings.opened + first.findings.resolved;
    assert!(
        first.findings.opened > 0,
        "the demo plants hygiene problems"
    );
    assert_eq!(env.size().await, before + first.events + findings);
    assert_eq!(env.inventory().await, inv);

    // People's names never reach the ledger in plaintext, nor do their emails
    // through the person events (all of which are sealed).
    let mut reader = csv::Reader::from_path(dir.join("people.csv")).unwrap();
    let people: Vec<(String, String)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[1].to_owned(), r[2].to_owned()))
        .collect();
    assert_eq!(people.len(), summary.people);
    let entries = env.entry_bytes().await;
    let events = env.all_events_since(0).await;
    for (name, email) in &people {
        assert!(
            !name.is_empty()
                && inv
                    .people
                    .values()
                    .any(|p| p.name.as_deref() == Some(name.as_str()))
        );
        for (seq, bytes) in entries.iter().enumerate() {
            assert!(
                !contains(bytes, name),
                "entry {seq} holds the name '{name}' in plaintext"
            );
            if events[seq].0.starts_with("person.") {
                assert!(
                    !contains(bytes, email),
                    "entry {seq} holds the email '{email}' in plaintext"
                );
            }
        }
    }
    env.verify().await;
}
