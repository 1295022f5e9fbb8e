//! The signing keys of one issuer: discovery → `jwks_uri` → JWK set,
//! fetched with [`crate::http::request`], cached for [`KEY_TTL_SECONDS`],
//! and fetched again early for an unknown key id at most once per
//! [`REFETCH_SECONDS`].
//!
//! Time is the `now` of the token being verified (a parameter, like the
//! rest of soxctl); a `now` that moved backwards counts as "cache stale",
//! so a clock step never keeps old keys longer.

use super::{IssuerConfig, OidcError};
use crate::http::{Call, Endpoint, request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long fetched keys are used without asking the issuer again.
pub const KEY_TTL_SECONDS: i64 = 10 * 60;

/// Fetches of one issuer's keys start at most this often, whatever the
/// tokens say: an attacker sending unknown key ids (or a down issuer)
/// cannot make soxctl hammer it.
pub const REFETCH_SECONDS: i64 = 30;

/// Keys kept from one key set; real ones publish two or three.
const MAX_KEYS: usize = 32;

/// A verification key and the one algorithm it is used with.
pub(super) struct Key {
    pub(super) alg: Algorithm,
    pub(super) key: DecodingKey,
}

/// Why a fetch gave no keys; kept to answer again within [`REFETCH_SECONDS`].
#[derive(Debug, Clone)]
pub(super) enum FetchError {
    /// No answer, or not a 200.
    Unreachable(String),
    /// An answer soxctl must not use.
    Unusable(String),
}

impl FetchError {
    pub(super) fn into_error(self, issuer: &str) -> OidcError {
        match self {
            Self::Unreachable(reason) => OidcError::IssuerUnreachable {
                issuer: issuer.to_owned(),
                reason,
            },
            Self::Unusable(reason) => OidcError::IssuerKeys {
                issuer: issuer.to_owned(),
                reason,
            },
        }
    }
}

#[derive(Default)]
pub(super) struct KeyCache {
    keys: HashMap<String, Arc<Key>>,
    /// When the keys were fetched (the `now` of that verification).
    fetched_at: Option<i64>,
    /// When a fetch last started, successful or not.
    attempted_at: Option<i64>,
    /// Why the last fetch failed, if it did.
    failure: Option<FetchError>,
}

/// `then` is within `window` seconds before `now`.
fn within(now: i64, then: Option<i64>, window: i64) -> bool {
    then.is_some_and(|t| (0..window).contains(&now.saturating_sub(t)))
}

/// One configured issuer and its key cache.
pub(super) struct Issuer {
    pub(super) config: IssuerConfig,
    /// `{issuer}/.well-known/openid-configuration`.
    discovery: Endpoint,
    /// The configured key set, instead of discovery's.
    jwks: Option<Endpoint>,
    /// One fetch at a time per issuer: verifications that need keys wait
    /// for the fetch under way instead of starting their own.
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Issuer {
    pub(super) fn new(config: IssuerConfig) -> Result<Issuer, String> {
        let issuer = &config.issuer;
        soxctl_model::pipeline::check_issuer_url(issuer).map_err(|e| format!("issuer {e}"))?;
        Endpoint::parse(issuer)?;
        if issuer.contains(['?', '#']) {
            return Err(format!(
                "issuer {issuer:?} has a query or fragment: give the `iss` of its tokens exactly"
            ));
        }
        let discovery = Endpoint::parse(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))?;
        let jwks = match &config.jwks_uri {
            Some(uri) => {
                soxctl_model::pipeline::check_issuer_url(uri)
                    .map_err(|e| format!("issuer {issuer:?}: jwks_uri {e}"))?;
                Some(Endpoint::parse(uri)?)
            }
            None => None,
        };
        Ok(Issuer {
            config,
            discovery,
            jwks,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        })
    }

    /// The key `kid` of this issuer, fetching the key set when the cache
    /// is stale or lacks it (and the rate limit allows).
    pub(super) async fn key(
        &self,
        kid: &str,
        now: i64,
        tls: &Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<Arc<Key>, OidcError> {
        let issuer = &self.config.issuer;
        let mut cache = self.cache.lock().await;
        let fresh = within(now, cache.fetched_at, KEY_TTL_SECONDS);
        if fresh && let Some(key) = cache.keys.get(kid) {
            return Ok(key.clone());
        }
        if within(now, cache.attempted_at, REFETCH_SECONDS) {
            // A fetch that succeeded this recently made the cache fresh:
            // the key set has no such kid yet.
            return Err(match &cache.failure {
                Some(failure) => failure.clone().into_error(issuer),
                None => unknown_kid(issuer, kid, true),
            });
        }
        cache.attempted_at = Some(now);
        match self.fetch(tls, timeout).await {
            Ok(keys) => {
                tracing::info!(
                    issuer = %issuer,
                    kids = ?keys.keys().collect::<Vec<_>>(),
                    "fetched the CI issuer's signing keys"
                );
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.failure = None;
            }
            Err(failure) => {
                tracing::warn!(issuer = %issuer, error = ?failure, "cannot fetch the CI issuer's signing keys");
                cache.failure = Some(failure.clone());
                return Err(failure.into_error(issuer));
            }
        }
        cache
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| unknown_kid(issuer, kid, false))
    }

    async fn fetch(
        &self,
        tls: &Arc<rustls::ClientConfig>,
        timeout: Duration,
    ) -> Result<HashMap<String, Arc<Key>>, FetchError> {
        let jwks = match &self.jwks {
            Some(endpoint) => endpoint.clone(),
            None => {
                let doc = get_json(&self.discovery, tls, timeout).await?;
                self.jwks_of(&doc)?
            }
        };
        let set = get_json(&jwks, tls, timeout).await?;
        parse_key_set(&set)
            .map_err(|e| FetchError::Unusable(format!("the key set at {}: {e}", jwks.describe())))
    }

    /// Discovery's `jwks_uri`, if it is for this issuer and on its origin.
    fn jwks_of(&self, doc: &Value) -> Result<Endpoint, FetchError> {
        let issuer = &self.config.issuer;
        let unusable = |what: String| {
            FetchError::Unusable(format!(
                "its discovery document ({}) {what}",
                self.discovery.describe()
            ))
        };
        let stated = doc.get("issuer").and_then(Value::as_str);
        if stated != Some(issuer.as_str()) {
            return Err(unusable(format!(
                "names issuer {stated:?}, not {issuer:?}: configure the issuer exactly as its tokens' `iss`"
            )));
        }
        let Some(uri) = doc.get("jwks_uri").and_then(Value::as_str) else {
            return Err(unusable("has no `jwks_uri`".into()));
        };
        let endpoint = Endpoint::parse(uri).map_err(unusable)?;
        if endpoint.describe() != self.discovery.describe() {
            return Err(unusable(format!(
                "puts the keys at {}, not on the issuer's own host {}: if that is right, set this issuer's jwks_uri to it",
                endpoint.describe(),
                self.discovery.describe()
            )));
        }
        Ok(endpoint)
    }
}

fn unknown_kid(issuer: &str, kid: &str, rate_limited: bool) -> OidcError {
    OidcError::UnknownKeyId {
        issuer: issuer.to_owned(),
        kid: shown(kid),
        rate_limited,
    }
}

/// At most 64 characters of untrusted text, for messages.
pub(super) fn shown(text: &str) -> String {
    let mut cut: String = text.chars().take(64).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

async fn get_json(
    endpoint: &Endpoint,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<Value, FetchError> {
    let headers = [("accept", "application/json".to_owned())];
    let call = Call {
        method: hyper::Method::GET,
        path: None,
        headers: &headers,
        body: None,
    };
    let reply = request(endpoint, tls, call, timeout)
        .await
        .map_err(|e| FetchError::Unreachable(e.to_string()))?;
    if reply.status != 200 {
        return Err(FetchError::Unreachable(format!(
            "{}{} answered {}",
            endpoint.describe(),
            endpoint.path(),
            reply.status
        )));
    }
    serde_json::from_slice(&reply.body).map_err(|e| {
        FetchError::Unusable(format!(
            "{}{} did not answer JSON ({e})",
            endpoint.describe(),
            endpoint.path()
        ))
    })
}

/// The RS256 and ES256 signing keys with a `kid` of a JWK set; others
/// (encryption keys, other algorithms) are left out.
fn parse_key_set(set: &Value) -> Result<HashMap<String, Arc<Key>>, String> {
    let Some(list) = set.get("keys").and_then(Value::as_array) else {
        return Err("has no `keys` list".into());
    };
    let mut keys = HashMap::new();
    for jwk in list.iter().take(MAX_KEYS) {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        let Some(kid) = text("kid") else { continue };
        if text("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let key = match (text("kty"), text("alg")) {
            (Some("RSA"), None | Some("RS256")) => match (text("n"), text("e")) {
                (Some(n), Some(e)) => DecodingKey::from_rsa_components(n, e)
                    .ok()
                    .map(|key| (Algorithm::RS256, key)),
                _ => None,
            },
            (Some("EC"), None | Some("ES256")) if text("crv") == Some("P-256") => {
                match (text("x"), text("y")) {
                    // Each coordinate is 32 bytes; ring sees only 0x04‖x‖y.
                    (Some(x), Some(y)) if coordinate(x) && coordinate(y) => {
                        DecodingKey::from_ec_components(x, y)
                            .ok()
                            .map(|key| (Algorithm::ES256, key))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some((alg, key)) = key {
            keys.insert(kid.to_owned(), Arc::new(Key { alg, key }));
        }
    }
    if keys.is_empty() {
        return Err("holds no RS256 or ES256 signing key with a `kid`".into());
    }
    Ok(keys)
}

/// A P-256 coordinate: 32 bytes, base64url.
fn coordinate(text: &str) -> bool {
    URL_SAFE_NO_PAD.decode(text).is_ok_and(|b| b.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_usable_signing_keys() {
        let p256 = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let set = json!({"keys": [
            {"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": p256, "y": p256},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": "AQAB", "y": p256},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": p256, "y": p256},
        ]});
        let keys = parse_key_set(&set).unwrap();
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["a", "ec"]);
        assert_eq!(keys["a"].alg, Algorithm::RS256);
        assert_eq!(keys["ec"].alg, Algorithm::ES256);
        assert!(parse_key_set(&json!({"keys": [{"kty": "oct", "kid": "x", "k": "eA"}]})).is_err());
        assert!(parse_key_set(&json!([])).is_err());
    }

    #[test]
    fn windows() {
        assert!(within(100, Some(100), 30));
        assert!(within(129, Some(100), 30));
        assert!(!within(130, Some(100), 30));
        assert!(!within(99, Some(100), 30));
        assert!(!within(100, None, 30));
    }
}
