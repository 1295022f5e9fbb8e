//! Inclusion and consistency proofs served from the persisted level-8
//! nodes, checked with the ledger crate's RFC 9162 verifiers, against
//! `root_at` and against signed checkpoints, and compared with an in-memory tree.

use crate::helpers::*;
use soxctl_ledger::note::{self, Checkpoint};
use soxctl_ledger::proof::{MemoryTree, verify_consistency, verify_inclusion};
use soxctl_ledger::tree::NodeId;
use soxctl_store::Store;

on_both_backends!(proofs_verify_at_every_size);

/// Sizes at which a checkpoint is signed: around the level-8 node boundaries.
const CHECKPOINTS: &[u64] = &[1, 2, 7, 255, 256, 257, 511, 512, 513, 768, 999, 1000];

async fn memory_tree(store: &Store) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for (_, leaf, _) in all_entries(store).await {
        tree.push(leaf);
    }
    tree
}

async fn proofs_verify_at_every_size(env: Env) {
    let store = env.store().await;
    let key = env.key();
    for &size in CHECKPOINTS {
        grow_to(&store, size).await;
        let signed = store
            .sign_checkpoint(&key)
            .await
            .unwrap()
            .expect("checkpoint");
        assert_eq!(signed.size, size);
    }
    let tree = memory_tree(&store).await;
    assert_eq!(tree.size(), 1000);

    // Exactly the complete subtrees of every 4th level are persisted, with the right hashes.
    assert_eq!(store.node_levels().await.unwrap(), vec![4, 8]);
    for (level, count) in [(4u32, 1000u64 / 16), (8, 1000 / 256)] {
        let nodes = store.nodes_of_level(level).await.unwrap();
        assert_eq!(
            nodes.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..count).collect::<Vec<_>>()
        );
        for (index, hash) in nodes {
            assert_eq!(
                hash,
                tree.node(NodeId::new(level, index)).unwrap(),
                "stored node {level}/{index}"
            );
        }
    }

    // The root at every size, as the store computes it from nodes and leaves.
    let mut roots = vec![soxctl_ledger::tree::EMPTY_ROOT];
    for size in 1..=1000 {
        let root = store.root_at(size).await.unwrap();
        assert_eq!(root, tree.root_at(size).unwrap(), "root at {size}");
        roots.push(root);
    }
    assert_eq!(roots[1000], store.head().await.unwrap().frontier.root());

    let mut rng = Rng::new(0x5eed);
    for round in 0..300 {
        let size = match round {
            0 => 1000,
            1 => 1,
            _ => rng.between(1, 1000),
        };
        let index = match round % 3 {
            0 => size - 1,
            1 => 0,
            _ => rng.between(0, size - 1),
        };
        let proof = store.inclusion_proof(index, size).await.unwrap();
        assert_eq!(
            proof,
            tree.inclusion_proof(index, size).unwrap(),
            "inclusion {index} in {size}"
        );
        let leaf = store.leaf_hash(index).await.unwrap().expect("leaf");
        verify_inclusion(&leaf, index, size, &proof, &roots[size as usize])
            .unwrap_or_else(|e| panic!("inclusion of {index} in {size}: {e}"));
        // The same proof does not place another leaf there.
        let other = store
            .leaf_hash((index + 1) % 1000)
            .await
            .unwrap()
            .expect("leaf");
        assert!(verify_inclusion(&other, index, size, &proof, &roots[size as usize]).is_err());

        let (a, b) = (rng.between(1, 1000), rng.between(1, 1000));
        let (size1, size2) = (a.min(b), a.max(b));
        let proof = store.consistency_proof(size1, size2).await.unwrap();
        assert_eq!(
            proof,
            tree.consistency_proof(size1, size2).unwrap(),
            "consistency {size1}..{size2}"
        );
        verify_consistency(
            size1,
            size2,
            &proof,
            &roots[size1 as usize],
            &roots[size2 as usize],
        )
        .unwrap_or_else(|e| panic!("consistency {size1} -> {size2}: {e}"));
    }
    assert!(
        store.inclusion_proof(1000, 1000).await.is_err(),
        "proof for a leaf beyond the tree"
    );
    assert!(
        store.consistency_proof(10, 1001).await.is_err(),
        "proof beyond the head"
    );

    // Against the signed checkpoints: their roots, and proofs between them.
    let verifier = key.verifier();
    let checkpoints = store.checkpoints().await.unwrap();
    assert_eq!(
        checkpoints.iter().map(|c| c.size).collect::<Vec<_>>(),
        CHECKPOINTS
    );
    let opened: Vec<Checkpoint> = checkpoints
        .iter()
        .map(|c| note::open_checkpoint(&c.note, &verifier).unwrap())
        .collect();
    for (stored, signed) in checkpoints.iter().zip(&opened) {
        assert_eq!(signed.origin, ORIGIN);
        assert_eq!((signed.size, signed.root), (stored.size, stored.root));
        assert_eq!(
            signed.root, roots[signed.size as usize],
            "checkpoint at {}",
            signed.size
        );
        for _ in 0..5 {
            let index = rng.between(0, signed.size - 1);
            let proof = store.inclusion_proof(index, signed.size).await.unwrap();
            let leaf = store.leaf_hash(index).await.unwrap().expect("leaf");
            verify_inclusion(&leaf, index, signed.size, &proof, &signed.root).unwrap();
        }
    }
    for (i, older) in opened.iter().enumerate() {
        for newer in &opened[i..] {
            let proof = store
                .consistency_proof(older.size, newer.size)
                .await
                .unwrap();
            verify_consistency(older.size, newer.size, &proof, &older.root, &newer.root)
                .unwrap_or_else(|e| panic!("checkpoints {} -> {}: {e}", older.size, newer.size));
        }
    }
    let report = assert_verifies(&env, &store).await;
    assert_eq!(report.checkpoints, CHECKPOINTS.len() as u64);
}
