//! Signed tree heads: C2SP tlog-checkpoints in C2SP signed notes, with Ed25519 keys.
//!
//! The formats are those of c2sp.org/signed-note and c2sp.org/tlog-checkpoint (the Go
//! implementation is golang.org/x/mod/sumdb/note), so standard tooling can check them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::tree::Hash;

mod keys;

pub use keys::{SigningKey, VerifierKey};

/// Go's note.Open stops at 100 signatures; anything beyond is not a note we wrote.
const MAX_SIGNATURES: usize = 100;

/// A tree head: the log's origin, its size and its RFC 9162 root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Identity of the log; equal to the name of the key that signs it.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// MTH of those leaves.
    pub root: Hash,
}

/// What is wrong with a key, a note or a checkpoint.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    /// Key names are non-empty and free of spaces, control characters and `+`.
    #[error("key name {name:?} is empty or contains spaces, control characters or '+'")]
    BadKeyName {
        /// The name found.
        name: String,
    },
    /// The key text does not have the expected shape.
    #[error("malformed key: {reason}")]
    MalformedKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The key's type byte is not Ed25519's.
    #[error("key type byte is {found:#04x}; only 0x01 (Ed25519) is supported")]
    UnsupportedAlgorithm {
        /// The type byte found.
        found: u8,
    },
    /// The key is not 32 bytes.
    #[error("Ed25519 key is {found} bytes, expected 32")]
    KeyLength {
        /// The length found.
        found: usize,
    },
    /// The key id does not belong to the name and key.
    #[error("key id {claimed:08x} does not match the key, whose id is {computed:08x}")]
    KeyIdMismatch {
        /// The id written in the key text.
        claimed: u32,
        /// The id computed from name and public key.
        computed: u32,
    },
    /// The public key is not a valid curve point.
    #[error("public key is not a valid Ed25519 point")]
    InvalidPublicKey,
    /// The note does not follow c2sp.org/signed-note.
    #[error("malformed note: {reason}")]
    MalformedNote {
        /// What is wrong.
        reason: &'static str,
    },
    /// More signature lines than any note of ours carries.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature by the trusted key does not verify.
    #[error("signature by {key} does not verify")]
    InvalidSignature {
        /// `<name>+<key id>` of the trusted key.
        key: String,
    },
    /// No signature by the trusted key.
    #[error("note has no signature by {key}")]
    NoSignatureByKey {
        /// `<name>+<key id>` of the trusted key.
        key: String,
    },
    /// The checkpoint names a different log than the key signs for.
    #[error("checkpoint origin {origin:?} differs from the key name {key_name:?}")]
    OriginMismatch {
        /// The checkpoint's origin.
        origin: String,
        /// The key's name.
        key_name: String,
    },
    /// The checkpoint body is not exactly origin, size and root lines.
    #[error("checkpoint body has {found} lines, expected exactly 3 (origin, size, root)")]
    BodyLines {
        /// Lines found.
        found: usize,
    },
    /// The origin line is empty (or the origin would not fit on one line).
    #[error("checkpoint origin {found:?} is empty or contains control characters")]
    BadOrigin {
        /// The origin found.
        found: String,
    },
    /// The size line is not a decimal without leading zeros.
    #[error("checkpoint size {found:?} is not a decimal number without leading zeros")]
    BadSize {
        /// The line found.
        found: String,
    },
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root {found:?} is not the standard base64 of 32 bytes")]
    BadRoot {
        /// The line found.
        found: String,
    },
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a note text produced by [`Checkpoint::body`], and nothing looser: no extension
    /// lines, no leading zeros, no unpadded or non-canonical base64.
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(NoteError::BodyLines { found: lines.len() });
        };
        if !text.ends_with('\n') {
            return Err(NoteError::MalformedNote {
                reason: "text does not end with a newline",
            });
        }
        if origin.is_empty() || origin.contains(|c: char| c < ' ') {
            return Err(NoteError::BadOrigin {
                found: origin.to_owned(),
            });
        }
        let bad_size = || NoteError::BadSize {
            found: size.to_owned(),
        };
        let canonical_decimal =
            size == "0" || (!size.starts_with('0') && size.bytes().all(|c| c.is_ascii_digit()));
        if !canonical_decimal {
            return Err(bad_size());
        }
        let size = size.parse().map_err(|_| bad_size())?;
        let bad_root = || NoteError::BadRoot {
            found: root.to_owned(),
        };
        let decoded = BASE64.decode(root).map_err(|_| bad_root())?;
        let root_hash: Hash = decoded.try_into().map_err(|_| bad_root())?;
        // The decoder tolerates some alternative spellings; one root, one encoding.
        if BASE64.encode(root_hash) != root {
            return Err(bad_root());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root: root_hash,
        })
    }
}

impl SigningKey {
    /// The signed note for `checkpoint`: body, blank line, one signature line.
    ///
    /// The origin must be this key's name, so a key only ever vouches for its own log.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, NoteError> {
        if checkpoint.origin != self.name() {
            return Err(NoteError::OriginMismatch {
                origin: checkpoint.origin.clone(),
                key_name: self.name().to_owned(),
            });
        }
        let body = checkpoint.body();
        // Refuse to sign what open_checkpoint would refuse to read.
        Checkpoint::parse_body(&body)?;
        Ok(self.sign_note(&body))
    }

    /// Signs an arbitrary note text ending in a newline.
    pub(crate) fn sign_note(&self, text: &str) -> String {
        format!("{text}\n{}", self.signature_line(text))
    }
}

/// Verifies `note` against `key` and parses its checkpoint.
///
/// Signatures by other keys are ignored, as c2sp.org/signed-note requires (they may be
/// witnesses). The note is rejected if no signature by `key` is present or if any of them
/// fails to verify.
pub fn open_checkpoint(note: &str, key: &VerifierKey) -> Result<Checkpoint, NoteError> {
    let checkpoint = Checkpoint::parse_body(open_note(note, key)?)?;
    if checkpoint.origin != key.name() {
        return Err(NoteError::OriginMismatch {
            origin: checkpoint.origin,
            key_name: key.name().to_owned(),
        });
    }
    Ok(checkpoint)
}

/// Verifies the signatures of a note and returns its text (including the final newline).
pub(crate) fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, NoteError> {
    let malformed = |reason| NoteError::MalformedNote { reason };
    let key_label = || format!("{}+{:08x}", key.name(), key.key_id());
    // The spec's definition of control characters: below U+0020.
    if note.contains(|c: char| c < ' ' && c != '\n') {
        return Err(malformed("control character other than newline"));
    }
    // The text may contain blank lines; the last one separates it from the signatures.
    let split = note
        .rfind("\n\n")
        .ok_or(malformed("no blank line before the signatures"))?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(malformed(
            "signature block is empty or does not end with a newline",
        ));
    }

    let mut verified = false;
    for (count, line) in signatures.split_terminator('\n').enumerate() {
        if count == MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let line = line
            .strip_prefix("\u{2014} ")
            .ok_or(malformed("signature line does not start with an em dash"))?;
        let (name, encoded) = line
            .split_once(' ')
            .ok_or(malformed("signature line has no signature"))?;
        keys::check_name(name)?;
        let signature = BASE64
            .decode(encoded)
            .map_err(|_| malformed("signature is not standard base64"))?;
        let Some((id, signature)) = signature
            .split_first_chunk::<4>()
            .filter(|(_, sig)| !sig.is_empty())
        else {
            return Err(malformed("signature is shorter than 5 bytes"));
        };
        if name != key.name() || u32::from_be_bytes(*id) != key.key_id() {
            continue;
        }
        if !key.verifies(text, signature) {
            return Err(NoteError::InvalidSignature { key: key_label() });
        }
        verified = true;
    }
    if !verified {
        return Err(NoteError::NoSignatureByKey { key: key_label() });
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
