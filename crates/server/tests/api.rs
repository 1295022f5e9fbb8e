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

#[tokio::test]
async fn health_readiness_and_openapi_need_no_token() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let health = get(&app, "/healthz", None).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
        let ready = get(&app, "/readyz", None).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
        let doc = get(&app, "/api/v1/openapi.json", None).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.header("content-type"), "application/json");
        assert_eq!(doc.json()["openapi"], "3.1.0");
        assert_eq!(doc.text(), openapi_json());
    })
    .await;
}

#[tokio::test]
async fn readiness_fails_with_a_problem_when_the_store_is_closed() {
    on_both_backends(async |fx| {
        let app = fx.app();
        fx.store.close().await;
        get(&app, "/readyz", None)
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        // Liveness is about the process only.
        assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);
        // Authentication needs the store too: an outage, not a credential problem.
        get(&app, "/api/v1/store", Some(READ))
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    })
    .await;
}

#[tokio::test]
async fn everything_else_needs_a_valid_token_with_the_right_scope() {
    on_both_backends(async |fx| {
        let app = fx.app();
        for uri in PROTECTED {
            let missing = get(&app, uri, None).await;
            let body = missing.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(
                missing.header("www-authenticate").starts_with("Bearer"),
                "{uri}"
            );
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Authorization: Bearer"),
                "{body}"
            );

            for (token, hint) in [
                ("wrong-secret", "not known"),
                (REVOKED, "revoked"),
                (EXPIRED, "expired"),
                ("", "not a bearer token"),
            ] {
                let reply = get(&app, uri, Some(token)).await;
                let body = reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
                assert!(
                    reply.header("www-authenticate").starts_with("Bearer"),
                    "{uri}"
                );
                assert!(
                    body["detail"].as_str().unwrap().contains(hint),
                    "{uri} {token}: {body}"
                );
            }
            let basic = call(
                &app,
                Request::get(uri)
                    .header(header::AUTHORIZATION, "Basic cmVhZDpzZWNyZXQ=")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            basic.problem(StatusCode::UNAUTHORIZED, "unauthenticated");

            let body = get(&app, uri, Some(GATE))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("token:gatekeeper lacks the"),
                "{body}"
            );
        }
        // Read tokens read but do not scrape; metrics tokens scrape but do not read.
        for uri in &PROTECTED[..5] {
            assert_eq!(
                get(&app, uri, Some(READ)).await.status,
                StatusCode::OK,
                "{uri}"
            );
            assert_eq!(
                get(&app, uri, Some(ADMIN)).await.status,
                StatusCode::OK,
                "{uri}"
            );
            get(&app, uri, Some(METRICS))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
        }
        get(&app, "/metrics", Some(READ))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    })
    .await;
}

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

#[tokio::test]
async fn metrics_with_the_metrics_scope_or_when_public() {
    on_both_backends(async |fx| {
        let app = fx.app();
        get(&app, "/api/v1/store", Some(READ)).await;
        get(&app, "/api/v1/ledger/proof/inclusion?seq=0", Some(READ)).await;
        let reply = get(&app, "/metrics", Some(METRICS)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        // Prometheus text by default.
        assert_eq!(reply.header("content-type"), PROMETHEUS_TEXT_CONTENT_TYPE);
        assert_eq!(reply.header("vary"), "accept");
        let text = reply.text();
        for line in [
            "soxctl_http_requests_total{method=\"GET\",route=\"/api/v1/store\",status=\"200\"} 1",
            "soxctl_http_requests_total{method=\"GET\",route=\"/api/v1/ledger/proof/inclusion\",status=\"200\"} 1",
            "soxctl_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/store\"} 1",
            "soxctl_store_up 1",
            "soxctl_ledger_size 9",
            "soxctl_ledger_entries_appended_total 9",
            "soxctl_checkpoint_size 8",
            "soxctl_outbox_pending 0",
            "soxctl_outbox_dead_letters 0",
            "soxctl_outbox_lag_seconds 0",
            "# TYPE soxctl_http_requests_total counter",
            "# TYPE soxctl_ledger_entries_appended_total counter",
            "# TYPE soxctl_checkpoint_age_seconds gauge",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_prometheus_text(&text);
        assert_eq!(get(&app, "/metrics", Some(ADMIN)).await.status, StatusCode::OK);

        // OpenMetrics when asked for, or preferred as Prometheus does.
        for accept in [
            "application/openmetrics-text",
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ] {
            let reply = call(
                &app,
                Request::get("/metrics")
                    .header(header::AUTHORIZATION, format!("Bearer {METRICS}"))
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            assert_eq!(reply.header("content-type"), OPENMETRICS_CONTENT_TYPE);
            let text = reply.text();
            assert!(text.contains("\nsoxctl_ledger_entries_appended_total 9\n"), "{text}");
            assert!(text.contains("\n# TYPE soxctl_http_requests counter\n"), "{text}");
            assert!(text.contains("\n# UNIT soxctl_checkpoint_age_seconds seconds\n"), "{text}");
            assert!(text.ends_with("# EOF\n"), "{text}");
        }
        // Plain text when asked for, or when OpenMetrics is not preferred.
        for accept in ["text/plain; version=0.0.4", "application/openmetrics-text;q=0.1, text/plain"] {
            let reply = call(
                &app,
                Request::get("/metrics")
                    .header(header::AUTHORIZATION, format!("Bearer {METRICS}"))
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.header("content-type"), PROMETHEUS_TEXT_CONTENT_TYPE);
            assert_prometheus_text(&reply.text());
        }

        let public = router(AppState::new(fx.store.clone(), fx.key.clone(), ServerOptions { metrics_public: true, ..Default::default() }));
        let reply = get(&public, "/metrics", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.text().contains("soxctl_ledger_size 9"));
        // Public metrics open nothing else.
        get(&public, "/api/v1/store", None).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    })
    .await;
}

#[tokio::test]
async fn store_info_and_checkpoint() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let info = get(&app, "/api/v1/store", Some(READ)).await.json();
        let meta = fx.store.meta().await.unwrap().unwrap();
        assert_eq!(info["store_id"], meta.store_id);
        assert_eq!(info["origin"], meta.origin);
        assert_eq!(info["backend"], fx.store.backend());
        assert_eq!(info["ledger_size"], 9);
        assert_eq!(info["latest_checkpoint_size"], 8);

        let reply = get(&app, "/api/v1/ledger/checkpoint", Some(READ)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.header("content-type").starts_with("text/plain"));
        let checkpoint = open_checkpoint(&reply.text(), &fx.key.verifier()).unwrap();
        assert_eq!(checkpoint.size, 8);
        assert_eq!(checkpoint.origin, meta.origin);
    })
    .await;
}

#[tokio::test]
async fn no_checkpoint_yet_is_a_404_problem() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(OpenOptions {
        location: Location::Sqlite(dir.path().to_owned()),
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await
    .unwrap();
    let meta = store.initialise(None, false).await.unwrap();
    store
        .append_one(
            &Principal::system("test"),
            &token_event("reader", READ, &[Scope::Read], None),
        )
        .await
        .unwrap();
    let key = soxctl_store::signing::load_or_create(&dir.path().join("signing.key"), &meta.origin)
        .unwrap();
    let app = router(AppState::new(store, key, ServerOptions::default()));
    let body = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert!(body["detail"].as_str().unwrap().contains("retry"), "{body}");
}

#[tokio::test]
async fn entries_are_the_exact_stored_bytes_as_json_lines() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let stored = fx.store.entries(0, 100).await.unwrap();
        assert_eq!(stored.len(), 9);
        let expected: Vec<u8> = stored
            .iter()
            .flat_map(|(_, _, bytes)| bytes.iter().copied().chain([b'\n']))
            .collect();

        let reply = get(&app, "/api/v1/ledger/entries", Some(READ)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("content-type"), "application/jsonl");
        assert_eq!(reply.body, expected);

        // Paging: from and count pick a window; past the end is empty.
        let page = get(&app, "/api/v1/ledger/entries?from=2&count=3", Some(READ)).await;
        let window: Vec<u8> = stored[2..5]
            .iter()
            .flat_map(|(_, _, bytes)| bytes.iter().copied().chain([b'\n']))
            .collect();
        assert_eq!(page.body, window);
        for from in [9, u64::MAX] {
            let past = get(
                &app,
                &format!("/api/v1/ledger/entries?from={from}"),
                Some(READ),
            )
            .await;
            assert_eq!(past.status, StatusCode::OK);
            assert!(past.body.is_empty());
        }
        // Counts above the cap are capped, not refused.
        assert_eq!(
            get(&app, "/api/v1/ledger/entries?count=1000000", Some(READ))
                .await
                .body,
            expected
        );

        // The export verifies offline against the signed checkpoint.
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let signed = get(&app, "/api/v1/ledger/entries?count=8", Some(READ)).await;
        let report = verify_bundle(&signed.body, &note, &fx.key.verifier()).unwrap();
        assert_eq!(report.entries, 8);

        get(&app, "/api/v1/ledger/entries?count=0", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let body = get(&app, "/api/v1/ledger/entries?from=abc", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            body["detail"].as_str().unwrap().contains("openapi.json"),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn inclusion_proofs_verify_against_the_checkpoint_root() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let checkpoint = open_checkpoint(&note, &fx.key.verifier()).unwrap();
        let stored = fx.store.entries(0, 100).await.unwrap();
        for seq in 0..checkpoint.size {
            // The size defaults to the latest checkpoint's.
            let reply = get(
                &app,
                &format!("/api/v1/ledger/proof/inclusion?seq={seq}"),
                Some(READ),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let proof = reply.json();
            assert_eq!(proof["index"], seq);
            assert_eq!(proof["size"], checkpoint.size);
            let leaf = hash(&proof["leaf_hash"]);
            assert_eq!(leaf, leaf_hash(&stored[seq as usize].2));
            assert_eq!(hash(&proof["root"]), checkpoint.root);
            verify_inclusion(
                &leaf,
                seq,
                checkpoint.size,
                &hashes(&proof["hashes"]),
                &checkpoint.root,
            )
            .unwrap();
        }
        // An explicit size up to the head works too.
        let head = fx.store.head().await.unwrap();
        let proof = get(
            &app,
            "/api/v1/ledger/proof/inclusion?seq=8&size=9",
            Some(READ),
        )
        .await
        .json();
        verify_inclusion(
            &hash(&proof["leaf_hash"]),
            8,
            9,
            &hashes(&proof["hashes"]),
            &head.frontier.root(),
        )
        .unwrap();

        for (uri, needle) in [
            (
                "/api/v1/ledger/proof/inclusion?seq=8",
                "seq=8 is not in a tree of size 8",
            ),
            (
                "/api/v1/ledger/proof/inclusion?seq=0&size=10",
                "size=10 is not a tree size",
            ),
            (
                "/api/v1/ledger/proof/inclusion?seq=0&size=0",
                "size=0 is not a tree size",
            ),
            ("/api/v1/ledger/proof/inclusion", "seq"),
            ("/api/v1/ledger/proof/inclusion?seq=-1", "seq"),
        ] {
            let body = get(&app, uri, Some(READ))
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            assert!(
                body["detail"].as_str().unwrap().contains(needle),
                "{uri}: {body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn consistency_proofs_verify_against_the_checkpoint_root() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let note = get(&app, "/api/v1/ledger/checkpoint", Some(READ))
            .await
            .text();
        let checkpoint = open_checkpoint(&note, &fx.key.verifier()).unwrap();
        for from in 1..=checkpoint.size {
            let reply = get(
                &app,
                &format!("/api/v1/ledger/proof/consistency?from={from}"),
                Some(READ),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let proof = reply.json();
            assert_eq!(proof["size1"], from);
            assert_eq!(proof["size2"], checkpoint.size);
            assert_eq!(hash(&proof["root2"]), checkpoint.root);
            let root1 = hash(&proof["root1"]);
            assert_eq!(root1, fx.store.root_at(from).await.unwrap());
            verify_consistency(
                from,
                checkpoint.size,
                &hashes(&proof["hashes"]),
                &root1,
                &checkpoint.root,
            )
            .unwrap();
        }
        // From the checkpoint to the head: the log only grew.
        let head = fx.store.head().await.unwrap();
        let proof = get(
            &app,
            "/api/v1/ledger/proof/consistency?from=8&to=9",
            Some(READ),
        )
        .await
        .json();
        verify_consistency(
            8,
            9,
            &hashes(&proof["hashes"]),
            &checkpoint.root,
            &head.frontier.root(),
        )
        .unwrap();

        for (uri, needle) in [
            (
                "/api/v1/ledger/proof/consistency?from=9",
                "from=9 is larger than to=8",
            ),
            (
                "/api/v1/ledger/proof/consistency?from=0",
                "from=0 is not a tree size",
            ),
            (
                "/api/v1/ledger/proof/consistency?from=1&to=10",
                "to=10 is not a tree size",
            ),
            ("/api/v1/ledger/proof/consistency", "from"),
        ] {
            let body = get(&app, uri, Some(READ))
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            assert!(
                body["detail"].as_str().unwrap().contains(needle),
                "{uri}: {body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_made_and_appear_in_problems() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let echoed = call(
            &app,
            Request::get("/api/v1/store")
                .header("x-request-id", "trace-me-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(echoed.header("x-request-id"), "trace-me-42");
        assert_eq!(
            echoed.problem(StatusCode::UNAUTHORIZED, "unauthenticated")["request_id"],
            "trace-me-42"
        );

        let made = get(&app, "/healthz", None).await;
        let id = made.header("x-request-id");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(id.matches('-').count(), 4, "a UUID: {id}");

        // Only 1-128 visible ASCII characters are kept; anything else is
        // replaced by a fresh UUID, in the header and in problems alike.
        let longest = "x".repeat(MAX_REQUEST_ID_LEN);
        for kept in ["a", "~!#$%&'*+-.^_`|/:;<=>?@[]{}()", longest.as_str()] {
            let reply = call(
                &app,
                Request::get("/api/v1/store")
                    .header("x-request-id", kept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.header("x-request-id"), kept);
            reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        let too_long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        let mut replaced: Vec<Request<Body>> = [
            "",
            "has space",
            " padded",
            "tab\there",
            "caf\u{e9}",
            too_long.as_str(),
        ]
        .into_iter()
        .map(|bad| {
            Request::get("/api/v1/store")
                .header(
                    "x-request-id",
                    axum::http::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
                )
                .body(Body::empty())
                .unwrap()
        })
        .collect();
        // Two ids are as good as none.
        replaced.push(
            Request::get("/api/v1/store")
                .header("x-request-id", "one")
                .header("x-request-id", "two")
                .body(Body::empty())
                .unwrap(),
        );
        for request in replaced {
            let sent: Vec<Vec<u8>> = request
                .headers()
                .get_all("x-request-id")
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect();
            let reply = call(&app, request).await;
            let ids: Vec<&str> = reply
                .headers
                .get_all("x-request-id")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(ids.len(), 1, "{sent:?}: {ids:?}");
            assert_eq!(ids[0].len(), 36, "{sent:?} replaced by a UUID: {ids:?}");
            assert_eq!(ids[0].matches('-').count(), 4, "a UUID: {ids:?}");
            assert_eq!(
                reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated")["request_id"],
                ids[0]
            );
        }

        // Errors the framework makes are problems as well.
        get(&app, "/no/such/thing", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        let post = call(&app, Request::post("/healthz").body(Body::empty()).unwrap()).await;
        post.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert!(post.header("allow").contains("GET"));
    })
    .await;
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

#[tokio::test]
async fn internal_errors_are_opaque_to_clients_and_logged_with_the_request_id() {
    // A global subscriber: a thread-scoped one misses spans whose callsites
    // other tests' threads registered first (tracing caches interest globally).
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    });
    on_both_backends(async |fx| {
        let app = fx.app();
        fx.store
            .execute_unchecked("DELETE FROM ledger_entries WHERE seq = 3")
            .await
            .unwrap();
        let request_id = format!("boom-{}", fx.store.backend());
        let reply = call(
            &app,
            Request::get("/api/v1/ledger/proof/inclusion?seq=3")
                .header(header::AUTHORIZATION, format!("Bearer {READ}"))
                .header("x-request-id", &request_id)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let body = reply.problem(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("entry 3") && detail.contains("request id"),
            "{detail}"
        );

        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let line = logs
            .lines()
            .find(|line| line.contains("entry 3 is missing") && line.contains(&request_id))
            .unwrap_or_else(|| panic!("the error is not logged:\n{logs}"));
        for field in [
            format!("request_id={request_id}"),
            "method=GET".to_owned(),
            "route=/api/v1/ledger/proof/inclusion".to_owned(),
            "principal=token:reader".to_owned(),
        ] {
            assert!(line.contains(&field), "{field} missing from {line}");
        }
    })
    .await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = soxctl_server::BODY_LIMIT + 1;
        let request = Request::builder()
            .method(Method::GET)
            .uri("/api/v1/ledger/checkpoint")
            .header(header::AUTHORIZATION, format!("Bearer {READ}"))
            .header(header::CONTENT_LENGTH, size)
            .body(Body::from(vec![b'x'; size]))
            .unwrap();
        let body = call(&app, request)
            .await
            .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        assert!(body["detail"].as_str().unwrap().contains("1 MiB"), "{body}");
        let metrics = get(&app, "/metrics", Some(METRICS)).await.text();
        assert!(
            metrics.contains("route=\"/api/v1/ledger/checkpoint\",status=\"413\"} 1"),
            "413s are counted under their route:\n{metrics}"
        );
    })
    .await;
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

#[tokio::test]
async fn checkpointer_signs_after_enough_entries_after_the_interval_and_on_stop() {
    on_both_backends(async |fx| {
        let actor = Principal::system("test");
        let append = async |n: u32| {
            for i in 0..n {
                let id = format!("t{}-{i}", fx.store.head().await.unwrap().size);
                fx.store
                    .append_one(&actor, &token_event(&id, &id, &[Scope::Read], None))
                    .await
                    .unwrap();
            }
            fx.store.head().await.unwrap().size
        };
        let never = Duration::from_secs(3600);

        // On start it covers what is there (9 entries, one unsigned).
        let by_count = Checkpointer::spawn(
            fx.store.clone(),
            fx.key.clone(),
            CheckpointPolicy {
                max_interval: never,
                max_entries: 3,
            },
        );
        wait_for_checkpoint(&fx.store, 9).await;
        // Two entries are below the count and the interval is far: no checkpoint.
        let size = append(2).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(fx.store.latest_checkpoint().await.unwrap().unwrap().size, 9);
        // The third one triggers it.
        let size = append(1).await.max(size);
        wait_for_checkpoint(&fx.store, size).await;
        // Stopping signs what is pending.
        let size = append(1).await;
        by_count.stop().await.unwrap();
        assert_eq!(
            fx.store.latest_checkpoint().await.unwrap().unwrap().size,
            size
        );

        let by_time = Checkpointer::spawn(
            fx.store.clone(),
            fx.key.clone(),
            CheckpointPolicy {
                max_interval: Duration::from_millis(100),
                max_entries: 1_000,
            },
        );
        let size = append(1).await;
        wait_for_checkpoint(&fx.store, size).await;
        // Entries written by another process (no wake-up here) are covered by the sweep.
        let other = Store::open(OpenOptions {
            location: fx.location.clone(),
            create: false,
            clock: Arc::new(SystemClock),
            failpoints: Default::default(),
        })
        .await
        .unwrap();
        other
            .append_one(
                &actor,
                &token_event("elsewhere", "elsewhere", &[Scope::Read], None),
            )
            .await
            .unwrap();
        wait_for_checkpoint(&fx.store, size + 1).await;
        by_time.stop().await.unwrap();
    })
    .await;
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

#[tokio::test]
async fn serve_answers_over_a_real_socket_and_signs_on_shutdown() {
    on_both_backends(async |fx| {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = fx.state().with_checkpoint_policy(CheckpointPolicy {
            max_interval: Duration::from_secs(3600),
            max_entries: 1_000,
        });
        let server = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));

        let (head, body) =
            raw_http(address, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.to_ascii_lowercase().contains("\r\nx-request-id: "), "{head}");
        assert_eq!(body, r#"{"status":"ok"}"#);

        // The checkpointer signed the unsigned entry on start.
        wait_for_checkpoint(&fx.store, 9).await;
        let (head, body) = raw_http(
            address,
            &format!(
                "GET /api/v1/ledger/checkpoint HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ}\r\n\
                 x-request-id: raw-1\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("x-request-id: raw-1"), "{head}");
        assert_eq!(open_checkpoint(&body, &fx.key.verifier()).unwrap().size, 9);

        let (head, body) =
            raw_http(address, "GET /api/v1/store HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert!(body.contains(r#""code":"unauthenticated""#), "{body}");

        // An entry appended while serving is signed at shutdown at the latest.
        fx.store.append_one(&Principal::system("test"), &token_event("last", "last", &[Scope::Read], None)).await.unwrap();
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert_eq!(fx.store.latest_checkpoint().await.unwrap().unwrap().size, 10);
        assert!(tokio::net::TcpStream::connect(address).await.is_err(), "the listener is closed");
    })
    .await;
}

/// `docs/openapi.json` is the committed copy of the generated description;
/// `UPDATE_OPENAPI=1 cargo test -p soxctl-server openapi` rewrites it.
#[test]
fn openapi_document_matches_docs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the handlers' annotations; run `UPDATE_OPENAPI=1 cargo test -p soxctl-server \
         openapi` and commit the result",
        path.display()
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/store",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/proof/inclusion",
        "/api/v1/ledger/proof/consistency",
        "/api/v1/tokens",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for path in ["/api/v1/tokens", "/api/v1/tokens/{token_id}/revoke"] {
        let operation = &doc["paths"][path]["post"];
        assert!(operation.is_object(), "POST {path} missing");
        assert!(
            operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "POST {path} documents Idempotency-Key"
        );
        assert!(operation["responses"]["422"].is_object(), "{path}");
    }
    let scopes =
        &doc["components"]["schemas"]["CreateToken"]["properties"]["scopes"]["items"]["enum"];
    assert_eq!(
        scopes,
        &serde_json::json!(Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    );
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

#[tokio::test]
async fn admins_issue_list_and_revoke_tokens_recorded_as_themselves() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        let created = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            None,
            r#"{"scopes":["read","metrics","read"],"description":"nightly export","expires_at":"2999-06-30T17:00:00+02:00"}"#,
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let body = created.json();
        let id = body["token_id"].as_str().unwrap().to_owned();
        let secret = body["token"].as_str().unwrap().to_owned();
        assert!(
            id.len() == 16 && id.starts_with("tok_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(secret.starts_with("sxt_") && secret.len() == 4 + 43, "{secret}");
        assert_eq!(body["scopes"], serde_json::json!(["metrics", "read"]));
        assert_eq!(body["created_by"], "token:root");
        assert_eq!(body["description"], "nightly export");
        assert_eq!(body["expires_at"], "2999-06-30T15:00:00.000000Z");
        assert_eq!(body["ledger_seq"], size);
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The ledger records the calling token as the actor, and only the secret's hash.
        let recorded = entry(&fx.store, size).await;
        assert_eq!(recorded["actor"], "token:root", "{recorded}");
        assert_eq!(recorded["type"], "token.created", "{recorded}");
        assert_eq!(recorded["payload"]["token_id"], id.as_str());
        assert_eq!(recorded["payload"]["secret_sha256"], sha256_hex(&secret));
        assert!(!recorded.to_string().contains(&secret[4..]));

        // The new secret authenticates with its scopes.
        assert_eq!(get(&app, "/api/v1/store", Some(&secret)).await.status, StatusCode::OK);
        get(&app, "/api/v1/tokens", Some(&secret))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");

        // Listed without any secret material.
        let listed = get(&app, "/api/v1/tokens", Some(ADMIN)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
        let text = listed.text();
        assert!(!text.contains(&secret[4..]) && !text.contains(&sha256_hex(&secret)), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let list = listed.json();
        let tokens = list["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 8, "{list}");
        let mine = tokens.iter().find(|t| t["token_id"] == id.as_str()).unwrap();
        assert_eq!(mine["state"], "active");
        assert_eq!(mine["created_by"], "token:root");
        assert_eq!(mine["scopes"], serde_json::json!(["metrics", "read"]));
        let state_of = |name: &str| {
            tokens.iter().find(|t| t["token_id"] == name).unwrap()["state"].clone()
        };
        assert_eq!(state_of("old"), "revoked");
        assert_eq!(state_of("stale"), "expired");

        // Revoked by the admin: recorded as the admin, and the secret stops working.
        let uri = format!("/api/v1/tokens/{id}/revoke");
        let revoked = post(&app, &uri, Some(ADMIN), None, "").await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
        let body = revoked.json();
        assert_eq!(body["token_id"], id.as_str());
        assert_eq!(body["already_revoked"], false);
        assert_eq!(body["ledger_seq"], size + 1);
        let recorded = entry(&fx.store, size + 1).await;
        assert_eq!(recorded["actor"], "token:root", "{recorded}");
        assert_eq!(recorded["type"], "token.revoked", "{recorded}");
        get(&app, "/api/v1/store", Some(&secret))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");

        // Again: nothing recorded; `{}` is an accepted empty body.
        let again = post(&app, &uri, Some(ADMIN), None, "{}").await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text());
        assert_eq!(again.json()["already_revoked"], true);
        assert_eq!(again.json()["revoked_at"], body["revoked_at"]);
        assert_eq!(ledger_size(&fx.store).await, size + 2);

        let missing = post(&app, "/api/v1/tokens/tok_000000000000/revoke", Some(ADMIN), None, "")
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        assert!(
            missing["detail"].as_str().unwrap().contains("no token 'tok_000000000000'"),
            "{missing}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 2);
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn bad_token_requests_are_400_problems_that_change_nothing() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        let cases: &[(&str, &[&str])] = &[
            ("not json", &["not valid JSON", "line 1 column 2"]),
            ("", &["missing field `scopes`"]),
            (r#"{"scopes":["read"]} trailing"#, &["trailing characters"]),
            (r#"["read"]"#, &["not an object (an array)"]),
            (
                r#"{"scopes":["read"],}"#,
                &["not valid JSON", "trailing comma"],
            ),
            (
                r#"{"scopes":["read"],"colour":"blue"}"#,
                &["unknown field `colour`", "expected one of"],
            ),
            (
                r#"{"scopes":"read"}"#,
                &[
                    "field `scopes`",
                    "invalid type: string \"read\", expected a sequence",
                ],
            ),
            (
                r#"{"scopes":["read","superuser"]}"#,
                &["field `scopes[1]`", "unknown variant `superuser`"],
            ),
            (
                r#"{"scopes":["read"],"system_id":5}"#,
                &["field `system_id`", "invalid type: integer `5`"],
            ),
            (
                r#"{"scopes":["read"],"person_id":" p "}"#,
                &["field `person_id`", "leading/trailing space"],
            ),
            (
                r#"{"scopes":["read"],"expires_at":"tomorrow"}"#,
                &["field `expires_at`", "RFC 3339"],
            ),
            (
                r#"{"scopes":["read"],"description":["x"]}"#,
                &["field `description`", "invalid type"],
            ),
            (r#"{"scopes":[]}"#, &["at least one scope"]),
            (r#"{"scopes":["scim"]}"#, &["scim", "system_id"]),
            (
                r#"{"scopes":["read"],"person_id":"E404"}"#,
                &["unknown person 'E404'"],
            ),
            (
                r#"{"scopes":["read"],"expires_at":"2001-01-01T00:00:00Z"}"#,
                &["in the past"],
            ),
        ];
        for (body, needles) in cases {
            let problem = post(&app, "/api/v1/tokens", Some(ADMIN), Some("k-bad"), body)
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            let detail = problem["detail"].as_str().unwrap();
            for needle in *needles {
                assert!(
                    detail.contains(needle),
                    "{body}: {needle:?} not in {detail:?}"
                );
            }
        }
        let long = "d".repeat(1001);
        let problem = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            None,
            &format!(r#"{{"scopes":["read"],"description":"{long}"}}"#),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("1001 characters"),
            "{problem}"
        );

        // Not JSON by its content type.
        let reply = call(
            &app,
            Request::post("/api/v1/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(r#"{"scopes":["read"]}"#))
                .unwrap(),
        )
        .await;
        let problem = reply.problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{problem}"
        );

        // Idempotency keys: at most 255 characters, one header.
        let ok = r#"{"scopes":["read"]}"#;
        let problem = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            Some(&"k".repeat(256)),
            ok,
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"].as_str().unwrap().contains("255"),
            "{problem}"
        );
        post(&app, "/api/v1/tokens", Some(ADMIN), Some(""), ok)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let reply = call(
            &app,
            Request::post("/api/v1/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .header("idempotency-key", "a")
                .header("idempotency-key", "b")
                .body(Body::from(ok))
                .unwrap(),
        )
        .await;
        reply.problem(StatusCode::BAD_REQUEST, "bad_request");

        // Revocations take no body and a well-formed id.
        let problem = post(
            &app,
            "/api/v1/tokens/reader/revoke",
            Some(ADMIN),
            None,
            r#"{"reason":"x"}"#,
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("unknown field `reason`"),
            "{problem}"
        );
        let problem = post(&app, "/api/v1/tokens/a:b/revoke", Some(ADMIN), None, "")
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("token_id 'a:b'"),
            "{problem}"
        );

        assert_eq!(
            ledger_size(&fx.store).await,
            size,
            "refused requests record nothing"
        );
        assert_eq!(fx.store.tokens().await.unwrap().len(), 7);
        assert!(
            fx.store
                .idempotent_response(&Principal::Token(TokenId::parse("root").unwrap()), "k-bad")
                .await
                .unwrap()
                .is_none(),
            "failed requests leave no idempotency record"
        );
        // A key whose request failed can be used once the request is right.
        let created = post(&app, "/api/v1/tokens", Some(ADMIN), Some("k-bad"), ok).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn token_endpoints_need_the_admin_scope() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        for token in [READ, METRICS, GATE] {
            get(&app, "/api/v1/tokens", Some(token))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
            let body = post(
                &app,
                "/api/v1/tokens",
                Some(token),
                Some("k"),
                r#"{"scopes":["admin"]}"#,
            )
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
            assert!(
                body["detail"].as_str().unwrap().contains("'admin' scope"),
                "{body}"
            );
            post(&app, "/api/v1/tokens/root/revoke", Some(token), None, "")
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
        }
        // Authentication comes before the body is looked at.
        post(&app, "/api/v1/tokens", None, None, "not json")
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        post(&app, "/api/v1/tokens", Some(READ), None, "not json")
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        post(
            &app,
            "/api/v1/tokens",
            Some(REVOKED),
            None,
            r#"{"scopes":["read"]}"#,
        )
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(ledger_size(&fx.store).await, size);
        assert!(
            fx.store
                .tokens()
                .await
                .unwrap()
                .iter()
                .all(|t| t.token_id.as_str() != "root" || t.revoked_at.is_none())
        );
    })
    .await;
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_reuse_and_never_store_secrets() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let root = Principal::Token(TokenId::parse("root").unwrap());
        let size = ledger_size(&fx.store).await;
        let body = r#"{"scopes":["admin"],"description":"second admin"}"#;
        let first = post(&app, "/api/v1/tokens", Some(ADMIN), Some("create-1"), body).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
        assert!(first.headers.get("idempotent-replayed").is_none());
        let created = first.json();
        let id = created["token_id"].as_str().unwrap().to_owned();
        let secret = created["token"].as_str().unwrap().to_owned();
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The record holds the answer without the secret.
        let stored = fx
            .store
            .idempotent_response(&root, "create-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, 201);
        assert!(
            !stored.response.contains(&secret[4..]),
            "{}",
            stored.response
        );
        let remembered: Value = serde_json::from_str(&stored.response).unwrap();
        assert_eq!(remembered["token_id"], id.as_str());
        assert!(remembered.get("token").is_none(), "{remembered}");

        // The same request again: nothing new; 409 names the token, the secret is gone.
        let replay = post(&app, "/api/v1/tokens", Some(ADMIN), Some("create-1"), body).await;
        let problem = replay.problem(StatusCode::CONFLICT, "token_secret_shown_once");
        assert_eq!(replay.header("idempotent-replayed"), "true");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(&id) && detail.contains("revoke"),
            "{detail}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The same key with another body: refused, nothing done.
        let reused = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            Some("create-1"),
            r#"{"scopes":["admin"],"description":"third admin"}"#,
        )
        .await;
        let problem = reused.problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert!(reused.headers.get("idempotent-replayed").is_none());
        assert!(
            problem["detail"].as_str().unwrap().contains("create-1"),
            "{problem}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // Keys are per principal: the second admin may use the same key.
        let other = post(
            &app,
            "/api/v1/tokens",
            Some(&secret),
            Some("create-1"),
            body,
        )
        .await;
        assert_eq!(other.status, StatusCode::CREATED, "{}", other.text());
        let by_other = other.json();
        assert_eq!(by_other["created_by"], format!("token:{id}"));
        assert_eq!(
            entry(&fx.store, size + 1).await["actor"],
            format!("token:{id}")
        );
        assert_eq!(ledger_size(&fx.store).await, size + 2);

        // Revocations replay their first answer exactly.
        let victim = by_other["token_id"].as_str().unwrap();
        let uri = format!("/api/v1/tokens/{victim}/revoke");
        let revoked = post(&app, &uri, Some(ADMIN), Some("revoke-1"), "").await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
        assert_eq!(revoked.json()["already_revoked"], false);
        let replay = post(&app, &uri, Some(ADMIN), Some("revoke-1"), "").await;
        assert_eq!(replay.status, StatusCode::OK, "{}", replay.text());
        assert_eq!(replay.header("idempotent-replayed"), "true");
        assert_eq!(replay.header("content-type"), "application/json");
        assert_eq!(
            replay.json(),
            revoked.json(),
            "the first answer, not `already_revoked`"
        );
        // The same key for another path is another request.
        post(
            &app,
            "/api/v1/tokens/reader/revoke",
            Some(ADMIN),
            Some("revoke-1"),
            "",
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert_eq!(ledger_size(&fx.store).await, size + 3);
        assert!(
            fx.store
                .tokens()
                .await
                .unwrap()
                .iter()
                .any(|t| t.token_id.as_str() == "reader" && t.revoked_at.is_none())
        );

        // Concurrent duplicates: one effect, the others replay it.
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let app = app.clone();
            set.spawn(async move {
                post(
                    &app,
                    "/api/v1/tokens",
                    Some(ADMIN),
                    Some("burst"),
                    r#"{"scopes":["read"]}"#,
                )
                .await
            });
        }
        let mut created = 0;
        let mut replayed = 0;
        while let Some(reply) = set.join_next().await {
            let reply = reply.unwrap();
            match reply.status {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {
                    assert_eq!(reply.header("idempotent-replayed"), "true");
                    replayed += 1;
                }
                other => panic!("{other}: {}", reply.text()),
            }
        }
        assert_eq!((created, replayed), (1, 5));
        assert_eq!(ledger_size(&fx.store).await, size + 4);
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn a_key_taken_inside_the_transaction_is_reported_not_overwritten() {
    on_both_backends(async |fx| {
        let root = Principal::Token(TokenId::parse("root").unwrap());
        let mut tx = fx.store.begin_write().await.unwrap();
        let answer = serde_json::json!({"n": 1});
        assert!(
            tx.remember_response(&root, "k", "h1", 200, &answer)
                .await
                .unwrap()
        );
        assert!(
            !tx.remember_response(&root, "k", "h2", 201, &serde_json::json!({"n": 2}))
                .await
                .unwrap()
        );
        let seen = tx.idempotent_response(&root, "k").await.unwrap().unwrap();
        assert_eq!((seen.request_hash.as_str(), seen.status), ("h1", 200));
        // Rolled back with its transaction.
        drop(tx);
        assert!(
            fx.store
                .idempotent_response(&root, "k")
                .await
                .unwrap()
                .is_none()
        );
        let mut tx = fx.store.begin_write().await.unwrap();
        assert!(
            tx.remember_response(&root, "k", "h3", 200, &answer)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let seen = fx
            .store
            .idempotent_response(&root, "k")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.request_hash, "h3");
        assert_eq!(
            serde_json::from_str::<Value>(&seen.response).unwrap(),
            answer
        );
        // Another principal's key space.
        assert!(
            fx.store
                .idempotent_response(&Principal::system("cli"), "k")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            fx.store
                .idempotent_response(&root, &"k".repeat(256))
                .await
                .is_err()
        );
    })
    .await;
}

// ---- Readiness is cached; tokens bound to a person ----

#[tokio::test]
async fn readiness_checks_the_store_at_most_once_a_second() {
    on_both_backends(async |fx| {
        let state = fx.state();
        let app = router(state.clone());
        let started = std::time::Instant::now();
        let mut probes = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let app = app.clone();
            probes.spawn(async move { get(&app, "/readyz", None).await.status });
        }
        while let Some(status) = probes.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        let elapsed = started.elapsed();
        let checks = state.readiness_checks();
        assert!(checks >= 1, "readiness never checked the store");
        assert!(
            checks <= elapsed.as_secs() + 1,
            "{checks} store checks for 200 probes in {elapsed:?}"
        );

        // The answer is at most a second old: a closed store shows soon.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        fx.store.close().await;
        get(&app, "/readyz", None)
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        assert_eq!(state.readiness_checks(), checks + 1);
        // Failures are cached too: probes do not hammer a broken store.
        for _ in 0..20 {
            get(&app, "/readyz", None)
                .await
                .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        }
        assert!(state.readiness_checks() <= checks + 2);
    })
    .await;
}

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

#[tokio::test]
async fn tokens_of_terminated_or_unknown_people_stop_working() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let actor = Principal::system("test");
        put_person(&fx.store, &test_person("ada", PersonStatus::Active), true).await;
        put_person(&fx.store, &test_person("bob", PersonStatus::Leave), true).await;
        put_person(
            &fx.store,
            &test_person("eve", PersonStatus::Terminated),
            true,
        )
        .await;
        for (id, secret, person) in [
            ("ada-token", "ada-secret", "ada"),
            ("bob-token", "bob-secret", "bob"),
            ("eve-token", "eve-secret", "eve"),
            ("ghost-token", "ghost-secret", "ghost"),
        ] {
            fx.store
                .append_one(&actor, &bound_token_event(id, secret, person))
                .await
                .unwrap();
        }

        // Active and on leave: the token works.
        for secret in ["ada-secret", "bob-secret"] {
            let reply = get(&app, "/api/v1/store", Some(secret)).await;
            assert_eq!(reply.status, StatusCode::OK, "{secret}: {}", reply.text());
        }
        // Terminated or not in the inventory: 401, saying why.
        for (secret, why) in [
            ("eve-secret", "person eve, who is terminated"),
            ("ghost-secret", "person ghost, who is not in the inventory"),
        ] {
            let reply = get(&app, "/api/v1/store", Some(secret)).await;
            let body = reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(reply.header("www-authenticate").starts_with("Bearer"));
            assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
        }

        // Ada leaves: her token stops at once, without a revocation.
        put_person(
            &fx.store,
            &test_person("ada", PersonStatus::Terminated),
            false,
        )
        .await;
        let body = get(&app, "/api/v1/store", Some("ada-secret"))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("person ada, who is terminated"),
            "{body}"
        );
        // Tokens bound to nobody are unaffected.
        assert_eq!(
            get(&app, "/api/v1/store", Some(READ)).await.status,
            StatusCode::OK
        );
        assert_verifies(&fx).await;
    })
    .await;
}

#[path = "api/ci_identity.rs"]
mod ci_identity;
#[path = "api/edges.rs"]
mod edges;
#[path = "api/inventory.rs"]
mod inventory;

#[path = "api/requests.rs"]
mod requests;
#[path = "api/scim.rs"]
mod scim;
#[path = "api/sod.rs"]
mod sod;

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
