//! Personal data in the ledger is sealed under a per-person key that lives
//! outside the ledger (crypto-shredding): erase the key and the data is gone,
//! while every hash and signature over the ledger still verifies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;
pub type PersonKey = [u8; KEY_LEN];
/// Which of a person's keys sealed a field: the ledger size when the key was
/// made. A person has one live key at a time; erasure deletes it, and a
/// person who reappears later gets a new key with a larger id, so entries
/// sealed before the erasure stay unreadable while later ones open.
pub type KeyId = u64;

/// A sealed text field as it appears in a ledger payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Algorithm, so that a later key rotation can change it without ambiguity.
    pub alg: String,
    /// The key's id ([`KeyId`]); its key lives outside the ledger.
    pub kid: KeyId,
    pub nonce: String,
    pub ct: String,
}

const ALG: &str = "xchacha20poly1305";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed field uses unknown algorithm '{0}'")]
    Algorithm(String),
    #[error("sealed field is not valid base64 or has a wrong nonce length")]
    Encoding,
    #[error(
        "sealed field does not open with this person's key (tampered, or sealed for another field)"
    )]
    Open,
}

/// Seals `plaintext`; `context` (e.g. `person:p1:name`) is authenticated so a
/// ciphertext cannot be moved to another person or field.
pub fn seal(
    key: &PersonKey,
    kid: KeyId,
    nonce: [u8; NONCE_LEN],
    context: &str,
    plaintext: &str,
) -> Result<Sealed, SealError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext.as_bytes(),
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| SealError::Open)?;
    Ok(Sealed {
        alg: ALG.to_owned(),
        kid,
        nonce: B64.encode(nonce),
        ct: B64.encode(ct),
    })
}

pub fn open(key: &PersonKey, context: &str, sealed: &Sealed) -> Result<String, SealError> {
    if sealed.alg != ALG {
        return Err(SealError::Algorithm(sealed.alg.clone()));
    }
    let nonce = B64.decode(&sealed.nonce).map_err(|_| SealError::Encoding)?;
    if nonce.len() != NONCE_LEN {
        return Err(SealError::Encoding);
    }
    let ct = B64.decode(&sealed.ct).map_err(|_| SealError::Encoding)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: context.as_bytes(),
            },
        )
        .map_err(|_| SealError::Open)?;
    String::from_utf8(plain).map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_context() {
        let key = [7u8; KEY_LEN];
        let sealed = seal(&key, 3, [1u8; NONCE_LEN], "person:p1:name", "Ada Lovelace").unwrap();
        assert_eq!(sealed.kid, 3);
        assert_eq!(
            open(&key, "person:p1:name", &sealed).unwrap(),
            "Ada Lovelace"
        );
        assert_eq!(open(&key, "person:p2:name", &sealed), Err(SealError::Open));
        assert_eq!(
            open(&[8u8; KEY_LEN], "person:p1:name", &sealed),
            Err(SealError::Open)
        );
    }
}
