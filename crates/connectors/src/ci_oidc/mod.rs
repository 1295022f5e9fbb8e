//! Verifies the OIDC ID tokens CI systems give their jobs (GitHub Actions
//! `id-token`, GitLab CI `id_tokens`), so that the change gate trusts the
//! CI system's signature instead of anything a pipeline says about itself.
//!
//! [`OidcVerifier::verify`] checks, in order: the token's size and shape;
//! its algorithm (RS256 or ES256 only: never `none` or HMAC, whose "key"
//! a verifier would have to take from somewhere public); that its `iss` is
//! a configured issuer; its signature under the issuer's key named by
//! `kid` (keys from the issuer's JWKS, see [`keys`]); `iss` again, now
//! signed; that `aud` holds the expected audience; `exp`, `nbf` and `iat`
//! against the `now` the caller passes, with [`LEEWAY_SECONDS`]. The
//! claims then become [`CiClaims`], which a
//! [`soxctl_model::pipeline::PipelineTrust`] admits or refuses.
//!
//! Keys come only from the configured issuer's own key set: the token's
//! `jku`, `x5u` and `jwk` headers are never followed. Neither the token
//! nor its claims are logged.
//!
//! JWS verification is jsonwebtoken's (ring underneath); this module
//! reads the header and the issuer before that only to choose the key.

mod keys;

pub use keys::{KEY_TTL_SECONDS, REFETCH_SECONDS};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use keys::{Issuer, shown};
use serde::Deserialize;
use serde_json::{Map, Value};
use soxctl_model::pipeline::{CiClaims, ClaimsError, PipelineTrust, Platform};
use std::sync::Arc;
use std::time::Duration;

/// Longest token read: GitHub's and GitLab's are about 1–2 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Clock difference tolerated between soxctl and the issuer.
pub const LEEWAY_SECONDS: i64 = 60;

/// Per-request timeout of discovery and key set fetches.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One issuer whose tokens soxctl verifies.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` of its tokens, exactly: `https://token.actions.githubusercontent.com`,
    /// `https://gitlab.com`, `https://gitlab.example.com`.
    pub issuer: String,
    /// Which claims its tokens carry.
    pub platform: Platform,
    /// Where its keys are, when not where its discovery document says;
    /// discovery's `jwks_uri` must be on the issuer's own origin.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

impl IssuerConfig {
    pub fn new(issuer: impl Into<String>, platform: Platform) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.into(),
            platform,
            jwks_uri: None,
        }
    }

    /// The issuers of `trusts`, once each; an issuer named for two
    /// platforms is an error.
    pub fn of_trusts(trusts: &[PipelineTrust]) -> Result<Vec<IssuerConfig>, String> {
        let mut issuers: Vec<IssuerConfig> = Vec::new();
        for trust in trusts {
            match issuers.iter().find(|i| i.issuer == trust.issuer) {
                Some(known) if known.platform != trust.platform => {
                    return Err(format!(
                        "pipeline trust {:?} says issuer {:?} is {}, another entry says {}: one issuer mints one platform's tokens",
                        trust.id, trust.issuer, trust.platform, known.platform
                    ));
                }
                Some(_) => {}
                None => issuers.push(IssuerConfig::new(trust.issuer.clone(), trust.platform)),
            }
        }
        Ok(issuers)
    }
}

/// Why a token was refused. No message holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error(
        "the token is {len} bytes, more than the {max} soxctl reads: send the CI system's ID token itself"
    )]
    TooLarge { len: usize, max: usize },
    #[error(
        "the token is not a signed JWT ({reason}): send the ID token exactly as the CI system issued it"
    )]
    Malformed { reason: String },
    #[error(
        "the token is signed with {alg:?}, which soxctl refuses (it accepts RS256 and ES256, which GitHub and GitLab use): send an ID token from the CI system's OIDC issuer"
    )]
    UnsupportedAlgorithm { alg: String },
    #[error(
        "the token's header names no key (`kid`): send an ID token from the CI system's OIDC issuer, whose tokens all name one"
    )]
    MissingKeyId,
    #[error(
        "the token is from issuer {seen:?}, which soxctl does not trust (it trusts {configured:?}): configure that issuer if its pipelines should deploy, or make the pipeline ask its own CI system for the token"
    )]
    UnknownIssuer {
        seen: String,
        configured: Vec<String>,
    },
    #[error(
        "issuer {issuer:?} publishes no key {kid:?}{}: the token was not signed by that issuer, or its keys just rotated (soxctl fetches them again at most every {REFETCH_SECONDS} s, so retry in a minute)",
        if *rate_limited { " (its key set was fetched moments ago)" } else { "" }
    )]
    UnknownKeyId {
        issuer: String,
        kid: String,
        rate_limited: bool,
    },
    #[error(
        "cannot fetch the signing keys of issuer {issuer:?}: {reason}: check that soxctl can reach it (DNS, proxy, firewall, TLS roots); soxctl tries again after {REFETCH_SECONDS} s"
    )]
    IssuerUnreachable { issuer: String, reason: String },
    #[error(
        "issuer {issuer:?} gave no usable signing keys: {reason}; check that it is the CI system's OIDC issuer (soxctl tries again after {REFETCH_SECONDS} s)"
    )]
    IssuerKeys { issuer: String, reason: String },
    #[error(
        "the token says {token_alg:?} but issuer {issuer:?}'s key {kid:?} is for {key_alg:?}: the token was not signed by that issuer"
    )]
    AlgorithmMismatch {
        issuer: String,
        kid: String,
        key_alg: String,
        token_alg: String,
    },
    #[error(
        "the token's signature does not verify under issuer {issuer:?}'s key {kid:?}: it was not signed by that issuer, or was altered after; send the token as issued"
    )]
    BadSignature { issuer: String, kid: String },
    #[error(
        "the token is for audience {seen:?}, not {expected:?}: request the ID token for audience {expected:?} (GitHub: core.getIDToken(\"{expected}\") or the audience input of your action; GitLab: `aud: {expected}` under id_tokens)"
    )]
    WrongAudience { expected: String, seen: Vec<String> },
    #[error(
        "the token has no expiry (`exp`): soxctl accepts only tokens that expire, as CI ID tokens do"
    )]
    MissingExpiry,
    #[error(
        "the token expired at {exp} (unix time), {} s before now ({now}), beyond the {LEEWAY_SECONDS} s leeway: request a fresh token right before calling soxctl",
        now.saturating_sub(*exp)
    )]
    Expired { exp: i64, now: i64 },
    #[error(
        "the token is not valid before {not_before} (unix time, its `{claim}`), and now is {now}: check the clocks of soxctl and of the CI system"
    )]
    NotYetValid {
        claim: &'static str,
        not_before: i64,
        now: i64,
    },
    #[error(transparent)]
    Claims(#[from] ClaimsError),
}

/// The header and issuer of a token, read before its signature is checked
/// only to choose the key.
struct Unverified {
    alg: Algorithm,
    kid: String,
    iss: String,
}

fn malformed(reason: impl Into<String>) -> OidcError {
    OidcError::Malformed {
        reason: reason.into(),
    }
}

/// A JSON object from one base64url part of the token.
fn part(text: &str, name: &str) -> Result<Map<String, Value>, OidcError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| malformed(format!("its {name} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(malformed(format!("its {name} is not a JSON object"))),
    }
}

impl Unverified {
    fn read(jwt: &str) -> Result<Unverified, OidcError> {
        if jwt.len() > MAX_TOKEN_BYTES {
            return Err(OidcError::TooLarge {
                len: jwt.len(),
                max: MAX_TOKEN_BYTES,
            });
        }
        let parts: Vec<&str> = jwt.split('.').collect();
        let base64url = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if parts.len() != 3 || !parts.iter().all(|p| base64url(p)) {
            return Err(malformed(
                "expected three base64url parts separated by dots",
            ));
        }
        let header = part(parts[0], "header")?;
        let alg = match header.get("alg").and_then(Value::as_str) {
            Some("RS256") => Algorithm::RS256,
            Some("ES256") => Algorithm::ES256,
            Some(other) => {
                return Err(OidcError::UnsupportedAlgorithm { alg: shown(other) });
            }
            None => return Err(malformed("its header names no `alg`")),
        };
        if header.contains_key("crit") {
            return Err(malformed(
                "its header has critical extensions (`crit`), which soxctl does not know",
            ));
        }
        let kid = match header.get("kid").and_then(Value::as_str) {
            Some(kid) if !kid.is_empty() => kid.to_owned(),
            _ => return Err(OidcError::MissingKeyId),
        };
        if parts[2].is_empty() {
            return Err(malformed("it has no signature"));
        }
        let claims = part(parts[1], "payload")?;
        let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
            return Err(malformed("it names no issuer (`iss`)"));
        };
        Ok(Unverified {
            alg,
            kid,
            iss: iss.to_owned(),
        })
    }
}

/// A whole-second time claim; none when absent.
fn time(claims: &Map<String, Value>, claim: &str) -> Result<Option<i64>, OidcError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(value) => match value.as_i64() {
            Some(t) => Ok(Some(t)),
            None => match value.as_f64() {
                // NumericDate may have a fraction; whole seconds suffice.
                Some(t) if t.is_finite() && t.abs() < 1e15 => Ok(Some(t.floor() as i64)),
                _ => Err(malformed(format!("its `{claim}` is not a time"))),
            },
        },
    }
}

/// Checks the signed claims other than the key: issuer, audience, times.
fn check_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<(), OidcError> {
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(issuer) {
        return Err(OidcError::UnknownIssuer {
            seen: shown(iss.unwrap_or_default()),
            configured: vec![issuer.to_owned()],
        });
    }
    let seen: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !seen.contains(&audience) {
        return Err(OidcError::WrongAudience {
            expected: audience.to_owned(),
            seen: seen.iter().take(8).map(|a| shown(a)).collect(),
        });
    }
    let Some(exp) = time(claims, "exp")? else {
        return Err(OidcError::MissingExpiry);
    };
    if now > exp.saturating_add(LEEWAY_SECONDS) {
        return Err(OidcError::Expired { exp, now });
    }
    for claim in ["nbf", "iat"] {
        if let Some(not_before) = time(claims, claim)?
            && not_before > now.saturating_add(LEEWAY_SECONDS)
        {
            return Err(OidcError::NotYetValid {
                claim,
                not_before,
                now,
            });
        }
    }
    Ok(())
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// Verifies CI ID tokens of the configured issuers; share one per process
/// (it holds their key caches).
pub struct OidcVerifier {
    issuers: Vec<Issuer>,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl OidcVerifier {
    /// A verifier for `issuers`, fetching their keys over `tls` (see
    /// [`crate::tls::client_config`]). Checks the configuration; fetches
    /// nothing yet.
    pub fn new(
        issuers: Vec<IssuerConfig>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<OidcVerifier, String> {
        let mut built: Vec<Issuer> = Vec::new();
        for config in issuers {
            if built.iter().any(|i| i.config.issuer == config.issuer) {
                return Err(format!(
                    "issuer {:?} is configured twice: keep one entry",
                    config.issuer
                ));
            }
            built.push(Issuer::new(config)?);
        }
        Ok(OidcVerifier {
            issuers: built,
            tls,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Bounds each discovery and key set request (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> OidcVerifier {
        self.timeout = timeout;
        self
    }

    /// The configured issuers' `iss` values.
    pub fn issuers(&self) -> Vec<String> {
        self.issuers
            .iter()
            .map(|i| i.config.issuer.clone())
            .collect()
    }

    /// The claims of `jwt` if it is a valid token of a configured issuer for
    /// `expected_audience` at `now_unix` (seconds).
    pub async fn verify(
        &self,
        jwt: &str,
        expected_audience: &str,
        now_unix: i64,
    ) -> Result<CiClaims, OidcError> {
        let (platform, claims) = self.verify_raw(jwt, expected_audience, now_unix).await?;
        Ok(CiClaims::from_jwt_claims(platform, &claims)?)
    }

    /// As [`OidcVerifier::verify`], but the verified claims as they are
    /// (e.g. `jti`, for refusing a token twice) with the issuer's platform.
    pub async fn verify_raw(
        &self,
        jwt: &str,
        expected_audience: &str,
        now_unix: i64,
    ) -> Result<(Platform, Map<String, Value>), OidcError> {
        let token = Unverified::read(jwt)?;
        let Some(issuer) = self.issuers.iter().find(|i| i.config.issuer == token.iss) else {
            return Err(OidcError::UnknownIssuer {
                seen: shown(&token.iss),
                configured: self.issuers(),
            });
        };
        let name = &issuer.config.issuer;
        let key = issuer
            .key(&token.kid, now_unix, &self.tls, self.timeout)
            .await?;
        if key.alg != token.alg {
            return Err(OidcError::AlgorithmMismatch {
                issuer: name.clone(),
                kid: shown(&token.kid),
                key_alg: alg_name(key.alg),
                token_alg: alg_name(token.alg),
            });
        }
        let mut validation = Validation::new(key.alg);
        // Times, issuer and audience are checked below, against the `now`
        // passed in (jsonwebtoken would read the system clock).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Map<String, Value>>(jwt, &key.key, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::Crypto(_) => OidcError::BadSignature {
                    issuer: name.clone(),
                    kid: shown(&token.kid),
                },
                ErrorKind::InvalidAlgorithm => OidcError::AlgorithmMismatch {
                    issuer: name.clone(),
                    kid: shown(&token.kid),
                    key_alg: alg_name(key.alg),
                    token_alg: alg_name(token.alg),
                },
                // Its Display never holds the token.
                _ => malformed(e.to_string()),
            },
        )?;
        check_claims(&data.claims, name, expected_audience, now_unix)?;
        Ok((issuer.config.platform, data.claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(m) => m,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn time_claims_with_leeway() {
        let base = |exp: Value, extra: Value| {
            let mut c = claims(json!({"iss": "https://i", "aud": ["x", "soxctl"], "exp": exp}));
            c.extend(claims(extra));
            check_claims(&c, "https://i", "soxctl", 1000)
        };
        assert_eq!(base(json!(1000), json!({})), Ok(()));
        assert_eq!(base(json!(940), json!({})), Ok(()));
        assert_eq!(
            base(json!(939), json!({})),
            Err(OidcError::Expired {
                exp: 939,
                now: 1000
            })
        );
        assert_eq!(base(json!(2000.5), json!({"nbf": 1060.9})), Ok(()));
        assert!(matches!(
            base(json!(2000), json!({"nbf": 1061})),
            Err(OidcError::NotYetValid { claim: "nbf", .. })
        ));
        assert!(matches!(
            base(json!(2000), json!({"iat": 1061})),
            Err(OidcError::NotYetValid { claim: "iat", .. })
        ));
        assert!(matches!(
            base(json!("soon"), json!({})),
            Err(OidcError::Malformed { .. })
        ));
        assert!(matches!(
            base(json!(i64::MAX), json!({"nbf": i64::MIN})),
            Ok(())
        ));
        let mut no_exp = claims(json!({"iss": "https://i", "aud": "soxctl"}));
        assert_eq!(
            check_claims(&no_exp, "https://i", "soxctl", 0),
            Err(OidcError::MissingExpiry)
        );
        no_exp.insert("aud".into(), json!(["other"]));
        assert!(matches!(
            check_claims(&no_exp, "https://i", "soxctl", 0),
            Err(OidcError::WrongAudience { .. })
        ));
    }

    #[test]
    fn reads_only_well_formed_headers() {
        let token = |header: Value, payload: Value, sig: &str| {
            format!(
                "{}.{}.{sig}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload.to_string())
            )
        };
        let iss = json!({"iss": "https://i"});
        let ok = Unverified::read(&token(
            json!({"alg": "RS256", "kid": "k"}),
            iss.clone(),
            "c2ln",
        ))
        .unwrap();
        assert_eq!(
            (ok.alg, ok.kid.as_str(), ok.iss.as_str()),
            (Algorithm::RS256, "k", "https://i")
        );
        for alg in ["none", "HS256", "HS512", "PS256", "RS512", "ES384", "EdDSA"] {
            let e = Unverified::read(&token(json!({"alg": alg, "kid": "k"}), iss.clone(), "c2ln"));
            assert!(
                matches!(e, Err(OidcError::UnsupportedAlgorithm { .. })),
                "{alg}"
            );
        }
        let e = Unverified::read(&token(json!({"alg": "RS256"}), iss.clone(), "c2ln"));
        assert!(matches!(e, Err(OidcError::MissingKeyId)));
        for bad in [
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            "a b.c.d".into(),
            token(json!({"alg": "RS256", "kid": "k"}), iss.clone(), ""),
            token(
                json!({"alg": "RS256", "kid": "k", "crit": ["b64"]}),
                iss.clone(),
                "c2ln",
            ),
            token(
                json!({"alg": "RS256", "kid": "k"}),
                json!({"sub": "x"}),
                "c2ln",
            ),
            token(json!(["RS256"]), iss.clone(), "c2ln"),
        ] {
            assert!(
                matches!(Unverified::read(&bad), Err(OidcError::Malformed { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn issuers_of_trusts_once_each() {
        let trust = |id: &str, issuer: &str, platform: Platform| PipelineTrust {
            id: id.into(),
            issuer: issuer.into(),
            audience: "soxctl".into(),
            platform,
            repository: "acme/app".into(),
            repo: "github.com/acme/app".into(),
            refs: vec!["refs/heads/main".into()],
            require_protected_ref: true,
            workflows: vec!["acme/app/.github/workflows/deploy.yml".into()],
            environments: vec!["prod".into()],
            actor_system: None,
            repository_id: None,
            events: Vec::new(),
        };
        let gh = "https://token.actions.githubusercontent.com";
        let issuers = IssuerConfig::of_trusts(&[
            trust("a", gh, Platform::GitHub),
            trust("b", gh, Platform::GitHub),
            trust("c", "https://gitlab.com", Platform::GitLab),
        ])
        .unwrap();
        assert_eq!(
            issuers,
            [
                IssuerConfig::new(gh, Platform::GitHub),
                IssuerConfig::new("https://gitlab.com", Platform::GitLab)
            ]
        );
        assert!(
            IssuerConfig::of_trusts(&[
                trust("a", gh, Platform::GitHub),
                trust("b", gh, Platform::GitLab)
            ])
            .is_err()
        );
    }
}
