//! Execution tokens as compact JWS (RFC 7515) signed with EdDSA over
//! Ed25519 (RFC 8037), under the store's checkpoint key, so anyone holding
//! the published verifier key checks a token offline with any JOSE library.
//!
//! Why the checkpoint key and not a second one: auditors already hold and
//! trust it, and the two uses cannot be confused. A note's signed text is
//! lines ending in a newline; a JWS signing input is
//! `base64url(header) "." base64url(payload)`, which has no newline, so no
//! signature made for one is valid for the other.
//!
//! Why not a JOSE crate: the compact form with one fixed algorithm is a
//! few lines over `ed25519-dalek` (already here); the general crates bring
//! key formats (PKCS#8 DER) and algorithm negotiation we must then refuse.
//! The code is checked against the RFC 8037 test vector. Only `alg: EdDSA`
//! is accepted, so the "alg: none" and algorithm-confusion attacks on JWS
//! cannot apply.

use crate::note::{SigningKey, VerifierKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value};

/// The `typ` of soxctl execution tokens.
pub const TOKEN_TYPE: &str = "soxctl-exec+jwt";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS (three base64url parts separated by dots)")]
    Form,
    #[error("the JWS header is not a JSON object with alg \"EdDSA\"")]
    Header,
    #[error("the JWS was signed by key '{found}', not by this store's key '{expected}'")]
    Key { expected: String, found: String },
    #[error("the JWS signature does not verify: the token was altered or signed by another key")]
    Signature,
    #[error("the JWS payload is not a JSON object")]
    Payload,
}

/// The `kid` header: the verifier key's name and id, as the C2SP note key
/// names them (`<name>+<8 hex>`).
fn kid(name: &str, id: u32) -> String {
    format!("{name}+{id:08x}")
}

/// `header.payload.signature` over the given header and payload bytes.
fn sign_compact(key: &SigningKey, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let signature = key.sign_raw(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

/// Signs `claims` as a compact JWS with `alg: EdDSA`, `typ` and `kid`.
pub fn sign(key: &SigningKey, claims: &Map<String, Value>) -> String {
    let header = serde_json::json!({
        "alg": "EdDSA",
        "typ": TOKEN_TYPE,
        "kid": kid(key.name(), key.key_id()),
    });
    // Serialising maps of plain JSON values cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    sign_compact(key, &header, &payload)
}

/// The claims of `token` if `key` signed it (EdDSA only). Expiry and the
/// claims' meaning are the caller's to check.
pub fn verify(key: &VerifierKey, token: &str) -> Result<Map<String, Value>, JwsError> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Form);
    };
    let decode = |part: &str| B64.decode(part).map_err(|_| JwsError::Form);
    let header_json: Map<String, Value> =
        serde_json::from_slice(&decode(header)?).map_err(|_| JwsError::Header)?;
    if header_json.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(JwsError::Header);
    }
    if let Some(found) = header_json.get("kid").and_then(Value::as_str) {
        let expected = kid(key.name(), key.key_id());
        if found != expected {
            return Err(JwsError::Key {
                expected,
                found: found.to_owned(),
            });
        }
    }
    let input = format!("{header}.{payload}");
    if !key.verifies_raw(input.as_bytes(), &decode(signature)?) {
        return Err(JwsError::Signature);
    }
    serde_json::from_slice(&decode(payload)?).map_err(|_| JwsError::Payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate("test.example/ledger", [7; 32]).unwrap()
    }

    #[test]
    fn rfc8037_ed25519_test_vector() {
        // RFC 8037 appendix A.1 (private key) and A.4 (signing "Example of
        // Ed25519 signing" with header {"alg":"EdDSA"}).
        let seed: [u8; 32] = B64
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SigningKey::generate("rfc8037", seed).unwrap();
        let token = sign_compact(&key, br#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing");
        assert_eq!(
            token,
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.\
             hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        let key = key();
        let mut claims = Map::new();
        claims.insert("action_digest".into(), "sha256:ab".into());
        claims.insert("exp".into(), 1_900_000_000_u64.into());
        let token = sign(&key, &claims);
        assert_eq!(verify(&key.verifier(), &token).unwrap(), claims);

        // Another payload under the same signature.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = B64.encode(br#"{"action_digest":"sha256:cd","exp":1900000000}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(&key.verifier(), &forged), Err(JwsError::Signature));

        // alg none, or anything but EdDSA, is refused before any signature check.
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(verify(&key.verifier(), &none), Err(JwsError::Header));

        // Another key.
        let other = SigningKey::generate("test.example/ledger", [8; 32]).unwrap();
        assert!(matches!(
            verify(&other.verifier(), &token),
            Err(JwsError::Key { .. })
        ));
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert!(verify(&key.verifier(), bad).is_err(), "{bad}");
        }
    }
}
