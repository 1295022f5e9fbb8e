//! An attacker with write access to the database but not to the signing key
//! (`execute_unchecked`): every change must be caught by `verify`, with the
//! failure that locates it.

use crate::helpers::*;
use soxctl_ledger::tree::{Frontier, Hash, leaf_hash};
use soxctl_store::Store;
use soxctl_store::verify::Failure;

on_both_backends!(
    untampered_store_verifies,
    changed_payload_byte,
    changed_payload_with_recomputed_leaf_hash,
    deleted_entry,
    swapped_entries,
    altered_stored_node,
    replaced_head,
    replaced_last_leaf,
    deleted_checkpoints,
    malformed_row,
    witness_file_outlives_the_database,
);

/// Size of the ledger [`ledger`] builds: seed inventory, then tokens 100..130.
pub const SIZE: u64 = 40;

pub async fn ledger(env: &Env) -> Store {
    let store = env.store().await;
    seed_inventory(&store).await;
    append_tokens(&store, 100..100 + SIZE - 10, 50).await;
    assert_eq!(store.head().await.unwrap().size, SIZE);
    store
}

pub async fn entry_bytes(store: &Store, seq: u64) -> Vec<u8> {
    store.entries(seq, 1).await.unwrap().pop().expect("entry").2
}

pub fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

/// Writes a head that matches `leaves`, as a careful attacker would.
pub async fn rewrite_head(env: &Env, store: &Store, leaves: &[Hash]) {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier.push(*leaf);
    }
    let sql = format!(
        "UPDATE ledger_head SET size = {}, last_leaf = {}, frontier = {} WHERE id = 1",
        leaves.len(),
        env.blob(leaves.last().expect("leaves")),
        env.blob(&frontier.to_bytes())
    );
    store.execute_unchecked(&sql).await.unwrap();
}

pub async fn leaves(store: &Store) -> Vec<Hash> {
    all_entries(store)
        .await
        .into_iter()
        .map(|(_, leaf, _)| leaf)
        .collect()
}

async fn untampered_store_verifies(env: Env) {
    let store = ledger(&env).await;
    let key = env.key();
    let early = store.sign_checkpoint(&key).await.unwrap().unwrap().note;
    grow_to(&store, 300).await;
    let late = store.sign_checkpoint(&key).await.unwrap().unwrap().note;

    let mut progress = Vec::new();
    let verifier = key.verifier();
    let options = soxctl_store::verify::Options {
        key: &verifier,
        trusted_checkpoint: None,
    };
    let report =
        soxctl_store::verify::verify(&store, options, |done, total| progress.push((done, total)))
            .await
            .unwrap();
    assert_eq!(
        (report.entries, report.checkpoints, report.trusted_size),
        (300, 2, None)
    );
    assert_eq!(report.root, store.head().await.unwrap().frontier.root());
    assert_eq!(
        report.state_rows,
        store.all_rows().await.unwrap().len() as u64
    );
    assert_eq!(progress.last(), Some(&(300, 300)));
    for (note, size) in [(&early, SIZE), (&late, 300)] {
        assert_eq!(
            run_verify(&env, &store, Some(note))
                .await
                .unwrap()
                .trusted_size,
            Some(size)
        );
    }
}

async fn changed_payload_byte(env: Env) {
    let store = ledger(&env).await;
    // One byte: "token 00110" becomes "token 00111".
    let bytes = replace(&entry_bytes(&store, 20).await, "token 00110", "token 00111");
    store
        .execute_unchecked(&format!(
            "UPDATE ledger_entries SET bytes = {} WHERE seq = 20",
            env.blob(&bytes)
        ))
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::LeafHash { seq, expected, .. } => {
            assert_eq!(seq, 20);
            assert_eq!(expected, hex::encode(leaf_hash(&bytes)));
        }
        other => panic!("expected a leaf hash failure at 20, got {other}"),
    }

    // A byte that breaks the encoding: the entry no longer parses.
    let env = Env::new(env.backend).await;
    let store = ledger(&env).await;
    let bytes = replace(
        &entry_bytes(&store, 20).await,
        "\"token 00110\"",
        "\"token 00110 ",
    );
    store
        .execute_unchecked(&format!(
            "UPDATE ledger_entries SET bytes = {} WHERE seq = 20",
            env.blob(&bytes)
        ))
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Entry { seq, reason } => assert_eq!(seq, 20, "{reason}"),
        other => panic!("expected entry 20 to be unreadable, got {other}"),
    }
}

async fn changed_payload_with_recomputed_leaf_hash(env: Env) {
    let store = ledger(&env).await;
    // In the middle: the next entry's prev no longer matches.
    let bytes = replace(&entry_bytes(&store, 20).await, "token 00110", "token 00666");
    let sql = format!(
        "UPDATE ledger_entries SET bytes = {}, leaf_hash = {} WHERE seq = 20",
        env.blob(&bytes),
        env.blob(&leaf_hash(&bytes))
    );
    store.execute_unchecked(&sql).await.unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Entry { seq, reason } => {
            assert_eq!(seq, 21);
            assert!(reason.contains("prev"), "{reason}");
        }
        other => panic!("expected a chain failure at 21, got {other}"),
    }

    // At the tail there is no next entry, but the head's root no longer matches.
    let env = Env::new(env.backend).await;
    let store = ledger(&env).await;
    let last = SIZE - 1;
    let bytes = replace(
        &entry_bytes(&store, last).await,
        "token 00129",
        "token 00666",
    );
    let sql = format!(
        "UPDATE ledger_entries SET bytes = {}, leaf_hash = {} WHERE seq = {last}",
        env.blob(&bytes),
        env.blob(&leaf_hash(&bytes))
    );
    store.execute_unchecked(&sql).await.unwrap();
    assert!(matches!(
        verify_failure(&env, &store, None).await,
        Failure::HeadRoot { .. }
    ));
}

async fn deleted_entry(env: Env) {
    let store = ledger(&env).await;
    store
        .execute_unchecked("DELETE FROM ledger_entries WHERE seq = 20")
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Entry { seq, reason } => {
            assert_eq!(seq, 20);
            assert!(reason.contains("missing"), "{reason}");
        }
        other => panic!("expected entry 20 missing, got {other}"),
    }
}

async fn swapped_entries(env: Env) {
    let store = ledger(&env).await;
    store
        .execute_unchecked(
            "UPDATE ledger_entries SET seq = -1 WHERE seq = 20;
             UPDATE ledger_entries SET seq = 20 WHERE seq = 21;
             UPDATE ledger_entries SET seq = 21 WHERE seq = -1;",
        )
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Entry { seq, reason } => {
            assert_eq!(seq, 20);
            assert!(reason.contains("seq"), "{reason}");
        }
        other => panic!("expected entry 20 out of place, got {other}"),
    }
}

async fn altered_stored_node(env: Env) {
    let store = ledger(&env).await;
    grow_to(&store, 300).await;
    store
        .execute_unchecked(&format!(
            "UPDATE ledger_nodes SET hash = {} WHERE level = 8 AND idx = 0",
            env.blob(&[0; 32])
        ))
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Node {
            level,
            index,
            found,
            ..
        } => {
            assert_eq!((level, index), (8, 0));
            assert_eq!(found, hex::encode([0u8; 32]));
        }
        other => panic!("expected a node failure, got {other}"),
    }

    // A node for a subtree that is not complete yet.
    let env = Env::new(env.backend).await;
    let store = ledger(&env).await;
    grow_to(&store, 300).await;
    store
        .execute_unchecked(&format!(
            "INSERT INTO ledger_nodes (level, idx, hash) VALUES (8, 1, {})",
            env.blob(&[0; 32])
        ))
        .await
        .unwrap();
    assert!(matches!(
        verify_failure(&env, &store, None).await,
        Failure::Node {
            level: 8,
            index: 1,
            ..
        }
    ));

    // A node that went missing: proofs can no longer be served from it.
    let env = Env::new(env.backend).await;
    let store = ledger(&env).await;
    grow_to(&store, 300).await;
    store
        .execute_unchecked("DELETE FROM ledger_nodes WHERE level = 8 AND idx = 0")
        .await
        .unwrap();
    assert!(store.root_at(300).await.is_err());
    assert!(store.inclusion_proof(299, 300).await.is_err());
    match verify_failure(&env, &store, None).await {
        Failure::Node {
            level: 8,
            index: 0,
            found,
            ..
        } => assert_eq!(found, "missing"),
        other => panic!("expected a missing node failure, got {other}"),
    }
}

async fn replaced_head(env: Env) {
    let store = ledger(&env).await;
    // Same size, other leaves: the compact range no longer matches the entries.
    let mut other = leaves(&store).await;
    other[3] = [0; 32];
    rewrite_head(&env, &store, &other).await;
    assert!(matches!(
        verify_failure(&env, &store, None).await,
        Failure::HeadRoot { .. }
    ));
}

async fn replaced_last_leaf(env: Env) {
    let store = ledger(&env).await;
    // The compact range is intact but the next entry would chain to a forged leaf.
    store
        .execute_unchecked(&format!(
            "UPDATE ledger_head SET last_leaf = {} WHERE id = 1",
            env.blob(&[7u8; 32])
        ))
        .await
        .unwrap();
    assert!(matches!(
        verify_failure(&env, &store, None).await,
        Failure::HeadLastLeaf { .. }
    ));
}

async fn deleted_checkpoints(env: Env) {
    let store = ledger(&env).await;
    store.sign_checkpoint(&env.key()).await.unwrap();
    store
        .execute_unchecked("DELETE FROM checkpoints")
        .await
        .unwrap();
    assert_eq!(
        verify_failure(&env, &store, None).await,
        Failure::Unsigned { entries: SIZE }
    );
}

async fn malformed_row(env: Env) {
    let store = ledger(&env).await;
    store.sign_checkpoint(&env.key()).await.unwrap();
    store
        .execute_unchecked("UPDATE accounts SET status = 'superuser'")
        .await
        .unwrap();
    match verify_failure(&env, &store, None).await {
        Failure::Malformed(reason) => assert!(reason.contains("accounts"), "{reason}"),
        other => panic!("expected a malformed-row failure, got {other}"),
    }
}

/// A signer that keeps its last checkpoint beside its key (outside the
/// database) refuses to sign a ledger rewritten behind its back, even in a
/// new process and with every stored checkpoint deleted.
async fn witness_file_outlives_the_database(env: Env) {
    let store = ledger(&env).await;
    let key = env.key();
    let witness = soxctl_store::checkpoint::witness_path(&env.key_path());
    store.set_checkpoint_witness(witness.clone(), &key).unwrap();
    store.sign_checkpoint(&key).await.unwrap();
    assert!(
        std::fs::read_to_string(&witness)
            .unwrap()
            .contains(&format!("\n{SIZE}\n"))
    );

    let mut other = leaves(&store).await;
    other[SIZE as usize - 1] = [9; 32];
    store
        .execute_unchecked("DELETE FROM checkpoints")
        .await
        .unwrap();
    store
        .execute_unchecked(&format!(
            "UPDATE ledger_entries SET leaf_hash = {} WHERE seq = {}",
            env.blob(&[9; 32]),
            SIZE - 1
        ))
        .await
        .unwrap();
    rewrite_head(&env, &store, &other).await;

    let restarted = env.store().await;
    restarted.set_checkpoint_witness(witness, &key).unwrap();
    let refused = restarted
        .sign_checkpoint(&key)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("refusing to sign"), "{refused}");
}
