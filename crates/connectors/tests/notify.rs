//! Notifications through real receivers: aiosmtpd (SMTP, from the venv
//! `./test.sh` fills) and axum servers on loopback (webhooks), from an
//! outbox on SQLite and on a throw-away PostgreSQL. Missing tools fail the
//! tests; nothing is skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use soxctl_connectors::notify::{Notifier, NotifyConfig};
use soxctl_model::clock::ManualClock;
use soxctl_model::event::{Event, Origin, PersonFact, TokenCreated};
use soxctl_model::ids::{PersonId, TokenId};
use soxctl_model::inventory::{Person, PersonStatus};
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use soxctl_store::{FailPoints, Location, OpenOptions, OutboxPolicy, Store};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "s3cret-hmac-key";
const START: &str = "2025-07-01T08:00:00Z";

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::{Backend, Env};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Env::new(Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Env::new(Backend::Postgres).await).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    clock: Arc<ManualClock>,
    next_token: AtomicU64,
}

/// Short backoff, so a retry is due after one tick of the manual clock.
fn policy() -> OutboxPolicy {
    OutboxPolicy {
        backoff_base: Duration::from_secs(1),
        ..OutboxPolicy::default()
    }
}

impl Env {
    async fn new(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("data")),
            Backend::Postgres => Location::Postgres(
                soxctl_testkit::postgres()
                    .and_then(|pg| pg.fresh_database())
                    .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}")),
            ),
        };
        let clock = Arc::new(ManualClock::new(Timestamp::parse(START).unwrap()));
        let store = Store::open(OpenOptions {
            location,
            create: true,
            clock: clock.clone(),
            failpoints: FailPoints::default(),
        })
        .await
        .unwrap();
        store
            .initialise(Some("test.soxctl.example/notify".into()), false)
            .await
            .unwrap();
        Env {
            _dir: dir,
            store,
            clock,
            next_token: AtomicU64::new(1),
        }
    }

    async fn add_people(&self, people: &[(&str, Option<&str>)]) {
        let mut tx = self.store.begin_write().await.unwrap();
        for (id, email) in people {
            let sealed = tx
                .seal_person(&Person {
                    person_id: PersonId::parse(*id).unwrap(),
                    name: Some(format!("Person {id}")),
                    email: email.map(str::to_owned),
                    manager_id: None,
                    department: None,
                    title: None,
                    status: PersonStatus::Active,
                    hire_date: None,
                    termination_date: None,
                })
                .await
                .unwrap();
            tx.append(
                &Principal::system("test"),
                &Event::PersonAdded(PersonFact {
                    origin: Origin::default(),
                    changed: None,
                    person: sealed,
                }),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn erase(&self, id: &str) {
        let mut tx = self.store.begin_write().await.unwrap();
        soxctl_store::erasure::erase_person(
            &mut tx,
            &Principal::system("test"),
            &PersonId::parse(id).unwrap(),
            "erasure request 1",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// Appends an entry and queues a message about it, as producers do;
    /// returns the message id.
    async fn enqueue(&self, topic: &str, payload: Value) -> u64 {
        let i = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut tx = self.store.begin_write().await.unwrap();
        tx.append(
            &Principal::system("test"),
            &Event::TokenCreated(TokenCreated {
                token_id: TokenId::parse(format!("tok{i:05}")).unwrap(),
                secret_sha256: format!("{i:064x}"),
                scopes: vec![Scope::Read],
                system_id: None,
                person_id: None,
                expires_at: None,
                description: None,
                repo: None,
                environments: Vec::new(),
            }),
        )
        .await
        .unwrap();
        tx.enqueue(topic, &payload).await.unwrap();
        tx.commit().await.unwrap();
        self.store
            .outbox_records(0, 10_000)
            .await
            .unwrap()
            .last()
            .unwrap()
            .id
    }

    async fn notifier(&self, config: &str) -> Notifier {
        let config: NotifyConfig = toml::from_str(config).unwrap();
        let channels = config
            .resolve(|name| (name == "SECRET").then(|| SECRET.to_owned()))
            .unwrap();
        Notifier::new(self.store.clone(), channels).await.unwrap()
    }

    async fn pass(&self, notifier: &Notifier) -> soxctl_store::DeliveryReport {
        self.store
            .deliver_due_with(notifier, 64, &policy())
            .await
            .unwrap()
    }

    async fn record(&self, id: u64) -> soxctl_store::OutboxRecord {
        self.store
            .outbox_records(id - 1, 1)
            .await
            .unwrap()
            .pop()
            .unwrap()
    }
}

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// An axum server on a loopback port that records every POST and answers
/// 500 to the first `failures` requests on `/flaky`.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let left = Arc::new(AtomicUsize::new(failures));
        let record = |path: &'static str, got: Arc<Mutex<Vec<Received>>>| {
            move |headers: HeaderMap, body: Bytes| {
                let got = got.clone();
                async move {
                    got.lock().unwrap().push(Received {
                        path: path.to_owned(),
                        headers,
                        body,
                    });
                    StatusCode::OK
                }
            }
        };
        let flaky = {
            let got = got.clone();
            move |headers: HeaderMap, body: Bytes| {
                let got = got.clone();
                let left = left.clone();
                async move {
                    got.lock().unwrap().push(Received {
                        path: "/flaky".to_owned(),
                        headers,
                        body,
                    });
                    if left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "database on fire\nretry later",
                        )
                    } else {
                        (StatusCode::OK, "ok")
                    }
                }
            }
        };
        let app = axum::Router::new()
            .route("/slack", post(record("/slack", got.clone())))
            .route("/siem", post(record("/siem", got.clone())))
            .route("/flaky", post(flaky));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { port, got }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self, path: &str) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

/// What a receiver of a generic webhook does, written independently of the
/// sender: recompute the HMAC over "timestamp.body" and compare in constant
/// time; refuse timestamps far from its own clock.
fn verify_signature(r: &Received, now_unix: i64) {
    let header = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let timestamp = header("x-soxctl-timestamp");
    let signature = header("x-soxctl-signature");
    let ts: i64 = timestamp.parse().unwrap();
    assert!((now_unix - ts).abs() <= 300, "a fresh timestamp: {ts}");
    let hex_mac = signature.strip_prefix("sha256=").expect("sha256= prefix");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    mac.verify_slice(&hex::decode(hex_mac).unwrap())
        .expect("the signature verifies");
    // A tampered body does not.
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{{}}").as_bytes());
    assert!(mac.verify_slice(&hex::decode(hex_mac).unwrap()).is_err());
}

#[path = "notify/email.rs"]
mod email;
#[path = "notify/tls.rs"]
mod tls;
#[path = "notify/webhooks.rs"]
mod webhooks;
