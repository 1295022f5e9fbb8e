//! A throw-away OIDC issuer per test, standing in for GitHub Actions' and
//! GitLab CI's token services: RSA-2048 (or P-256) keys made by the `openssl` CLI,
//! discovery (`/.well-known/openid-configuration`) and the key set (`/jwks`)
//! served over plain HTTP on a free loopback port by a thread, and ID tokens
//! signed RS256 with the claims those platforms document.
//!
//! Besides good tokens it makes the bad ones a verifier must refuse: signed
//! by another key under a published key id ([`OidcIssuer::foreign_token`]),
//! `alg: none` ([`OidcIssuer::unsigned_token`]) and HS256 keyed with the
//! public key ([`OidcIssuer::hs256_token`]); and it rotates keys
//! ([`OidcIssuer::rotate_key`]).

use crate::{TestkitError, io_err, require_tool, run};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The audience the tokens are minted for unless overridden.
pub const OIDC_AUDIENCE: &str = "soxctl";

/// How long the default tokens live, like GitHub's.
const LIFETIME_SECONDS: i64 = 300;

/// The commit the default tokens name.
const SHA: &str = "5d3a1f0e9c7b4a2d8e6f1c3b5a7d9e0f2c4b6a8d";

static NEXT_JTI: AtomicU64 = AtomicU64::new(0);

/// A key pair made by openssl.
struct Key {
    kid: String,
    /// RS256 or ES256.
    alg: Algorithm,
    /// What ring signs with: PKCS#1 RSAPrivateKey or PKCS#8 (EC), DER.
    der: Vec<u8>,
    /// SubjectPublicKeyInfo, PEM: the "secret" of the HS256 confusion attack.
    public_pem: String,
    /// The public key as a JWK.
    jwk: Value,
}

impl Key {
    fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            Algorithm::ES256 => EncodingKey::from_ec_der(&self.der),
            _ => EncodingKey::from_rsa_der(&self.der),
        }
    }
}

struct State {
    /// Every key the JWKS publishes; the last one signs.
    keys: Vec<Key>,
    /// Signs foreign tokens; made on first use.
    foreign: Option<Key>,
    /// What discovery states as `jwks_uri`.
    jwks_uri: String,
    discovery_fetches: usize,
    jwks_fetches: usize,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running issuer; its thread stops when it is dropped.
pub struct OidcIssuer {
    url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl OidcIssuer {
    /// Makes a key and starts serving on `127.0.0.1:<free port>`.
    pub fn start() -> Result<OidcIssuer, TestkitError> {
        let key = make_rsa_key("testkit-1")?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| io_err("binding the OIDC issuer to 127.0.0.1", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| io_err("reading the OIDC issuer's address", e))?;
        let url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                keys: vec![key],
                foreign: None,
                jwks_uri: format!("{url}/jwks"),
                discovery_fetches: 0,
                jwks_fetches: 0,
            }),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = shared.clone();
            let url = url.clone();
            std::thread::Builder::new()
                .name("testkit-oidc".into())
                .spawn(move || serve(&listener, &shared, &url))
                .map_err(|e| io_err("starting the OIDC issuer's thread", e))?
        };
        Ok(OidcIssuer {
            url,
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: the `iss` of its tokens.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key id new tokens are signed under.
    pub fn kid(&self) -> String {
        let state = self.shared.state();
        state.keys.last().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// How often `/jwks` was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.state().jwks_fetches
    }

    /// How often discovery was fetched.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.state().discovery_fetches
    }

    /// Makes discovery state `uri` as `jwks_uri` (a key set elsewhere).
    pub fn set_jwks_uri(&self, uri: &str) {
        self.shared.state().jwks_uri = uri.to_owned();
    }

    /// The key set as served.
    pub fn jwks(&self) -> Value {
        jwks(&self.shared.state())
    }

    /// Adds a key under a new kid to the key set; tokens are signed with it
    /// from now on. Returns the new kid.
    pub fn rotate_key(&self) -> Result<String, TestkitError> {
        let kid = format!("testkit-{}", self.shared.state().keys.len() + 1);
        let key = make_rsa_key(&kid)?;
        self.shared.state().keys.push(key);
        Ok(kid)
    }

    /// As [`OidcIssuer::rotate_key`], with a P-256 key: tokens are signed
    /// ES256 from now on.
    pub fn rotate_key_es256(&self) -> Result<String, TestkitError> {
        let kid = format!("testkit-{}", self.shared.state().keys.len() + 1);
        let key = make_ec_key(&kid)?;
        self.shared.state().keys.push(key);
        Ok(kid)
    }

    /// A GitHub Actions ID token: a push to protected `refs/heads/main` of
    /// `acme/app` by `kevin-reyes`, job in environment `prod`, workflow
    /// `.github/workflows/deploy.yml`, valid for 5 minutes from now.
    /// `claims_override` (an object) is merged on top; a null value removes
    /// the claim.
    pub fn github_token(&self, claims_override: Value) -> Result<String, TestkitError> {
        self.sign(self.github_claims(), claims_override)
    }

    /// A GitLab CI ID token (`id_tokens`): a pipeline on protected branch
    /// `main` of `acme/app` by `kevin-reyes`, job in environment `prod`.
    pub fn gitlab_token(&self, claims_override: Value) -> Result<String, TestkitError> {
        self.sign(self.gitlab_claims(), claims_override)
    }

    /// A GitHub token under the current kid, but signed by a key the
    /// issuer never published.
    pub fn foreign_token(&self, claims_override: Value) -> Result<String, TestkitError> {
        let claims = merge(self.github_claims(), claims_override)?;
        let kid = self.kid();
        let mut state = self.shared.state();
        if state.foreign.is_none() {
            state.foreign = Some(make_rsa_key("foreign")?);
        }
        let Some(foreign) = &state.foreign else {
            return Err(signing("no foreign key".into()));
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        encode(&header, &claims, &foreign.encoding_key())
    }

    /// A GitHub token with `alg: none` and no signature.
    pub fn unsigned_token(&self, claims_override: Value) -> Result<String, TestkitError> {
        let claims = merge(self.github_claims(), claims_override)?;
        let header = json!({"alg": "none", "typ": "JWT", "kid": self.kid()});
        Ok(format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        ))
    }

    /// A GitHub token signed HS256 with the current public key (PEM) as the
    /// HMAC secret: the algorithm-confusion attack on verifiers that let
    /// the token choose how its key is used.
    pub fn hs256_token(&self, claims_override: Value) -> Result<String, TestkitError> {
        let claims = merge(self.github_claims(), claims_override)?;
        let (kid, pem) = {
            let state = self.shared.state();
            let key = state.keys.last().ok_or_else(|| signing("no key".into()))?;
            (key.kid.clone(), key.public_pem.clone())
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid);
        encode(&header, &claims, &EncodingKey::from_secret(pem.as_bytes()))
    }

    fn sign(&self, defaults: Map<String, Value>, over: Value) -> Result<String, TestkitError> {
        let claims = merge(defaults, over)?;
        let state = self.shared.state();
        let key = state.keys.last().ok_or_else(|| signing("no key".into()))?;
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        encode(&header, &claims, &key.encoding_key())
    }

    /// The claims GitHub documents for an Actions ID token
    /// (about-security-hardening-with-openid-connect), as a push would have them.
    fn github_claims(&self) -> Map<String, Value> {
        let now = now_unix();
        let workflow = "acme/app/.github/workflows/deploy.yml@refs/heads/main";
        object(json!({
            "jti": jti(),
            "sub": "repo:acme/app:environment:prod",
            "environment": "prod",
            "aud": OIDC_AUDIENCE,
            "ref": "refs/heads/main",
            "sha": SHA,
            "repository": "acme/app",
            "repository_owner": "acme",
            "actor_id": "4242",
            "repository_visibility": "private",
            "repository_id": "74",
            "repository_owner_id": "65",
            "run_id": "8411",
            "run_number": "10",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "actor": "kevin-reyes",
            "workflow": "deploy",
            "head_ref": "",
            "base_ref": "",
            "event_name": "push",
            "ref_type": "branch",
            "ref_protected": "true",
            "job_workflow_ref": workflow,
            "workflow_ref": workflow,
            "workflow_sha": SHA,
            "job_workflow_sha": SHA,
            "iss": self.url,
            "nbf": now,
            "exp": now + LIFETIME_SECONDS,
            "iat": now,
        }))
    }

    /// The claims GitLab documents for CI/CD `id_tokens`.
    fn gitlab_claims(&self) -> Map<String, Value> {
        let now = now_unix();
        object(json!({
            "namespace_id": "72",
            "namespace_path": "acme",
            "project_id": "20",
            "project_path": "acme/app",
            "user_id": "5",
            "user_login": "kevin-reyes",
            "user_email": "kevin.reyes@example.com",
            "user_access_level": "maintainer",
            "pipeline_id": "574",
            "pipeline_source": "push",
            "job_id": "302",
            "ref": "main",
            "ref_type": "branch",
            "ref_path": "refs/heads/main",
            "ref_protected": "true",
            "environment": "prod",
            "environment_protected": "true",
            "deployment_tier": "production",
            "environment_action": "start",
            "runner_id": 1,
            "runner_environment": "gitlab-hosted",
            "sha": SHA,
            "project_visibility": "private",
            "ci_config_ref_uri": "gitlab.example.com/acme/app//.gitlab-ci.yml@refs/heads/main",
            "ci_config_sha": SHA,
            "jti": jti(),
            "iss": self.url,
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME_SECONDS,
            "sub": "project_path:acme/app:ref_type:branch:ref:main",
            "aud": OIDC_AUDIENCE,
        }))
    }
}

impl Drop for OidcIssuer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The tokens are minted now, as a real issuer mints them; tests pass the
/// verifier the time they want it to see.
#[allow(clippy::disallowed_methods)]
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn jti() -> String {
    format!(
        "testkit-{}-{}",
        std::process::id(),
        NEXT_JTI.fetch_add(1, Ordering::Relaxed)
    )
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `over`'s claims on top of `claims`; null removes one.
fn merge(mut claims: Map<String, Value>, over: Value) -> Result<Map<String, Value>, TestkitError> {
    let over = match over {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        other => {
            return Err(signing(format!(
                "claims_override must be a JSON object (or null), not {other}"
            )));
        }
    };
    for (name, value) in over {
        if value.is_null() {
            claims.remove(&name);
        } else {
            claims.insert(name, value);
        }
    }
    Ok(claims)
}

fn encode(
    header: &Header,
    claims: &Map<String, Value>,
    key: &EncodingKey,
) -> Result<String, TestkitError> {
    jsonwebtoken::encode(header, claims, key).map_err(|e| signing(e.to_string()))
}

fn signing(reason: String) -> TestkitError {
    TestkitError::Command {
        command: "signing a test ID token".into(),
        status: "failed".into(),
        stderr: reason,
    }
}

fn jwks(state: &State) -> Value {
    let keys: Vec<Value> = state.keys.iter().map(|k| k.jwk.clone()).collect();
    json!({ "keys": keys })
}

/// A temp dir for key files; removed when dropped.
fn key_dir() -> Result<tempfile::TempDir, TestkitError> {
    tempfile::Builder::new()
        .prefix("soxctl-oidc-")
        .tempdir()
        .map_err(|e| io_err("creating a temp dir for the OIDC key", e))
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, TestkitError> {
    std::fs::read(path).map_err(|e| io_err(&format!("reading {}", path.display()), e))
}

/// An RSA-2048 key from `openssl genrsa`, in the forms the issuer needs.
fn make_rsa_key(kid: &str) -> Result<Key, TestkitError> {
    let openssl = require_tool("openssl")?;
    let dir = key_dir()?;
    let pem = dir.path().join("key.pem");
    let der = dir.path().join("key.der");
    run(Command::new(&openssl)
        .args(["genrsa", "-out"])
        .arg(&pem)
        .arg("2048"))?;
    run(Command::new(&openssl)
        .args(["rsa", "-traditional", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der))?;
    let public_pem = run(Command::new(&openssl)
        .args(["rsa", "-pubout", "-in"])
        .arg(&pem))?;
    let modulus = run(Command::new(&openssl)
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&pem))?;
    let hex = modulus.trim().strip_prefix("Modulus=").unwrap_or_default();
    let n = from_hex(hex).ok_or_else(|| TestkitError::Command {
        command: "openssl rsa -noout -modulus".into(),
        status: "unexpected output".into(),
        stderr: modulus.clone(),
    })?;
    Ok(Key {
        kid: kid.to_owned(),
        alg: Algorithm::RS256,
        der: read(&der)?,
        public_pem,
        jwk: json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": "AQAB",
        }),
    })
}

/// A P-256 key from `openssl ecparam`: PKCS#8 for signing, and the
/// coordinates from the end of its SubjectPublicKeyInfo (`04 ‖ x ‖ y`).
fn make_ec_key(kid: &str) -> Result<Key, TestkitError> {
    let openssl = require_tool("openssl")?;
    let dir = key_dir()?;
    let pem = dir.path().join("key.pem");
    let der = dir.path().join("key.p8");
    let spki = dir.path().join("pub.der");
    run(Command::new(&openssl)
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&pem))?;
    run(Command::new(&openssl)
        .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der))?;
    run(Command::new(&openssl)
        .args(["ec", "-pubout", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&spki))?;
    let public_pem = run(Command::new(&openssl)
        .args(["ec", "-pubout", "-in"])
        .arg(&pem))?;
    let spki = read(&spki)?;
    let point = spki
        .len()
        .checked_sub(65)
        .and_then(|start| spki.get(start..))
        .filter(|p| p.first() == Some(&4))
        .ok_or_else(|| TestkitError::Command {
            command: "openssl ec -pubout -outform DER".into(),
            status: "unexpected output".into(),
            stderr: format!(
                "{} bytes, no uncompressed P-256 point at the end",
                spki.len()
            ),
        })?;
    Ok(Key {
        kid: kid.to_owned(),
        alg: Algorithm::ES256,
        der: read(&der)?,
        public_pem,
        jwk: json!({
            "kty": "EC",
            "alg": "ES256",
            "use": "sig",
            "crv": "P-256",
            "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }),
    })
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Answers one connection at a time until the issuer is dropped.
fn serve(listener: &TcpListener, shared: &Shared, url: &str) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = stream {
            // A client that hangs up early is its own problem.
            let _ = answer(stream, shared, url);
        }
    }
}

/// Reads one HTTP/1.1 request head and answers it; the connection closes.
fn answer(mut stream: TcpStream, shared: &Shared, url: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let path = request_line.next().unwrap_or_default();
    let (status, body) = match (method, path) {
        ("GET", "/.well-known/openid-configuration") => {
            let mut state = shared.state();
            state.discovery_fetches += 1;
            let body = json!({
                "issuer": url,
                "jwks_uri": state.jwks_uri,
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository", "environment"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
            });
            ("200 OK", body)
        }
        ("GET", "/jwks") => {
            let mut state = shared.state();
            state.jwks_fetches += 1;
            ("200 OK", jwks(&state))
        }
        _ => ("404 Not Found", json!({"error": "not found"})),
    };
    let body = body.to_string();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
