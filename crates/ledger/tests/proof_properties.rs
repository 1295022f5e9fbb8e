//! Property tests: proofs from random trees verify, and every alteration of one fails.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap in a test helper is a test failure"
)]

use proptest::prelude::*;
use proptest::sample::Index;
use soxctl_ledger::proof::{
    MemoryTree, consistency_ranges, hash_range, inclusion_ranges, verify_consistency,
    verify_inclusion,
};
use soxctl_ledger::tree::{Frontier, Hash, leaf_hash, root};

/// Distinct leaves, so that no two proof hashes coincide by construction.
fn leaves(size: u64) -> Vec<Hash> {
    (0..size).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn root_of(size: u64) -> Hash {
    root(&leaves(size))
}

fn flip(hash: &Hash, bit: usize) -> Hash {
    let mut flipped = *hash;
    flipped[bit / 8] ^= 1 << (bit % 8);
    flipped
}

/// The ways to alter a proof that must each make it fail, given two proptest-chosen
/// positions and a bit.
fn altered(proof: &[Hash], a: &Index, b: &Index, bit: usize) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    let mut appended = proof.to_vec();
    appended.push(leaf_hash(b"extra"));
    out.push(appended);
    if proof.is_empty() {
        return out;
    }
    let (i, j) = (a.index(proof.len()), b.index(proof.len()));
    let mut flipped = proof.to_vec();
    flipped[i] = flip(&flipped[i], bit);
    out.push(flipped);
    let mut removed = proof.to_vec();
    removed.remove(i);
    out.push(removed);
    let mut inserted = proof.to_vec();
    inserted.insert(i, proof[j]);
    out.push(inserted);
    if i != j {
        let mut swapped = proof.to_vec();
        swapped.swap(i, j);
        out.push(swapped);
    }
    out
}

fn tree_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..300).prop_flat_map(|size| (Just(size), 0..size))
}

fn two_sizes() -> impl Strategy<Value = (u64, u64)> {
    (1u64..300).prop_flat_map(|size2| (1..=size2, Just(size2)))
}

proptest! {
    #[test]
    fn frontier_root_equals_mth(size in 0u64..300) {
        let leaves = leaves(size);
        let mut frontier = Frontier::new();
        for leaf in &leaves {
            frontier.push(*leaf);
        }
        prop_assert_eq!(frontier.root(), root(&leaves));
        prop_assert_eq!(Frontier::from_bytes(&frontier.to_bytes()), Ok(frontier));
    }

    #[test]
    fn proof_ranges_hash_like_the_slices_they_name((size, index) in tree_and_index(), size1 in 0u64..300) {
        let leaves = leaves(size);
        let tree = MemoryTree::from(leaves.clone());
        let size1 = size1 % (size + 1);
        let ranges = inclusion_ranges(index, size).unwrap().into_iter()
            .chain(consistency_ranges(size1, size).unwrap());
        for range in ranges {
            let slice = &leaves[range.start as usize..range.end as usize];
            prop_assert_eq!(hash_range(range.clone(), &mut |node| tree.node(node)), Ok(root(slice)));
        }
    }

    #[test]
    fn inclusion_proofs_verify_and_alterations_fail(
        (size, index) in tree_and_index(),
        a in any::<Index>(),
        b in any::<Index>(),
        bit in 0usize..256,
        other in any::<Index>(),
        other_size in 1u64..600,
    ) {
        let tree: MemoryTree = leaves(size).into_iter().collect();
        let leaf = tree.leaves()[index as usize];
        let root = tree.root();
        let proof = tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

        for bad in altered(&proof, &a, &b, bit) {
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        let other_index = other.index(size as usize) as u64;
        if other_index != index {
            prop_assert!(verify_inclusion(&leaf, other_index, size, &proof, &root).is_err());
        }
        // Claiming the leaf is in a tree of another size, against that tree's root.
        if other_size != size {
            let other_root = root_of(other_size);
            prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_alterations_fail(
        (size1, size2) in two_sizes(),
        a in any::<Index>(),
        b in any::<Index>(),
        bit in 0usize..256,
        other_size in 1u64..600,
    ) {
        let tree: MemoryTree = leaves(size2).into_iter().collect();
        let (root1, root2) = (root_of(size1), tree.root());
        let proof = tree.consistency_proof(size1, size2).unwrap();
        prop_assert_eq!(verify_consistency(size1, size2, &proof, &root1, &root2), Ok(()));
        prop_assert_eq!(verify_consistency(0, size2, &[], &root_of(0), &root2), Ok(()));

        for bad in altered(&proof, &a, &b, bit) {
            prop_assert!(verify_consistency(size1, size2, &bad, &root1, &root2).is_err());
        }
        prop_assert!(verify_consistency(size1, size2, &proof, &flip(&root1, bit), &root2).is_err());
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &flip(&root2, bit)).is_err());
        // Claiming either tree had another size, against that size's real root.
        if other_size != size1 && other_size <= size2 {
            let other_root = root_of(other_size);
            prop_assert!(verify_consistency(other_size, size2, &proof, &other_root, &root2).is_err());
        }
        if other_size != size2 && other_size >= size1 {
            let other_root = root_of(other_size);
            prop_assert!(verify_consistency(size1, other_size, &proof, &root1, &other_root).is_err());
        }
    }
}
