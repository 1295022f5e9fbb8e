//! Ed25519 note keys in the golang.org/x/mod/sumdb/note text encodings.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

use super::NoteError;

/// Signature type byte for Ed25519 (c2sp.org/signed-note, "Signature types").
const ALG_ED25519: u8 = 0x01;

/// A named Ed25519 signing key.
///
/// It has no `Display`, and its `Debug` omits the secret, so that formatting it into a
/// log line cannot leak it; [`SigningKey::to_string`] must be called deliberately.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

/// A named Ed25519 public key that checks note signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl SigningKey {
    /// Derives the key named `name` from a 32-byte Ed25519 seed. The caller supplies the
    /// randomness (this crate does no IO); use a CSPRNG.
    pub fn generate(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.splitn(5, '+');
        let (Some("PRIVATE"), Some("KEY"), Some(name), Some(id), Some(key)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(NoteError::MalformedKey {
                reason: "expected PRIVATE+KEY+<name>+<id>+<key>",
            });
        };
        let claimed = parse_key_id(id)?;
        let seed = decode_key(key)?;
        let signer = Self::generate(name, seed)?;
        // The id commits to the public key, so it can only be checked after deriving it.
        if signer.id != claimed {
            return Err(NoteError::KeyIdMismatch {
                claimed,
                computed: signer.id,
            });
        }
        Ok(signer)
    }

    /// The encoding [`SigningKey::parse`] reads. This is the secret: store it as one.
    #[expect(
        clippy::inherent_to_string,
        reason = "deliberately not Display, so a secret key never leaks through `{}`"
    )]
    pub fn to_string(&self) -> String {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(key)
        )
    }

    /// The key name, which is also the origin of the checkpoints it signs.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id carried in each signature.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `message` with the raw Ed25519 key (JWS, see `crate::jws`).
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The signature line for `text`: em dash, space, name, space, base64(id || signature).
    pub(super) fn signature_line(&self, text: &str) -> String {
        let mut sig = self.id.to_be_bytes().to_vec();
        sig.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        format!("\u{2014} {} {}\n", self.name, BASE64.encode(sig))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// Parses `<name>+<8 hex key id>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedKey {
                reason: "expected <name>+<id>+<key>",
            });
        };
        check_name(name)?;
        let claimed = parse_key_id(id)?;
        let public = decode_key(key)?;
        let computed = key_id(name, &public);
        if computed != claimed {
            return Err(NoteError::KeyIdMismatch { claimed, computed });
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::InvalidPublicKey)?;
        Ok(Self {
            name: name.to_owned(),
            id: claimed,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key id carried in each signature.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Whether `signature` signs `message` under the raw Ed25519 key (JWS).
    pub(crate) fn verifies_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify_strict(message, &sig).is_ok())
    }

    /// Whether `signature` (without the key id prefix) signs `text`.
    pub(super) fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify_strict(text.as_bytes(), &sig).is_ok())
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![ALG_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(key))
    }
}

/// SHA-256(name || "\n" || 0x01 || public key)[:4], big-endian (c2sp.org/signed-note).
fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name)
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Key names appear in signature lines and key strings, so they cannot hold the
/// separators used there (c2sp.org/signed-note: no Unicode spaces, no '+').
pub(super) fn check_name(name: &str) -> Result<(), NoteError> {
    let bad = |c: char| c.is_whitespace() || c == '+' || c < ' ';
    if name.is_empty() || name.contains(bad) {
        return Err(NoteError::BadKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn parse_key_id(text: &str) -> Result<u32, NoteError> {
    let is_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if text.len() != 8 || !text.bytes().all(is_hex) {
        return Err(NoteError::MalformedKey {
            reason: "key id is not 8 lowercase hex digits",
        });
    }
    u32::from_str_radix(text, 16).map_err(|_| NoteError::MalformedKey {
        reason: "key id is not 8 lowercase hex digits",
    })
}

/// Decodes base64(0x01 || 32 key bytes).
fn decode_key(text: &str) -> Result<[u8; 32], NoteError> {
    let bytes = BASE64.decode(text).map_err(|_| NoteError::MalformedKey {
        reason: "key is not standard base64",
    })?;
    match bytes.split_first() {
        Some((&ALG_ED25519, key)) => key
            .try_into()
            .map_err(|_| NoteError::KeyLength { found: key.len() }),
        Some((&other, _)) => Err(NoteError::UnsupportedAlgorithm { found: other }),
        None => Err(NoteError::MalformedKey {
            reason: "key is empty",
        }),
    }
}
