//! Offline verification of an exported ledger: entries as JSON lines plus a signed
//! checkpoint. Nothing but the bundle and the log's public key is trusted.

use crate::entry::{Entry, EntryError, ZERO_HASH};
use crate::note::{Checkpoint, NoteError, VerifierKey, open_checkpoint};
use crate::tree::{Frontier, Hash, leaf_hash};

/// Why a bundle or an entry stream does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The checkpoint note is not validly signed or not a well-formed checkpoint.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// Entry bytes are not a valid canonical entry.
    #[error("entry {seq}: {source}")]
    Entry {
        /// Position of the entry in the stream.
        seq: u64,
        /// What is wrong with it.
        #[source]
        source: EntryError,
    },
    /// The last line is not terminated, so the export may have been cut short.
    #[error("entry {seq}: line does not end with a newline")]
    MissingNewline {
        /// Position of the entry in the stream.
        seq: u64,
    },
    /// An entry's `seq` is not its position.
    #[error("entry {position}: seq is {found}, expected {position}")]
    SeqMismatch {
        /// Position of the entry in the stream.
        position: u64,
        /// The `seq` it carries.
        found: u64,
    },
    /// An entry's `prev` is not the leaf hash of the entry before it.
    #[error(
        "entry {seq}: prev is {}, expected {} ({})",
        hex::encode(.found),
        hex::encode(.expected),
        prev_meaning(*.seq)
    )]
    PrevMismatch {
        /// The entry's `seq`.
        seq: u64,
        /// The `prev` it carries.
        found: Hash,
        /// Leaf hash of the previous entry.
        expected: Hash,
    },
    /// The checkpoint is for a different number of entries.
    #[error("checkpoint covers {checkpoint} entries but the bundle holds {entries}")]
    SizeMismatch {
        /// Size in the checkpoint.
        checkpoint: u64,
        /// Entries in the bundle.
        entries: u64,
    },
    /// The entries hash to a root other than the signed one.
    #[error(
        "checkpoint root for {size} entries is {}, but the entries hash to {}",
        hex::encode(.checkpoint),
        hex::encode(.computed)
    )]
    RootMismatch {
        /// Number of entries.
        size: u64,
        /// Root in the checkpoint.
        checkpoint: Hash,
        /// Root of the entries.
        computed: Hash,
    },
}

fn prev_meaning(seq: u64) -> String {
    match seq.checked_sub(1) {
        Some(before) => format!("leaf hash of entry {before}"),
        None => "all zeros for the first entry".to_owned(),
    }
}

/// Checks entries one at a time in constant memory: each must be canonical, carry its
/// position as `seq` and chain to its predecessor through `prev`. The Merkle frontier
/// kept alongside gives the root at any point, to compare with a checkpoint.
#[derive(Clone, Debug, Default)]
pub struct ChainVerifier {
    frontier: Frontier,
    last_leaf: Option<Hash>,
}

impl ChainVerifier {
    /// A verifier expecting entry 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verifies the next entry's bytes (without the line terminator) and returns it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Entry, VerifyError> {
        let position = self.frontier.size();
        let entry = Entry::parse(bytes).map_err(|source| VerifyError::Entry {
            seq: position,
            source,
        })?;
        if entry.seq != position {
            return Err(VerifyError::SeqMismatch {
                position,
                found: entry.seq,
            });
        }
        let expected = self.last_leaf.unwrap_or(ZERO_HASH);
        if entry.prev != expected {
            return Err(VerifyError::PrevMismatch {
                seq: entry.seq,
                found: entry.prev,
                expected,
            });
        }
        let leaf = leaf_hash(bytes);
        self.frontier.push(leaf);
        self.last_leaf = Some(leaf);
        Ok(entry)
    }

    /// Number of entries verified so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Merkle root of the entries verified so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Leaf hash of the last entry, which the next entry must carry as `prev`.
    pub fn last_leaf_hash(&self) -> Hash {
        self.last_leaf.unwrap_or(ZERO_HASH)
    }

    /// The Merkle frontier of the entries verified so far.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Checks that `checkpoint` describes exactly the entries verified so far.
    pub fn check(&self, checkpoint: &Checkpoint) -> Result<(), VerifyError> {
        if checkpoint.size != self.size() {
            return Err(VerifyError::SizeMismatch {
                checkpoint: checkpoint.size,
                entries: self.size(),
            });
        }
        let computed = self.root();
        if checkpoint.root != computed {
            return Err(VerifyError::RootMismatch {
                size: self.size(),
                checkpoint: checkpoint.root,
                computed,
            });
        }
        Ok(())
    }
}

/// What a verified bundle proved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleReport {
    /// Number of entries.
    pub entries: u64,
    /// Their Merkle root, equal to the checkpoint's.
    pub root: Hash,
    /// The signed checkpoint they match.
    pub checkpoint: Checkpoint,
}

/// Verifies an exported bundle: `entries_jsonl` holds each entry's canonical bytes followed
/// by `\n`, and `checkpoint_note` must be signed by `key` and cover exactly those entries.
pub fn verify_bundle(
    entries_jsonl: &[u8],
    checkpoint_note: &str,
    key: &VerifierKey,
) -> Result<BundleReport, VerifyError> {
    // The signature first: without it nothing in the bundle is worth reporting on.
    let checkpoint = open_checkpoint(checkpoint_note, key)?;
    let mut chain = ChainVerifier::new();
    for line in entries_jsonl.split_inclusive(|&b| b == b'\n') {
        let bytes = line
            .strip_suffix(b"\n")
            .ok_or(VerifyError::MissingNewline { seq: chain.size() })?;
        chain.push(bytes)?;
    }
    chain.check(&checkpoint)?;
    Ok(BundleReport {
        entries: chain.size(),
        root: chain.root(),
        checkpoint,
    })
}
