//! The HTTP API end to end: every router test runs on SQLite and on a
//! throw-away PostgreSQL database, through `tower::ServiceExt::oneshot`; one
//! test drives `serve` over a real socket with a hand-written HTTP/1.1 request.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "clippy exempts only #[test] functions; in the shared helpers a failed unwrap is a test failure too"
)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use soxctl_ledger::note::{SigningKey, open_checkpoint};
use soxctl_ledger::tree::{Hash, leaf_hash};
use soxctl_ledger::{verify_bundle, verify_consistency, verify_inclusion};
use soxctl_model::clock::SystemClock;
use soxctl_model::event::{Event, Origin, PersonFact, TokenCreated, TokenRevoked};
use soxctl_model::ids::{PersonId, TokenId};
use soxctl_model::inventory::{Person, PersonStatus};
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use soxctl_server::{
    AppState, CheckpointPolicy, Checkpointer, MAX_REQUEST_ID_LEN, OPENMETRICS_CONTENT_TYPE,
    PROMETHEUS_TEXT_CONTENT_TYPE, ServerOptions, openapi_json, router, serve,
};
use soxctl_store::{Location, OpenOptions, Store};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tower::ServiceExt;

const READ: &str = "read-secret";
const METRICS: &str = "metrics-secret";
const ADMIN: &str = "admin-secret";
const GATE: &str = "gate-secret";
const REVOKED: &str = "revoked-secret";
const EXPIRED: &str = "expired-secret";

struct Fixture {
    _dir: TempDir,
    location: Location,
    store: Store,
    key: Arc<SigningKey>,
}

impl Fixture {
    fn state(&self) -> AppState {
        AppState::new(
            self.store.clone(),
            self.key.clone(),
            ServerOptions::default(),
        )
    }

    fn app(&self) -> Router {
        router(self.state())
    }
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn token_event(id: &str, secret: &str, scopes: &[Scope], expires_at: Option<&str>) -> Event {
    Event::TokenCreated(TokenCreated {
        token_id: TokenId::parse(id).unwrap(),
        secret_sha256: sha256_hex(secret),
        scopes: scopes.to_vec(),
        system_id: None,
        person_id: None,
        expires_at: expires_at.map(|t| Timestamp::parse(t).unwrap()),
        description: Some(format!("test token {id}")),
        repo: None,
        environments: Vec::new(),
    })
}

/// A store with tokens for each case, a checkpoint over its first entries and
/// one entry appended after the checkpoint (so head > checkpoint size).
async fn fixture(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let location = match backend {
        Backend::Sqlite => Location::Sqlite(dir.path().join("data")),
        Backend::Postgres => Location::Postgres(
            soxctl_testkit::postgres()
                .unwrap()
                .fresh_database()
                .unwrap(),
        ),
    };
    let store = Store::open(OpenOptions {
        location: location.clone(),
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await
    .unwrap();
    let meta = store.initialise(None, false).await.unwrap();
    let actor = Principal::system("test");
    for event in [
        token_event("reader", READ, &[Scope::Read], None),
        token_event("scraper", METRICS, &[Scope::Metrics], None),
        token_event("root", ADMIN, &[Scope::Admin], Some("2999-01-01T00:00:00Z")),
        token_event("gatekeeper", GATE, &[Scope::Gate], None),
        token_event("old", REVOKED, &[Scope::Read, Scope::Metrics], None),
        Event::TokenRevoked(TokenRevoked {
            token_id: TokenId::parse("old").unwrap(),
        }),
        token_event(
            "stale",
            EXPIRED,
            &[Scope::Read, Scope::Metrics],
            Some("2001-01-01T00:00:00Z"),
        ),
    ] {
        store.append_one(&actor, &event).await.unwrap();
    }
    let key = soxctl_store::signing::load_or_create(&dir.path().join("signing.key"), &meta.origin)
        .unwrap();
    let checkpoint = store.sign_checkpoint(&key).await.unwrap().unwrap();
    assert_eq!(checkpoint.size, 8);
    store
        .append_one(
            &actor,
            &token_event("late", "late-secret", &[Scope::Read], None),
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        location,
        store,
        key: Arc::new(key),
    }
}

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL one.
async fn on_both_backends(test: impl AsyncFn(Fixture)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        eprintln!("backend: {backend:?}");
        test(fixture(backend).await).await;
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// Asserts an RFC 9457 problem with `code` and returns its body.
    fn problem(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/problem+json");
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["status"], status.as_u16());
        assert_eq!(body["type"], format!("urn:soxctl:problem:{code}"));
        assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(
            body["request_id"],
            self.header("x-request-id"),
            "problem carries the request id"
        );
        body
    }
}

async fn call(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    call(app, request.body(Body::empty()).unwrap()).await
}

fn hash(b64: &Value) -> Hash {
    BASE64
        .decode(b64.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hashes(list: &Value) -> Vec<Hash> {
    list.as_array().unwrap().iter().map(hash).collect()
}

const PROTECTED: [&str; 6] = [
    "/api/v1/store",
    "/api/v1/ledger/checkpoint",
    "/api/v1/ledger/entries",
    "/api/v1/ledger/proof/inclusion?seq=0",
    "/api/v1/ledger/proof/consistency?from=1",
    "/metrics",
];

/// Asserts Prometheus text exposition 0.0.4: no OpenMetrics-only lines, and
/// every sample belongs to the family its `# TYPE` line names (a counter's
/// family is named like its samples, a histogram's samples add a suffix).
fn assert_prometheus_text(text: &str) {
    assert!(text.ends_with('\n'), "{text}");
    let mut families = std::collections::HashMap::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "empty line in\n{text}");
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "{line:?} is not Prometheus text 0.0.4"
            );
            if let Some(rest) = rest.strip_prefix("TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line:?}"
                );
                assert!(
                    families.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "second TYPE line for {name}"
                );
            }
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        let typed = match families.get(name).map(String::as_str) {
            Some(_) => true,
            None => ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .and_then(|family| families.get(family))
                    .is_some_and(|kind| kind == "histogram")
            }),
        };
        assert!(
            typed,
            "sample {line:?} has no TYPE line before it in\n{text}"
        );
    }
}

/// Collects what the fmt subscriber writes, for assertions on log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn wait_for_checkpoint(store: &Store, size: u64) {
    // Generous for slow CI machines: returns as soon as the checkpoint exists.
    for _ in 0..800 {
        if store
            .latest_checkpoint()
            .await
            .unwrap()
            .is_some_and(|c| c.size >= size)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no checkpoint of size {size} within 20 s");
}

/// Sends one HTTP/1.1 request over a fresh connection and returns status line, headers and body.
async fn raw_http(address: std::net::SocketAddr, request: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

// ---- API tokens: issue, list, revoke; Idempotency-Key ----

/// `POST uri` with a JSON body, an optional bearer token and Idempotency-Key.
async fn post(
    app: &Router,
    uri: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: &str,
) -> Reply {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    call(app, request.body(Body::from(body.to_owned())).unwrap()).await
}

/// The stored entry `seq` as JSON.
async fn entry(store: &Store, seq: u64) -> Value {
    let entries = store.entries(seq, 1).await.unwrap();
    assert_eq!(entries.len(), 1, "entry {seq}");
    serde_json::from_slice(&entries[0].2).unwrap()
}

async fn ledger_size(store: &Store) -> u64 {
    store.head().await.unwrap().size
}

async fn assert_verifies(fx: &Fixture) {
    let report = soxctl_store::verify::verify(
        &fx.store,
        soxctl_store::verify::Options {
            key: &fx.key.verifier(),
            trusted_checkpoint: None,
        },
        |_, _| {},
    )
    .await
    .unwrap_or_else(|e| panic!("verify failed: {e}"));
    assert_eq!(report.entries, ledger_size(&fx.store).await);
}

// ---- Readiness is cached; tokens bound to a person ----

fn bound_token_event(id: &str, secret: &str, person: &str) -> Event {
    Event::TokenCreated(TokenCreated {
        token_id: TokenId::parse(id).unwrap(),
        secret_sha256: sha256_hex(secret),
        scopes: vec![Scope::Read],
        system_id: None,
        person_id: Some(PersonId::parse(person).unwrap()),
        expires_at: None,
        description: Some(format!("acts for {person}")),
        repo: None,
        environments: Vec::new(),
    })
}

fn test_person(id: &str, status: PersonStatus) -> Person {
    Person {
        person_id: PersonId::parse(id).unwrap(),
        name: Some(format!("Person {id}")),
        email: Some(format!("{id}@example.com")),
        manager_id: None,
        department: None,
        title: None,
        status,
        hire_date: None,
        termination_date: None,
    }
}

/// Appends `person.added` (or `person.changed`) for `person`.
async fn put_person(store: &Store, person: &Person, added: bool) {
    let mut tx = store.begin_write().await.unwrap();
    let fact = PersonFact {
        origin: Origin::default(),
        changed: None,
        person: tx.seal_person(person).await.unwrap(),
    };
    let event = if added {
        Event::PersonAdded(fact)
    } else {
        Event::PersonChanged(fact)
    };
    tx.append(&Principal::system("test"), &event).await.unwrap();
    tx.commit().await.unwrap();
}

#[path = "api/access.rs"]
mod access;
#[path = "api/ci_identity.rs"]
mod ci_identity;
#[path = "api/edges.rs"]
mod edges;
#[path = "api/http.rs"]
mod http;
#[path = "api/inventory.rs"]
mod inventory;
#[path = "api/ledger.rs"]
mod ledger;

#[path = "api/requests.rs"]
mod requests;
#[path = "api/scim.rs"]
mod scim;
#[path = "api/scim_errors.rs"]
mod scim_errors;
#[path = "api/scim_query.rs"]
mod scim_query;
#[path = "api/sod.rs"]
mod sod;
#[path = "api/tokens.rs"]
mod tokens;

/// `text` percent-encoded for a query string.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
