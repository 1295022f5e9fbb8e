//! Digests that bind an approval to exactly one action.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jcs::{JcsError, canonicalize};

/// `sha256:` + lowercase hex SHA-256 of JCS({"env": env, "kind": kind, "payload": payload}).
///
/// Canonical JSON makes the digest independent of key order and whitespace, so whoever
/// approves and whoever executes compute the same value from the same action.
pub fn action_digest(env: &str, kind: &str, payload: &Value) -> Result<String, JcsError> {
    let mut action = Map::new();
    action.insert("env".into(), env.into());
    action.insert("kind".into(), kind.into());
    action.insert("payload".into(), payload.clone());
    let bytes = canonicalize(&Value::Object(action))?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn digest_of_the_canonical_action() {
        // Expected: printf '%s' '{"env":"prod","kind":"grant.add","payload":{"role":"admin","user":"bob"}}' | sha256sum
        let expected = "sha256:1a002549543301c70ee79063dfac0fb2c67300b52fbf65015ed58c21a87a09c7";
        let payload = json!({"user": "bob", "role": "admin"});
        assert_eq!(
            action_digest("prod", "grant.add", &payload).unwrap(),
            expected
        );
    }

    #[test]
    fn every_field_is_bound() {
        let payload = json!({"user": "bob"});
        let base = action_digest("prod", "grant.add", &payload).unwrap();
        assert_ne!(
            base,
            action_digest("staging", "grant.add", &payload).unwrap()
        );
        assert_ne!(
            base,
            action_digest("prod", "grant.remove", &payload).unwrap()
        );
        assert_ne!(
            base,
            action_digest("prod", "grant.add", &json!({"user": "eve"})).unwrap()
        );
        assert!(action_digest("prod", "x.y", &json!({"n": u64::MAX})).is_err());
    }
}
