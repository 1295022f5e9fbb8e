//! Several handles on one store (replicas on PostgreSQL, processes on
//! SQLite) writing at once still make one gap-free ledger.

use crate::helpers::*;
use soxctl_store::Store;
use std::collections::BTreeSet;

on_both_backends!(
    concurrent_appends_make_one_ledger,
    replicas_starting_together_initialise_once
);

/// Replicas on PostgreSQL; separate processes sharing the file on SQLite.
fn handles(env: &Env) -> usize {
    match env.backend {
        Backend::Postgres => 3,
        Backend::Sqlite => 2,
    }
}

async fn concurrent_appends_make_one_ledger(env: Env) {
    const PER_TASK: u64 = 25;
    const TASKS_PER_HANDLE: u64 = 2;
    let first = env.store().await;
    let mut stores = vec![first.clone()];
    for _ in 1..handles(&env) {
        stores.push(env.open().await);
    }

    let mut tasks = Vec::new();
    for (h, store) in stores.iter().enumerate() {
        for t in 0..TASKS_PER_HANDLE {
            let store = store.clone();
            let base = (h as u64 * TASKS_PER_HANDLE + t) * 1000;
            tasks.push(tokio::spawn(async move {
                let mut sizes = Vec::new();
                for i in 0..PER_TASK {
                    // Mostly single-event transactions, every fifth a batch of three.
                    let receipt = if i % 5 == 4 {
                        let mut tx = store.begin_write().await.unwrap();
                        for j in 0..3 {
                            tx.append(&actor(), &token(base + 100 + i * 3 + j))
                                .await
                                .unwrap();
                        }
                        tx.commit().await.unwrap()
                    } else {
                        store.append_one(&actor(), &token(base + i)).await.unwrap()
                    };
                    sizes.push((receipt.size, receipt.appended));
                }
                sizes
            }));
        }
    }
    let mut acknowledged = BTreeSet::new();
    let mut total = 0;
    for task in tasks {
        for (size, appended) in task.await.unwrap() {
            // Each commit covers its own, disjoint range of seqs.
            for seq in size - appended..size {
                assert!(acknowledged.insert(seq), "seq {seq} acknowledged twice");
            }
            total += appended;
        }
    }
    let tasks = handles(&env) as u64 * TASKS_PER_HANDLE;
    assert_eq!(total, tasks * (PER_TASK + PER_TASK / 5 * 2));
    assert_eq!(acknowledged, (1..=total).collect::<BTreeSet<u64>>());

    for store in &stores {
        assert_eq!(store.head().await.unwrap().size, total + 1);
    }
    let entries = all_entries(&first).await;
    assert_eq!(entries.len() as u64, total + 1);
    assert!(
        entries
            .iter()
            .enumerate()
            .all(|(i, (seq, _, _))| *seq == i as u64),
        "gap in the ledger"
    );
    assert_eq!(first.tokens().await.unwrap().len() as u64, total);
    let report = assert_verifies(&env, &first).await;
    assert_eq!(report.entries, total + 1);
}

async fn replicas_starting_together_initialise_once(env: Env) {
    // Four processes or replicas starting at once on a store nobody created yet.
    let open = || Store::open(env.options(true));
    let (a, b, c, d) = tokio::join!(open(), open(), open(), open());
    let stores: Vec<Store> = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("concurrent open"))
        .collect();
    let init = |s: &Store| {
        let s = s.clone();
        async move { s.initialise(Some(ORIGIN.into()), false).await }
    };
    let (a, b, c, d) = tokio::join!(
        init(&stores[0]),
        init(&stores[1]),
        init(&stores[2]),
        init(&stores[3])
    );
    let metas: Vec<_> = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("concurrent initialise"))
        .collect();
    assert!(
        metas.windows(2).all(|w| w[0] == w[1]),
        "replicas disagree on the store identity"
    );
    assert_eq!(
        stores[0].head().await.unwrap().size,
        1,
        "store.initialised appended more than once"
    );
    assert_verifies(&env, &stores[0]).await;
}
