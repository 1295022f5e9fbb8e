//! RFC 9162 §2.1.3–2.1.4 inclusion and consistency proofs.
//!
//! A proof is a list of MTHs over leaf ranges. Generation is split in two so that a
//! database can serve proofs cheaply: [`inclusion_ranges`] and [`consistency_ranges`] say
//! which ranges (pure arithmetic), and [`hash_range`] folds each range from a handful of
//! stored perfect subtrees ([`NodeId`]s) fetched through a caller-supplied getter. A proof
//! at any size touches O(log n) nodes.

use std::ops::Range;

use crate::tree::{EMPTY_ROOT, Hash, NodeId, node_hash, split_point};

mod memory;
mod verify;

pub use memory::MemoryTree;
pub use verify::{verify_consistency, verify_inclusion};

/// Why a proof could not be built or did not verify.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf is not in the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// Consistency runs from an older (smaller) tree to a newer one.
    #[error("tree size {size1} is larger than tree size {size2}; a log never shrinks")]
    SizeOrder {
        /// Claimed older size.
        size1: u64,
        /// Claimed newer size.
        size2: u64,
    },
    /// The range is not a subtree of the RFC recursion, so no stored nodes compose it.
    #[error("leaf range {start}..{end} is not a subtree of the RFC 9162 recursion")]
    UnalignedRange {
        /// First leaf.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
    /// A getter was asked for a node the tree does not have yet.
    #[error("node at {node} extends past the {size} leaves of the tree")]
    NodeOutOfRange {
        /// Requested node.
        node: NodeId,
        /// Leaves available.
        size: u64,
    },
    /// The proof is longer or shorter than the RFC path for these sizes.
    #[error("proof has {found} hashes, expected {expected}")]
    ProofLength {
        /// Hashes the RFC path has.
        expected: usize,
        /// Hashes supplied.
        found: usize,
    },
    /// The proof recomputes a root other than the one claimed for this tree size.
    #[error(
        "proof yields root {} for tree size {size}, expected {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    RootMismatch {
        /// Tree size whose root was checked.
        size: u64,
        /// Root recomputed from the proof.
        computed: Hash,
        /// Root supplied by the caller.
        expected: Hash,
    },
    /// Two trees of the same size are only consistent if they are the same tree.
    #[error(
        "trees of equal size {size} have different roots {} and {}",
        hex::encode(.root1),
        hex::encode(.root2)
    )]
    EqualSizeRootsDiffer {
        /// The common size.
        size: u64,
        /// First root.
        root1: Hash,
        /// Second root.
        root2: Hash,
    },
}

/// The perfect subtrees whose MTH fold (right to left) is `MTH(D[range])`.
///
/// Only ranges that occur in the RFC recursion have such a decomposition: the start must be
/// a multiple of the length rounded up to a power of two. Every range returned by
/// [`inclusion_ranges`] and [`consistency_ranges`] qualifies.
pub fn decompose(range: Range<u64>) -> Result<Vec<NodeId>, ProofError> {
    let unaligned = || ProofError::UnalignedRange {
        start: range.start,
        end: range.end,
    };
    let len = range.end.checked_sub(range.start).ok_or_else(unaligned)?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let span = len.checked_next_power_of_two().ok_or_else(unaligned)?;
    if !range.start.is_multiple_of(span) {
        return Err(unaligned());
    }
    // The RFC splits off the largest power of two below the length, then recurses on the
    // rest: that is one perfect subtree per set bit of the length, largest first.
    let mut start = range.start;
    let levels = (0..u64::BITS).rev().filter(|&bit| (len >> bit) & 1 == 1);
    Ok(levels
        .map(|level| {
            let node = NodeId::new(level, start >> level);
            start += 1 << level;
            node
        })
        .collect())
}

/// `PATH(index, D[size])` of RFC 9162 §2.1.3.1 as leaf ranges, in proof order (leaf upwards).
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range<u64>>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut path = Vec::new();
    // Walk down from the root; the RFC emits siblings bottom-up, hence the reverse.
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            path.push(mid..hi);
            hi = mid;
        } else {
            path.push(lo..mid);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// `PROOF(size1, D[size2])` of RFC 9162 §2.1.4.1 as leaf ranges, in proof order.
///
/// The RFC defines proofs for 0 < size1 < size2; for size1 == 0 and size1 == size2 the
/// proof is empty (see [`verify_consistency`] for what those cases check instead).
pub fn consistency_ranges(size1: u64, size2: u64) -> Result<Vec<Range<u64>>, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    let (mut lo, mut hi) = (0, size2);
    // SUBPROOF's flag b: while true, the old tree's root is the verifier's own first_hash
    // and need not be sent.
    let mut is_old_root = true;
    let mut path = Vec::new();
    loop {
        if size1 == hi {
            if !is_old_root {
                path.push(lo..hi);
            }
            break;
        }
        let mid = lo + split_point(hi - lo);
        if size1 <= mid {
            path.push(mid..hi);
            hi = mid;
        } else {
            path.push(lo..mid);
            lo = mid;
            is_old_root = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// `MTH(D[range])` folded from the nodes of [`decompose`], fetched through `get`.
///
/// The empty range hashes to [`EMPTY_ROOT`]. `E` must absorb [`ProofError`] so that a
/// malformed range surfaces through the caller's own error type.
pub fn hash_range<E: From<ProofError>>(
    range: Range<u64>,
    get: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let mut right_to_left = decompose(range)?.into_iter().rev();
    let Some(last) = right_to_left.next() else {
        return Ok(EMPTY_ROOT);
    };
    right_to_left.try_fold(get(last)?, |acc, node| Ok(node_hash(&get(node)?, &acc)))
}

/// The inclusion proof for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<E: From<ProofError>>(
    index: u64,
    size: u64,
    get: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    inclusion_ranges(index, size)?
        .into_iter()
        .map(|range| hash_range(range, get))
        .collect()
}

/// The consistency proof from the tree of `size1` leaves to the tree of `size2` leaves.
pub fn consistency_proof<E: From<ProofError>>(
    size1: u64,
    size2: u64,
    get: &mut impl FnMut(NodeId) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    consistency_ranges(size1, size2)?
        .into_iter()
        .map(|range| hash_range(range, get))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompose_follows_the_bits_of_the_length() {
        assert_eq!(decompose(0..0), Ok(vec![]));
        assert_eq!(decompose(4..5), Ok(vec![NodeId::leaf(4)]));
        assert_eq!(decompose(0..8), Ok(vec![NodeId::new(3, 0)]));
        assert_eq!(
            decompose(8..15),
            Ok(vec![NodeId::new(2, 2), NodeId::new(1, 6), NodeId::leaf(14)])
        );
        assert_eq!(
            decompose(2..5),
            Err(ProofError::UnalignedRange { start: 2, end: 5 })
        );
        assert_eq!(
            decompose(4..7),
            Ok(vec![NodeId::new(1, 2), NodeId::leaf(6)])
        );
        let reversed = Range { start: 5, end: 3 };
        assert_eq!(
            decompose(reversed),
            Err(ProofError::UnalignedRange { start: 5, end: 3 })
        );
    }

    #[test]
    #[allow(
        clippy::single_range_in_vec_init,
        reason = "a one-hash proof is a Vec of one range"
    )]
    fn ranges_follow_the_rfc_recursion() {
        // RFC 9162 §2.1.5's examples for the 7-leaf tree of its figure, where
        // g = 0..2, h = 2..4, i = 4..6, j = 6..7, k = 0..4, l = 4..7.
        assert_eq!(inclusion_ranges(0, 7), Ok(vec![1..2, 2..4, 4..7])); // [b, h, l]
        assert_eq!(inclusion_ranges(3, 7), Ok(vec![2..3, 0..2, 4..7])); // [c, g, l]
        assert_eq!(inclusion_ranges(4, 7), Ok(vec![5..6, 6..7, 0..4])); // [f, j, k]
        assert_eq!(inclusion_ranges(6, 7), Ok(vec![4..6, 0..4])); // [i, k]
        assert_eq!(inclusion_ranges(0, 1), Ok(vec![]));
        assert_eq!(
            inclusion_ranges(7, 7),
            Err(ProofError::IndexOutOfRange { index: 7, size: 7 })
        );

        assert_eq!(consistency_ranges(3, 7), Ok(vec![2..3, 3..4, 0..2, 4..7])); // [c, d, g, l]
        assert_eq!(consistency_ranges(4, 7), Ok(vec![4..7])); // [l]
        assert_eq!(consistency_ranges(6, 7), Ok(vec![4..6, 6..7, 0..4])); // [i, j, k]
        assert_eq!(consistency_ranges(0, 7), Ok(vec![]));
        assert_eq!(consistency_ranges(7, 7), Ok(vec![]));
        assert_eq!(
            consistency_ranges(8, 7),
            Err(ProofError::SizeOrder { size1: 8, size2: 7 })
        );
    }

    /// A store serves proofs by fetching nodes; at ten million leaves a proof must stay a
    /// few dozen fetches, not a scan.
    #[test]
    fn proofs_at_ten_million_leaves_touch_few_nodes() {
        let size = 10_000_000;
        let mut fetched = 0;
        let mut get = |node: NodeId| -> Result<Hash, ProofError> {
            assert!(node.leaf_range().end <= size);
            fetched += 1;
            Ok([node.level as u8; 32])
        };
        for index in [0, 1, 4_999_999, 9_999_998, size - 1] {
            inclusion_proof(index, size, &mut get).unwrap();
        }
        consistency_proof(size - 12_345, size, &mut get).unwrap();
        assert!(fetched <= 6 * 2 * 24, "fetched {fetched} nodes");
    }
}
