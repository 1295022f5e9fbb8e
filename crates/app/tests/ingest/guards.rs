//! Imports that must not write: a suspiciously large removal, a dry run.

use crate::helpers::*;
use soxctl_app::ingest::{ImportError, ImportOptions};

on_both_backends!(
    too_many_removals_are_refused,
    dry_run_changes_nothing,
    a_missing_file_is_not_an_empty_one
);

/// erp keeps two of its five grants: 60% removed.
fn truncated_export() -> Vec<(&'static str, String)> {
    edit("grants.csv", |t| {
        t.lines()
            .filter(|l| !l.starts_with("erp,u1001") && !l.starts_with("erp,u1003"))
            .map(|l| format!("{l}\n"))
            .collect()
    })
}

async fn too_many_removals_are_refused(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let size = env.size().await;
    let inv = env.inventory().await;
    let dir = env.write_snapshot("truncated", &truncated_export());

    for options in [
        ImportOptions::default(),
        ImportOptions {
            dry_run: true,
            ..Default::default()
        },
    ] {
        match env.import(&dir, &options).await {
            Err(ImportError::TooManyRemovals {
                system,
                held,
                removed,
                percent,
                limit,
            }) => {
                assert_eq!(
                    (system.as_str(), held, removed, percent, limit),
                    ("erp", 5, 3, 60, 20)
                );
            }
            other => panic!("expected the removal guard, got {other:?}"),
        }
        assert_eq!(env.size().await, size);
        assert_eq!(env.inventory().await, inv);
    }
    let err = env
        .import(&dir, &ImportOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nothing was imported") && err.contains("--max-removals 60"),
        "{err}"
    );

    // Just below the share removed: still refused; at it: accepted.
    let options = |max| ImportOptions {
        max_removals_percent: max,
        ..Default::default()
    };
    assert!(matches!(
        env.import(&dir, &options(59)).await,
        Err(ImportError::TooManyRemovals { .. })
    ));
    let outcome = env.import(&dir, &options(60)).await.unwrap();
    let events = env.events_since(size).await;
    assert_eq!(
        kinds(&events),
        counts(&[("grant.removed", 3), ("import.completed", 1)])
    );
    assert_eq!(outcome.events, 4);
    assert_eq!(env.inventory().await.grants.len(), 5);
    env.verify().await;
}

async fn dry_run_changes_nothing(env: Env) {
    let dry = ImportOptions {
        dry_run: true,
        ..Default::default()
    };
    let size = env.size().await;
    let rows = env.store.all_rows().await.unwrap();

    // On an empty store: the whole snapshot would be added.
    let dir = env.write_snapshot("base", &base());
    let outcome = env.import(&dir, &dry).await.unwrap();
    assert_eq!(outcome.events, 0);
    assert!(outcome.import_id.is_none() && outcome.receipt.is_none());
    assert_eq!(outcome.diff.changes.len(), 29);
    assert_eq!(outcome.diff.new_baselines.len(), 2);
    assert_eq!(env.size().await, size);
    assert_eq!(env.store.all_rows().await.unwrap(), rows);
    assert!(
        env.store.person_keys().await.unwrap().is_empty(),
        "a dry run created person keys"
    );

    // After a real import: the dry run of a change shows it and writes nothing.
    let real = env.import_ok(&dir).await;
    assert_eq!(
        real.diff, outcome.diff,
        "dry run and import disagree on the diff"
    );
    let size = env.size().await;
    let rows = env.store.all_rows().await.unwrap();
    let changed = env.write_snapshot(
        "changed",
        &edit("accounts.csv", |t| t.replace(",false\n", ",true\n")),
    );
    let outcome = env.import(&changed, &dry).await.unwrap();
    assert_eq!(outcome.diff.changes.len(), 1);
    assert_eq!(outcome.events, 0);
    assert_eq!(env.size().await, size);
    assert_eq!(env.store.all_rows().await.unwrap(), rows);
    env.verify().await;
}

/// A snapshot without grants.csv is a truncated export, not "no grants".
async fn a_missing_file_is_not_an_empty_one(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let size = env.size().await;
    let inv = env.inventory().await;
    let without: Vec<(&'static str, String)> = base()
        .into_iter()
        .filter(|(f, _)| *f != "grants.csv")
        .collect();
    let dir = env.write_snapshot("no-grants", &without);
    let err = env
        .import(&dir, &ImportOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("grants.csv") && err.contains("is missing"),
        "{err}"
    );
    assert_eq!(env.size().await, size);
    assert_eq!(env.inventory().await, inv);

    // A header-only file does mean "no grants" (and the removal guard applies).
    let header = base()
        .into_iter()
        .find(|(f, _)| *f == "grants.csv")
        .unwrap()
        .1;
    let header = header.lines().next().unwrap().to_owned() + "\n";
    let mut empty = without.clone();
    empty.push(("grants.csv", header));
    let dir = env.write_snapshot("empty-grants", &empty);
    let options = ImportOptions {
        max_removals_percent: 100,
        ..Default::default()
    };
    let outcome = env.import(&dir, &options).await.unwrap();
    assert!(outcome.events > 0);
    assert!(env.inventory().await.grants.is_empty());
}
