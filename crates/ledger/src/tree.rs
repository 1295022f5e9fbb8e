//! RFC 9162 §2.1 Merkle tree hashing and the compact right edge of a growing tree.

use std::fmt;
use std::ops::Range;

use sha2::{Digest, Sha256};

/// A SHA-256 digest: leaf hashes, interior nodes and tree roots alike.
pub type Hash = [u8; 32];

/// `MTH({})`: the root of the empty tree is the SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// SHA-256(0x00 || bytes). The prefix keeps leaves and interior nodes from colliding.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(bytes)
        .finalize()
        .into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// `MTH(D[n])` over leaf hashes, written as the RFC's recursion so it can serve as the oracle
/// the incremental structures are tested against.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => EMPTY_ROOT,
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len() as u64) as usize);
            node_hash(&root(left), &root(right))
        }
    }
}

/// The largest power of two strictly below `n` (n >= 2): where the RFC splits a tree.
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A perfect subtree: the `2^level` leaves `[index << level, (index + 1) << level)`.
///
/// These are the only nodes a store needs to keep; every MTH the proofs ask for is a fold
/// of a few of them (see [`crate::proof::decompose`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u32,
    /// Position among the nodes of this level, counting from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u32, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self::new(0, index)
    }

    /// The leaves this node covers. Bounds saturate at `u64::MAX` so a nonsensical id
    /// can never alias a real subtree.
    pub fn leaf_range(&self) -> Range<u64> {
        let first_leaf = |index: u64| {
            index
                .checked_shl(self.level)
                .filter(|start| start >> self.level == index)
                .unwrap_or(u64::MAX)
        };
        first_leaf(self.index)..first_leaf(self.index.saturating_add(1))
    }

    /// The two halves of this node, or `None` for a leaf.
    pub fn children(&self) -> Option<(NodeId, NodeId)> {
        let level = self.level.checked_sub(1)?;
        let left = self.index.checked_mul(2)?;
        Some((
            Self::new(level, left),
            Self::new(level, left.checked_add(1)?),
        ))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Range { start, end } = self.leaf_range();
        write!(
            f,
            "level {}, index {} (leaves {start}..{end})",
            self.level, self.index
        )
    }
}

/// The right edge of a tree: one perfect subtree root per set bit of its size, largest
/// first. This is all that is needed to append leaves and compute the root, so the head of
/// a ten-million-entry log fits in well under a kilobyte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // Invariant: hashes.len() == size.count_ones(), ordered left to right.
    hashes: Vec<Hash>,
}

/// Why bytes are not an encoded [`Frontier`].
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrontierError {
    /// Too short to hold even the size.
    #[error("frontier encoding is {found} bytes, too short for the 8-byte size")]
    Truncated {
        /// Length of the input.
        found: usize,
    },
    /// The number of hashes does not match the popcount of the size.
    #[error("frontier of size {size} must be {expected} bytes, found {found}")]
    Length {
        /// Decoded tree size.
        size: u64,
        /// 8 + 32 * popcount(size).
        expected: usize,
        /// Length of the input.
        found: usize,
    },
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and returns every perfect subtree of level >= 1 that this leaf
    /// completed, lowest first, so a store can persist the levels it serves proofs from.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut completed = Vec::new();
        let mut node = NodeId::leaf(self.size);
        let mut hash = leaf;
        // Each trailing one bit of the old size is a left sibling waiting for this subtree.
        for _ in 0..self.size.trailing_ones() {
            // The invariant guarantees a hash per set bit, so this never breaks early.
            let Some(left) = self.hashes.pop() else { break };
            hash = node_hash(&left, &hash);
            node = NodeId::new(node.level + 1, node.index >> 1);
            completed.push((node, hash));
        }
        self.hashes.push(hash);
        self.size += 1;
        completed
    }

    /// MTH of all leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut right_to_left = self.hashes.iter().rev();
        match right_to_left.next() {
            None => EMPTY_ROOT,
            Some(last) => right_to_left.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// The perfect subtrees making up the right edge, largest (leftmost) first.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        let levels = (0..u64::BITS)
            .rev()
            .filter(|&bit| (self.size >> bit) & 1 == 1);
        levels
            .zip(&self.hashes)
            .map(|(level, hash)| (NodeId::new(level, (self.size >> level) - 1), *hash))
    }

    /// Compact encoding: the size as a big-endian u64, then the hashes left to right.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + 32 * self.hashes.len());
        bytes.extend_from_slice(&self.size.to_be_bytes());
        bytes.extend(self.hashes.iter().flatten());
        bytes
    }

    /// Decodes [`Frontier::to_bytes`], checking the length against the size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        let (size, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or(FrontierError::Truncated { found: bytes.len() })?;
        let size = u64::from_be_bytes(*size);
        let expected = 8 + 32 * size.count_ones() as usize;
        if bytes.len() != expected {
            return Err(FrontierError::Length {
                size,
                expected,
                found: bytes.len(),
            });
        }
        let (hashes, _) = rest.as_chunks::<32>();
        Ok(Self {
            size,
            hashes: hashes.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
        assert_eq!(root(&[]), EMPTY_ROOT);
        assert_eq!(Frontier::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn frontier_matches_root_and_reports_completed_subtrees() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        for (i, leaf) in all.iter().enumerate() {
            for (node, hash) in frontier.push(*leaf) {
                let range = node.leaf_range();
                assert!(node.level >= 1);
                assert_eq!(range.end, i as u64 + 1, "completed by this push");
                assert_eq!(hash, root(&all[range.start as usize..range.end as usize]));
            }
            let size = i + 1;
            assert_eq!(frontier.size(), size as u64);
            assert_eq!(frontier.root(), root(&all[..size]), "size {size}");
            for (node, hash) in frontier.nodes() {
                let range = node.leaf_range();
                assert_eq!(hash, root(&all[range.start as usize..range.end as usize]));
            }
        }
    }

    #[test]
    fn push_reports_each_level_it_completes() {
        let mut frontier = Frontier::new();
        let completed: Vec<Vec<NodeId>> = leaves(8)
            .into_iter()
            .map(|leaf| frontier.push(leaf).into_iter().map(|(id, _)| id).collect())
            .collect();
        assert!(completed[0].is_empty());
        assert_eq!(completed[1], [NodeId::new(1, 0)]);
        assert_eq!(completed[3], [NodeId::new(1, 1), NodeId::new(2, 0)]);
        assert_eq!(
            completed[7],
            [NodeId::new(1, 3), NodeId::new(2, 1), NodeId::new(3, 0)]
        );
    }

    #[test]
    fn frontier_bytes_round_trip_and_reject_bad_lengths() {
        let mut frontier = Frontier::new();
        for leaf in leaves(13) {
            frontier.push(leaf);
        }
        let bytes = frontier.to_bytes();
        assert_eq!(bytes.len(), 8 + 3 * 32);
        assert_eq!(Frontier::from_bytes(&bytes), Ok(frontier.clone()));
        assert_eq!(
            Frontier::from_bytes(&bytes[..bytes.len() - 1]),
            Err(FrontierError::Length {
                size: 13,
                expected: 104,
                found: 103
            })
        );
        assert_eq!(
            Frontier::from_bytes(&[0; 7]),
            Err(FrontierError::Truncated { found: 7 })
        );
        assert_eq!(
            Frontier::from_bytes(&0u64.to_be_bytes()),
            Ok(Frontier::new())
        );
    }

    #[test]
    fn node_ids_cover_aligned_ranges() {
        assert_eq!(NodeId::new(3, 2).leaf_range(), 16..24);
        assert_eq!(NodeId::leaf(5).leaf_range(), 5..6);
        assert_eq!(
            NodeId::new(2, 1).children(),
            Some((NodeId::new(1, 2), NodeId::new(1, 3)))
        );
        assert_eq!(NodeId::leaf(5).children(), None);
        assert_eq!(NodeId::new(64, 1).leaf_range(), u64::MAX..u64::MAX);
        assert_eq!(
            NodeId::new(1, 2).to_string(),
            "level 1, index 2 (leaves 4..6)"
        );
    }
}
