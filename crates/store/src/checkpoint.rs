//! Signing checkpoints without becoming the attacker's notary.
//!
//! The threat model (DESIGN A2) gives the attacker write access to the
//! database. A signer that signed whatever root the `ledger_head` row holds
//! would sign a rewritten ledger. So before signing, the signer proves that
//! the new head extends the newest checkpoint it has reason to trust: the one
//! this process signed last, the witness file kept beside the signing key
//! (outside the database), and the newest stored checkpoint that carries a
//! valid signature. If the proof fails it refuses and says why.

use crate::error::{Result, StoreError};
use crate::{Store, StoredCheckpoint};
use soxctl_ledger::note::{self, Checkpoint, NoteError, SigningKey, VerifierKey};
use soxctl_ledger::proof;
use std::path::{Path, PathBuf};

/// What the signer trusts, per process.
#[derive(Debug, Default)]
pub struct Witness {
    file: Option<PathBuf>,
    /// The key the witness file is signed with (set with the file).
    verifier: Option<VerifierKey>,
    last: Option<Checkpoint>,
}

/// Why a witness file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a checkpoint signed by this key: {source}", path.display())]
    NotSigned { path: PathBuf, source: NoteError },
}

/// Reads a witness file: the newest note its signer signed, opened with
/// `key`. `None` when there is no file. The signer and `verify` both read
/// it through here.
pub fn read_witness(file: &Path, key: &VerifierKey) -> Result<Option<Checkpoint>, WitnessError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(WitnessError::Io {
                path: file.to_owned(),
                source,
            });
        }
    };
    note::open_checkpoint(&text, key)
        .map(Some)
        .map_err(|source| WitnessError::NotSigned {
            path: file.to_owned(),
            source,
        })
}

/// The witness file for a signing key: the latest signed note, beside the key.
pub fn witness_path(signing_key: &Path) -> PathBuf {
    let mut name = signing_key
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".checkpoint");
    signing_key.with_file_name(name)
}

fn refuse(reason: String) -> StoreError {
    StoreError::Tampered(format!(
        "refusing to sign a checkpoint: {reason}; run `soxctl verify` and restore from backup"
    ))
}

impl Store {
    /// Keeps the newest signed note in `file` (outside the database) and
    /// trusts the one already there.
    pub fn set_checkpoint_witness(&self, file: PathBuf, key: &SigningKey) -> Result<()> {
        let verifier = key.verifier();
        let known = read_witness(&file, &verifier).map_err(|e| match e {
            WitnessError::Io { path, source } => StoreError::Io { path, source },
            not_signed @ WitnessError::NotSigned { .. } => {
                StoreError::SigningKey(not_signed.to_string())
            }
        })?;
        let mut witness = self.witness();
        witness.last = newer(witness.last.take(), known);
        witness.file = Some(file);
        witness.verifier = Some(verifier);
        Ok(())
    }

    fn witness(&self) -> std::sync::MutexGuard<'_, Witness> {
        match self.context().witness.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Signs a checkpoint covering the current head unless one already
    /// does, after proving the head extends every checkpoint it trusts.
    pub async fn sign_checkpoint(&self, key: &SigningKey) -> Result<Option<StoredCheckpoint>> {
        let verifier = key.verifier();
        let latest = self.latest_checkpoint().await?;
        let stored = match &latest {
            Some(c) => Some(note::open_checkpoint(&c.note, &verifier).map_err(|e| {
                refuse(format!(
                    "the stored checkpoint at size {} does not verify with this key ({e})",
                    c.size
                ))
            })?),
            None => None,
        };
        let remembered = self.witness().last.clone();
        let trusted = newer(remembered, stored.clone());
        // The head is read after what we trust: checkpoints are only stored
        // after their entries commit, so another replica signing meanwhile
        // cannot make an honest head look older than a checkpoint.
        let head = self.head().await?;
        let root = head.frontier.root();
        if let Some(t) = &trusted {
            if t.size > head.size {
                return Err(refuse(format!(
                    "the ledger holds {} entries but checkpoint {} covers {}: truncated or rolled back",
                    head.size, t.origin, t.size
                )));
            }
            if t.size == head.size && t.root != root {
                return Err(refuse(format!(
                    "the ledger's root at size {} differs from the signed one",
                    t.size
                )));
            }
            if t.size > 0 && t.size < head.size {
                let hashes = self.consistency_proof(t.size, head.size).await?;
                proof::verify_consistency(t.size, head.size, &hashes, &t.root, &root).map_err(
                    |e| {
                        refuse(format!(
                            "the ledger does not extend the checkpoint at size {}: {e}",
                            t.size
                        ))
                    },
                )?;
            }
        }
        if head.size == 0 {
            return Ok(None);
        }
        if let (Some(latest), Some(opened)) = (latest, stored)
            && latest.size == head.size
        {
            self.remember(&latest.note, opened)?;
            return Ok(Some(latest));
        }
        let meta = self
            .meta()
            .await?
            .ok_or_else(|| StoreError::Head("store is not initialised".into()))?;
        let checkpoint = Checkpoint {
            origin: meta.origin,
            size: head.size,
            root,
        };
        let note = key
            .sign_checkpoint(&checkpoint)
            .map_err(|e| StoreError::SigningKey(e.to_string()))?;
        let signed_at = self.context().clock.now().to_canonical();
        with_conn!(self, |conn, m| m::ledger::insert_checkpoint(
            conn, head.size, &root, &note, &signed_at
        )
        .await)?;
        self.remember(&note, checkpoint)?;
        Ok(Some(StoredCheckpoint {
            size: head.size,
            root,
            note,
            signed_at,
        }))
    }

    fn remember(&self, note: &str, checkpoint: Checkpoint) -> Result<()> {
        let mut witness = self.witness();
        if witness
            .last
            .as_ref()
            .is_some_and(|l| l.size >= checkpoint.size)
        {
            return Ok(());
        }
        let size = checkpoint.size;
        witness.last = Some(checkpoint);
        if let Some(file) = witness.file.clone() {
            // Another process (a CLI command beside the server) may share the
            // key: never move the witness backwards, and write through a
            // private temp file then rename, so it is never torn.
            if let Some(verifier) = &witness.verifier
                && let Ok(Some(kept)) = read_witness(&file, verifier)
                && kept.size >= size
            {
                return Ok(());
            }
            let tmp = file.with_extension(format!("checkpoint.{}.tmp", std::process::id()));
            let io = |source| StoreError::Io {
                path: file.clone(),
                source,
            };
            // As private as the key beside it: whoever can write the witness
            // can roll it back to an older note.
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(&mut options.open(&tmp).map_err(io)?, note.as_bytes())
                .map_err(io)?;
            std::fs::rename(&tmp, &file).map_err(io)?;
        }
        Ok(())
    }
}

fn newer(a: Option<Checkpoint>, b: Option<Checkpoint>) -> Option<Checkpoint> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.size > a.size { b } else { a }),
        (a, b) => a.or(b),
    }
}
