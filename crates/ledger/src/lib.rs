//! The tamper-evident core of soxctl's audit ledger.
//!
//! Each ledger entry is an RFC 8785 canonical JSON object ([`entry`]) that names the leaf
//! hash of its predecessor. The leaf hashes form an RFC 9162 Merkle tree ([`tree`]), whose
//! head is published as a signed C2SP checkpoint ([`note`]). Inclusion and consistency
//! proofs ([`proof`]) let anyone check a single entry or the append-only history, and
//! [`bundle`] verifies an export offline with nothing but the log's public key.
//!
//! Everything here is pure: no IO, no clock, no randomness. Callers pass in bytes, times
//! and key seeds, which keeps every result reproducible by an auditor.

pub mod bundle;
pub mod digest;
pub mod entry;
pub mod jcs;
pub mod jws;
pub mod note;
pub mod proof;
pub mod tree;

pub use bundle::{BundleReport, ChainVerifier, VerifyError, verify_bundle};
pub use digest::action_digest;
pub use entry::{ENTRY_VERSION, Entry, EntryError, ZERO_HASH};
pub use jcs::JcsError;
pub use note::{Checkpoint, NoteError, SigningKey, VerifierKey, open_checkpoint};
pub use proof::{MemoryTree, ProofError, verify_consistency, verify_inclusion};
pub use tree::{EMPTY_ROOT, Frontier, FrontierError, Hash, NodeId, leaf_hash, node_hash};

/// Any error of this crate, for callers that propagate them together.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// See [`JcsError`].
    #[error(transparent)]
    Jcs(#[from] JcsError),
    /// See [`EntryError`].
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// See [`FrontierError`].
    #[error(transparent)]
    Frontier(#[from] FrontierError),
    /// See [`ProofError`].
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// See [`NoteError`].
    #[error(transparent)]
    Note(#[from] NoteError),
    /// See [`VerifyError`].
    #[error(transparent)]
    Verify(#[from] VerifyError),
}
