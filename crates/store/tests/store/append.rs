//! Appends: sequence, chain, head; and that a write which does not commit,
//! for whatever reason, leaves nothing behind.

use crate::helpers::*;
use soxctl_ledger::entry::ZERO_HASH;
use soxctl_ledger::tree::{Frontier, leaf_hash};
use soxctl_store::failpoint::{
    APPEND_BEFORE_ENTRY, APPEND_BEFORE_PROJECTION, COMMIT_AFTER_COMMIT, COMMIT_BEFORE_COMMIT,
    COMMIT_BEFORE_HEAD,
};
use soxctl_store::{Store, StoreError};

on_both_backends!(
    appends_are_sequential_and_chained,
    dropped_transaction_leaves_nothing,
    failpoints_before_commit_apply_nothing,
    failure_after_commit_is_durable,
    failed_append_poisons_the_transaction,
    failed_projection_poisons_the_transaction,
);

/// Everything observable about a store, to compare before and after.
#[derive(Debug, PartialEq)]
struct Observed {
    size: u64,
    root: soxctl_ledger::tree::Hash,
    entries: usize,
    rows:
        std::collections::BTreeMap<soxctl_model::projection::RowKey, soxctl_model::projection::Row>,
    keys: usize,
    checkpoints: usize,
}

async fn observe(store: &Store) -> Observed {
    let head = store.head().await.unwrap();
    Observed {
        size: head.size,
        root: head.frontier.root(),
        entries: all_entries(store).await.len(),
        rows: store.all_rows().await.unwrap(),
        keys: store.person_keys().await.unwrap().len(),
        checkpoints: store.checkpoints().await.unwrap().len(),
    }
}

/// Checks seq = position, prev = previous leaf, leaf = hash(bytes), and the
/// head against the entries.
async fn assert_chain(store: &Store) {
    let entries = all_entries(store).await;
    let mut frontier = Frontier::new();
    let mut prev = ZERO_HASH;
    for (i, (seq, leaf, bytes)) in entries.iter().enumerate() {
        assert_eq!(*seq, i as u64, "gap in the ledger");
        assert_eq!(*leaf, leaf_hash(bytes), "entry {seq}: stored leaf hash");
        let entry = json(bytes);
        assert_eq!(entry["seq"], *seq, "entry {seq}: seq field");
        assert_eq!(entry["prev"], hex::encode(prev), "entry {seq}: prev");
        prev = *leaf;
        frontier.push(*leaf);
    }
    let head = store.head().await.unwrap();
    assert_eq!(head.size, entries.len() as u64);
    assert_eq!(head.frontier.root(), frontier.root());
}

async fn appends_are_sequential_and_chained(env: Env) {
    let store = env.store().await;
    assert_eq!(store.appended_here(), 1);
    for i in 0..10 {
        let receipt = store.append_one(&actor(), &token(i)).await.unwrap();
        assert_eq!(receipt.size, i + 2);
        assert_eq!(receipt.appended, 1);
        assert_eq!(receipt.root, store.head().await.unwrap().frontier.root());
    }
    let mut tx = store.begin_write().await.unwrap();
    assert_eq!(tx.size(), 11);
    for i in 10..25 {
        let seq = tx.append(&actor(), &token(i)).await.unwrap();
        assert_eq!(seq, i + 1);
        assert_eq!(tx.size(), i + 2);
    }
    let receipt = tx.commit().await.unwrap();
    assert_eq!((receipt.size, receipt.appended), (26, 15));
    assert_eq!(store.appended_here(), 26);
    // An empty transaction commits nothing.
    let receipt = store.begin_write().await.unwrap().commit().await.unwrap();
    assert_eq!((receipt.size, receipt.appended), (26, 0));

    assert_chain(&store).await;
    let entries = all_entries(&store).await;
    assert_eq!(json(&entries[5].2)["type"], "token.created");
    assert_eq!(json(&entries[5].2)["payload"]["token_id"], "tok00004");
    assert_eq!(store.tokens().await.unwrap().len(), 25);
    let report = assert_verifies(&env, &store).await;
    assert_eq!(report.entries, 26);
    assert_eq!(report.state_rows, 26);
}

async fn dropped_transaction_leaves_nothing(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let before = observe(&store).await;

    let mut tx = store.begin_write().await.unwrap();
    let sealed = tx
        .seal_person(&person("p9", "Grace Hopper", "grace@example.com"))
        .await
        .unwrap();
    let added = soxctl_model::event::Event::PersonAdded(soxctl_model::event::PersonFact {
        origin: Default::default(),
        changed: None,
        person: sealed,
    });
    tx.append(&actor(), &added).await.unwrap();
    for i in 100..110 {
        tx.append(&actor(), &token(i)).await.unwrap();
    }
    // The transaction sees its own writes…
    assert_eq!(tx.inventory().await.unwrap().people.len(), 2);
    drop(tx);
    // …and nobody sees anything of them once it is dropped.
    assert_eq!(observe(&store).await, before);
    let receipt = store.append_one(&actor(), &token(200)).await.unwrap();
    assert_eq!(receipt.size, before.size + 1);
    assert_chain(&store).await;
    assert_verifies(&env, &store).await;
}

async fn failpoints_before_commit_apply_nothing(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let mut n = 1000;
    for point in [
        APPEND_BEFORE_ENTRY,
        APPEND_BEFORE_PROJECTION,
        COMMIT_BEFORE_HEAD,
        COMMIT_BEFORE_COMMIT,
    ] {
        for batch in [1, 5] {
            let before = observe(&store).await;
            env.failpoints.arm(point);
            let result = async {
                let mut tx = store.begin_write().await?;
                let sealed = tx
                    .seal_person(&person(&format!("q{n}"), "Alan Turing", "alan@example.com"))
                    .await?;
                let added =
                    soxctl_model::event::Event::PersonAdded(soxctl_model::event::PersonFact {
                        origin: Default::default(),
                        changed: None,
                        person: sealed,
                    });
                tx.append(&actor(), &added).await?;
                for i in 1..batch {
                    tx.append(&actor(), &token(n + i)).await?;
                }
                tx.commit().await
            }
            .await;
            n += 100;
            match result {
                Err(StoreError::Injected(at)) => assert_eq!(at, point),
                other => panic!("{point}: expected the injected failure, got {other:?}"),
            }
            assert_eq!(
                observe(&store).await,
                before,
                "{point} (batch {batch}) left something behind"
            );
            assert_verifies(&env, &store).await;
        }
    }
    // The store is not wedged: the next write lands at the next seq.
    let size = store.head().await.unwrap().size;
    assert_eq!(
        store.append_one(&actor(), &token(1)).await.unwrap().size,
        size + 1
    );
    assert_chain(&store).await;
    assert_verifies(&env, &store).await;
}

async fn failure_after_commit_is_durable(env: Env) {
    let store = env.store().await;
    let size = store.head().await.unwrap().size;
    env.failpoints.arm(COMMIT_AFTER_COMMIT);
    // Not acknowledged…
    match store.append_one(&actor(), &token(7)).await {
        Err(StoreError::Injected(at)) => assert_eq!(at, COMMIT_AFTER_COMMIT),
        other => panic!("expected the injected failure, got {other:?}"),
    }
    // …but durable, as seen from this handle and from a fresh one.
    store.close().await;
    let store = env.open().await;
    assert_eq!(store.head().await.unwrap().size, size + 1);
    assert_eq!(store.tokens().await.unwrap().len(), 1);
    assert_eq!(
        json(&all_entries(&store).await[size as usize].2)["payload"]["token_id"],
        "tok00007"
    );
    assert_chain(&store).await;
    assert_verifies(&env, &store).await;
}

/// A caller that ignores a failed `append` and commits anyway must not get a
/// half-applied entry into the ledger.
async fn failed_append_poisons_the_transaction(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let before = observe(&store).await;
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(10)).await.unwrap();
    env.failpoints.arm(APPEND_BEFORE_PROJECTION);
    assert!(tx.append(&actor(), &token(11)).await.is_err());
    let _ = tx.append(&actor(), &token(12)).await;
    let committed = tx.commit().await;
    assert!(
        committed.is_err(),
        "committed a transaction after one of its appends failed: {committed:?}"
    );
    assert_eq!(observe(&store).await, before);
    assert_verifies(&env, &store).await;
}

/// Same with a real projection failure: a token whose secret hash is taken
/// violates the tokens table's unique constraint.
async fn failed_projection_poisons_the_transaction(env: Env) {
    let store = env.store().await;
    seed_inventory(&store).await;
    let before = observe(&store).await;
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(10)).await.unwrap();
    let mut clash = token(11);
    if let soxctl_model::event::Event::TokenCreated(t) = &mut clash {
        t.secret_sha256 = format!("{:064x}", 1); // token 1's, from seed_inventory
    }
    assert!(
        tx.append(&actor(), &clash).await.is_err(),
        "duplicate secret hash accepted"
    );
    let _ = tx.append(&actor(), &token(12)).await;
    let committed = tx.commit().await;
    assert!(
        committed.is_err(),
        "committed a transaction after one of its appends failed: {committed:?}"
    );
    assert_eq!(observe(&store).await, before);
    assert_verifies(&env, &store).await;
}
