//! Known-answer tests with the RFC 6962 test vectors as published in
//! transparency-dev/merkle, proof/verify_test.go (`leaves`, `roots`, `inclusionProofs`,
//! `consistencyProofs`), typed in here. That file numbers inclusion leaves from 1; the
//! indices below are 0-based.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap in a test helper is a test failure"
)]

use soxctl_ledger::proof::{MemoryTree, ProofError, verify_consistency, verify_inclusion};
use soxctl_ledger::tree::{EMPTY_ROOT, Frontier, Hash, leaf_hash, root};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// ROOTS[n] is the root of the tree of the first n leaves.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, proof)
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (size1, size2, proof)
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(text: &str) -> Hash {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn hashes(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|t| h(t)).collect()
}

fn tree() -> MemoryTree {
    LEAVES
        .iter()
        .map(|leaf| leaf_hash(&hex::decode(leaf).unwrap()))
        .collect()
}

fn root_of(size: u64) -> Hash {
    h(ROOTS[size as usize])
}

/// Every single-bit flip of every hash of `proof`.
fn bit_flips(proof: &[Hash]) -> impl Iterator<Item = Vec<Hash>> + '_ {
    (0..proof.len() * 256).map(move |bit| {
        let mut bad = proof.to_vec();
        bad[bit / 256][bit % 256 / 8] ^= 1 << (bit % 8);
        bad
    })
}

#[test]
fn roots_of_every_size() {
    let tree = tree();
    let mut frontier = Frontier::new();
    assert_eq!(root_of(0), EMPTY_ROOT);
    for size in 0..=8 {
        assert_eq!(
            root(&tree.leaves()[..size as usize]),
            root_of(size),
            "size {size}"
        );
        assert_eq!(tree.root_at(size), Ok(root_of(size)), "size {size}");
        assert_eq!(frontier.root(), root_of(size), "size {size}");
        if let Some(leaf) = tree.leaves().get(size as usize) {
            frontier.push(*leaf);
        }
    }
}

#[test]
fn inclusion_proofs_match_and_tampering_fails() {
    let tree = tree();
    for (index, size, proof) in INCLUSION {
        let proof = hashes(proof);
        let leaf = tree.leaves()[index as usize];
        let root = root_of(size);
        assert_eq!(
            tree.inclusion_proof(index, size),
            Ok(proof.clone()),
            "{index} of {size}"
        );
        assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &root),
            Ok(()),
            "{index} of {size}"
        );

        // The probes of verify_test.go's corruptInclusionProof, plus every bit of every hash.
        let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let with = |extra: Hash, at_front: bool| {
            let mut bad = proof.clone();
            if at_front {
                bad.insert(0, extra)
            } else {
                bad.push(extra)
            }
            bad
        };
        let mut probes: Vec<(Hash, u64, u64, Vec<Hash>, Hash)> = vec![
            (leaf, index.wrapping_sub(1), size, proof.clone(), root),
            (leaf, index + 1, size, proof.clone(), root),
            (leaf, index ^ 2, size, proof.clone(), root),
            (leaf, index, size * 2, proof.clone(), root),
            (leaf, index, size / 2, proof.clone(), root),
            (leaf_hash(b"WrongLeaf"), index, size, proof.clone(), root),
            (leaf, index, size, proof.clone(), EMPTY_ROOT),
            (leaf, index, size, proof.clone(), some_hash),
            (leaf, index, size, with(root, false), root),
            (leaf, index, size, with(root, true), root),
            (leaf, index, size, with([0; 32], false), root),
        ];
        if let Some((_, shorter)) = proof.split_last() {
            probes.push((leaf, index, size, shorter.to_vec(), root));
        }
        if proof.len() > 1 {
            let mut inserted = proof.clone();
            inserted.insert(1, some_hash);
            probes.push((leaf, index, size, inserted, root));
        }
        probes.extend(bit_flips(&proof).map(|bad| (leaf, index, size, bad, root)));
        for (leaf, index, size, proof, root) in probes {
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root).is_err(),
                "{index} of {size}"
            );
        }
    }
}

#[test]
fn consistency_proofs_match_and_tampering_fails() {
    let tree = tree();
    for (size1, size2, proof) in CONSISTENCY {
        let proof = hashes(proof);
        let (root1, root2) = (root_of(size1), root_of(size2));
        assert_eq!(
            tree.consistency_proof(size1, size2),
            Ok(proof.clone()),
            "{size1} to {size2}"
        );
        assert_eq!(
            verify_consistency(size1, size2, &proof, &root1, &root2),
            Ok(()),
            "{size1} to {size2}"
        );
        if proof.is_empty() {
            continue;
        }

        // The probes of verify_test.go's corruptConsistencyProof, plus every bit of every hash.
        let with = |extra: Hash, at_front: bool| {
            let mut bad = proof.clone();
            if at_front {
                bad.insert(0, extra)
            } else {
                bad.push(extra)
            }
            bad
        };
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(u64, u64, Vec<Hash>, Hash, Hash)> = vec![
            (size1 - 1, size2, proof.clone(), root1, root2),
            (size1 + 1, size2, proof.clone(), root1, root2),
            (size1 ^ 2, size2, proof.clone(), root1, root2),
            (size1, size2 * 2, proof.clone(), root1, root2),
            (size1, size2 / 2, proof.clone(), root1, root2),
            (size1, size2, proof.clone(), wrong, root2),
            (size1, size2, proof.clone(), root1, wrong),
            (size1, size2, proof.clone(), root2, root1),
            (size1, size2, vec![], root1, root2),
            (size1, size2, with([0; 32], false), root1, root2),
            (size1, size2, with(root1, false), root1, root2),
            (size1, size2, with(root2, false), root1, root2),
            (size1, size2, with([0; 32], true), root1, root2),
            (size1, size2, with(root1, true), root1, root2),
            (size1, size2, with(root2, true), root1, root2),
            (size1, size2, with(proof[0], true), root1, root2),
            (
                size1,
                size2,
                proof[..proof.len() - 1].to_vec(),
                root1,
                root2,
            ),
        ];
        probes.extend(bit_flips(&proof).map(|bad| (size1, size2, bad, root1, root2)));
        for (size1, size2, proof, root1, root2) in probes {
            assert!(
                verify_consistency(size1, size2, &proof, &root1, &root2).is_err(),
                "{size1} to {size2}"
            );
        }
    }
}

/// A proof that runs past the top of the tree is reported as a length error (RFC 9162
/// steps 4a and 6a), not as whatever root the extra hashes happen to produce.
#[test]
fn overlong_proofs_are_length_errors() {
    let extra = [0x55; 32];
    for (index, size, proof) in INCLUSION {
        let mut proof = hashes(proof);
        let expected = proof.len();
        proof.push(extra);
        let leaf = tree().leaves()[index as usize];
        assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &root_of(size)),
            Err(ProofError::ProofLength {
                expected,
                found: expected + 1
            })
        );
    }
    for (size1, size2, proof) in CONSISTENCY {
        let mut proof = hashes(proof);
        let expected = proof.len();
        proof.push(extra);
        assert_eq!(
            verify_consistency(size1, size2, &proof, &root_of(size1), &root_of(size2)),
            Err(ProofError::ProofLength {
                expected,
                found: expected + 1
            })
        );
    }
}
