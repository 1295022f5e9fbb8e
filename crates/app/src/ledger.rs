//! Proofs that tie ledger entries to a signed tree, for monitors and
//! auditors (RFC 9162, DESIGN A4's shapes): one set of defaults and bounds
//! for `soxctl ledger proof` and `/api/v1/ledger/proof/*`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use soxctl_api::ledger::{ConsistencyProof, InclusionProof};
use soxctl_ledger::tree::Hash;
use soxctl_store::{Store, StoreError};

/// Why a proof cannot be given; each says what to ask instead.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error(
        "{name}={size} is not a tree size of this ledger, which holds {head} entries: give a value from 1 to {head} \
         (the latest signed checkpoint's size is the default)"
    )]
    Size {
        name: &'static str,
        size: u64,
        head: u64,
    },
    #[error(
        "entry {seq} is not in a tree of {size} entries: give a seq below {size}, or a larger size (at most {head})"
    )]
    NotInTree { seq: u64, size: u64, head: u64 },
    #[error("from={from} is larger than to={to}: a log only grows, so give from <= to")]
    Shrinks { from: u64, to: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn b64(hash: &Hash) -> String {
    BASE64.encode(hash)
}

/// The tree size proofs default to: the latest checkpoint's, so they verify
/// against the signed root a client most likely holds; the head without one.
async fn default_size(store: &Store, head: u64) -> Result<u64, StoreError> {
    Ok(store
        .latest_checkpoint()
        .await?
        .map_or(head, |c| c.size.min(head)))
}

fn tree_size(name: &'static str, size: u64, head: u64) -> Result<u64, ProofError> {
    if size == 0 || size > head {
        return Err(ProofError::Size { name, size, head });
    }
    Ok(size)
}

/// That entry `seq` is in the tree of `size` entries (default: the latest
/// checkpoint's).
pub async fn inclusion(
    store: &Store,
    seq: u64,
    size: Option<u64>,
) -> Result<InclusionProof, ProofError> {
    let head = store.head().await?.size;
    let size = match size {
        Some(size) => size,
        None => default_size(store, head).await?,
    };
    let size = tree_size("size", size, head)?;
    if seq >= size {
        return Err(ProofError::NotInTree { seq, size, head });
    }
    let leaf = store.leaf_hash(seq).await?.ok_or_else(|| {
        StoreError::Proof(format!("entry {seq} is missing below the tree size {size}"))
    })?;
    let hashes = store.inclusion_proof(seq, size).await?;
    let root = store.root_at(size).await?;
    Ok(InclusionProof {
        index: seq,
        size,
        leaf_hash: b64(&leaf),
        root: b64(&root),
        hashes: hashes.iter().map(b64).collect(),
    })
}

/// That the tree of `to` entries (default: the latest checkpoint's)
/// extends the tree of `from` entries.
pub async fn consistency(
    store: &Store,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyProof, ProofError> {
    let head = store.head().await?.size;
    let to = match to {
        Some(to) => to,
        None => default_size(store, head).await?,
    };
    let to = tree_size("to", to, head)?;
    let from = tree_size("from", from, head)?;
    if from > to {
        return Err(ProofError::Shrinks { from, to });
    }
    let hashes = store.consistency_proof(from, to).await?;
    Ok(ConsistencyProof {
        size1: from,
        size2: to,
        root1: b64(&store.root_at(from).await?),
        root2: b64(&store.root_at(to).await?),
        hashes: hashes.iter().map(b64).collect(),
    })
}
