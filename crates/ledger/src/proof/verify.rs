//! Proof verification, transcribed step by step from RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! The step numbers in the comments are the RFC's, so a reviewer can hold the two side by
//! side. The algorithms only fail; the error variants name the step's reason.

use super::{ProofError, consistency_ranges, inclusion_ranges};
use crate::tree::{EMPTY_ROOT, Hash, node_hash};

/// Verifies that `leaf` is at `index` in the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Only computed on failure, to report how long the proof should have been.
    let length_error = || ProofError::ProofLength {
        expected: inclusion_ranges(index, size).map_or(0, |ranges| ranges.len()),
        found: proof.len(),
    };
    // 1. leaf_index must be below tree_size.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2. fn = leaf_index, sn = tree_size - 1.
    let (mut fn_, mut sn) = (index, size - 1);
    // 3. r = hash.
    let mut r = *leaf;
    // 4. For each p in inclusion_path:
    for p in proof {
        // a. If sn is 0, fail.
        if sn == 0 {
            return Err(length_error());
        }
        // b. If LSB(fn) is set or fn == sn, p is a left sibling ...
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // ... and on the right edge, skip levels where this subtree had no sibling.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        // c. Right-shift fn and sn once.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. sn must be 0 and r must equal root_hash.
    if sn != 0 {
        return Err(length_error());
    }
    if r != *root {
        return Err(ProofError::RootMismatch {
            size,
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1` (RFC 9162 §2.1.4.2).
///
/// The RFC algorithm assumes 0 < size1 < size2. Outside that, nothing is left to prove and
/// the proof must be empty: equal sizes must have equal roots, and size1 == 0 requires
/// `root1` to be the empty tree's root, `MTH({})`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    let length_error = || ProofError::ProofLength {
        expected: consistency_ranges(size1, size2).map_or(0, |ranges| ranges.len()),
        found: proof.len(),
    };
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(length_error());
        }
        if size1 == size2 && root1 != root2 {
            return Err(ProofError::EqualSizeRootsDiffer {
                size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        if size1 == 0 && *root1 != EMPTY_ROOT {
            return Err(ProofError::RootMismatch {
                size: 0,
                computed: EMPTY_ROOT,
                expected: *root1,
            });
        }
        return Ok(());
    }
    // 1. If consistency_path is empty, fail.
    if proof.is_empty() {
        return Err(length_error());
    }
    // 2. If first is an exact power of 2, prepend first_hash: the old root is then a node of
    // the new tree, which the prover leaves out.
    let prefix = size1.is_power_of_two().then_some(root1);
    let mut path = prefix.into_iter().chain(proof);
    // 3. fn = first - 1, sn = second - 1.
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    // 4. If LSB(fn) is set, right-shift fn and sn until it is not.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. fr = sr = the first value of the path.
    let Some(first) = path.next() else {
        return Err(length_error());
    };
    let (mut fr, mut sr) = (*first, *first);
    // 6. For each subsequent value c in the path:
    for c in path {
        // a. If sn is 0, fail.
        if sn == 0 {
            return Err(length_error());
        }
        // b. If LSB(fn) is set or fn == sn, c is a left sibling in both trees ...
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            // ... otherwise a right sibling that only the new tree has.
            sr = node_hash(&sr, c);
        }
        // c. Right-shift fn and sn once.
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
    if sn != 0 {
        return Err(length_error());
    }
    if fr != *root1 {
        return Err(ProofError::RootMismatch {
            size: size1,
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(ProofError::RootMismatch {
            size: size2,
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::leaf_hash;

    #[test]
    fn trivial_consistency_cases() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        assert_eq!(
            verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT),
            Ok(())
        );
        assert_eq!(verify_consistency(0, 5, &[], &EMPTY_ROOT, &b), Ok(()));
        assert_eq!(verify_consistency(3, 3, &[], &a, &a), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &[], &a, &b),
            Err(ProofError::RootMismatch {
                size: 0,
                computed: EMPTY_ROOT,
                expected: a
            })
        );
        assert_eq!(
            verify_consistency(3, 3, &[], &a, &b),
            Err(ProofError::EqualSizeRootsDiffer {
                size: 3,
                root1: a,
                root2: b
            })
        );
        assert_eq!(
            verify_consistency(3, 3, &[a], &a, &a),
            Err(ProofError::ProofLength {
                expected: 0,
                found: 1
            })
        );
        assert_eq!(
            verify_consistency(0, 5, &[a], &EMPTY_ROOT, &b),
            Err(ProofError::ProofLength {
                expected: 0,
                found: 1
            })
        );
        assert_eq!(
            verify_consistency(4, 3, &[], &a, &b),
            Err(ProofError::SizeOrder { size1: 4, size2: 3 })
        );
        assert_eq!(
            verify_consistency(1, 2, &[], &a, &b),
            Err(ProofError::ProofLength {
                expected: 1,
                found: 0
            })
        );
    }

    #[test]
    fn single_leaf_inclusion() {
        let leaf = leaf_hash(b"data");
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        assert!(verify_inclusion(&leaf, 0, 1, &[], &EMPTY_ROOT).is_err());
        assert_eq!(
            verify_inclusion(&leaf, 1, 1, &[], &leaf),
            Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
        );
        assert_eq!(
            verify_inclusion(&leaf, 0, 0, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&leaf, 0, 1, &[leaf], &leaf),
            Err(ProofError::ProofLength {
                expected: 0,
                found: 1
            })
        );
    }
}
