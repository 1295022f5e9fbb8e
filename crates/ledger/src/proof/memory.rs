//! An in-memory node source: every leaf hash, nodes recomputed on demand.

use super::{ProofError, consistency_proof, hash_range, inclusion_proof};
use crate::tree::{Hash, NodeId, root};

/// All leaf hashes of a tree, held in memory.
///
/// Nodes are recomputed from the leaves on every request, which is fine for tests and for
/// checking an exported bundle, and is exactly why a store should persist nodes instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryTree {
    leaves: Vec<Hash>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }

    /// The hash of a perfect subtree; this is the getter the proof functions take.
    pub fn node(&self, node: NodeId) -> Result<Hash, ProofError> {
        let range = node.leaf_range();
        let out_of_range = ProofError::NodeOutOfRange {
            node,
            size: self.size(),
        };
        let start = usize::try_from(range.start).map_err(|_| out_of_range.clone())?;
        let end = usize::try_from(range.end).map_err(|_| out_of_range.clone())?;
        self.leaves.get(start..end).map(root).ok_or(out_of_range)
    }

    /// MTH of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        hash_range(0..size, &mut |node| self.node(node))
    }

    /// MTH of all leaves.
    pub fn root(&self) -> Hash {
        root(&self.leaves)
    }

    /// The inclusion proof for leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        inclusion_proof(index, size, &mut |node| self.node(node))
    }

    /// The consistency proof between the trees of the first `size1` and `size2` leaves.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
        consistency_proof(size1, size2, &mut |node| self.node(node))
    }
}

impl From<Vec<Hash>> for MemoryTree {
    fn from(leaves: Vec<Hash>) -> Self {
        Self { leaves }
    }
}

impl FromIterator<Hash> for MemoryTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaves: I) -> Self {
        Self {
            leaves: leaves.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::leaf_hash;

    #[test]
    fn nodes_beyond_the_tree_are_refused() {
        let tree: MemoryTree = (0u8..5).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(tree.node(NodeId::leaf(4)), Ok(tree.leaves()[4]));
        assert_eq!(
            tree.node(NodeId::new(1, 2)),
            Err(ProofError::NodeOutOfRange {
                node: NodeId::new(1, 2),
                size: 5
            })
        );
        assert!(tree.inclusion_proof(2, 6).is_err());
        assert_eq!(tree.root_at(5), Ok(tree.root()));
    }
}
