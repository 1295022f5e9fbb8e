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

on_both_backends!(
    email_reaches_each_recipient_once_and_skips_who_cannot_be_mailed,
    webhooks_are_signed_retried_and_never_repeated_to_a_channel_that_got_them,
    a_receiver_that_is_down_is_a_failure_with_its_address,
    tls_to_smtp_and_https_receivers_is_checked_against_the_configured_ca,
);

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

async fn email_reaches_each_recipient_once_and_skips_who_cannot_be_mailed(env: Env) {
    let sink = soxctl_testkit::smtp_sink().unwrap_or_else(|e| panic!("{e}"));
    let receiver = Receiver::start(1).await;
    env.add_people(&[
        ("p1001", Some("ada@example.com")),
        ("p2002", Some("bob@example.com")),
        ("p3003", Some("erased@example.com")),
        ("p4004", None),
    ])
    .await;
    env.erase("p3003").await;
    let notifier = env
        .notifier(&format!(
            r#"
base_url = "https://soxctl.example.com/"
[smtp]
url = "{smtp}"
from = "soxctl <soxctl@example.com>"
topics = ["request.*"]
[[webhook]]
name = "siem"
url = "{flaky}"
format = "generic"
secret_env = "SECRET"
"#,
            smtp = sink.url(),
            flaky = receiver.url("/flaky"),
        ))
        .await;
    let id = env
        .enqueue(
            "request.created",
            json!({
                "request_id": "req_1",
                "notify": {
                    "subject": "Access request req_1 awaits your approval",
                    "text": "Ada asks for erp:PAYMENT_APPROVE.\nReason: quarter close.",
                    "link": "/api/v1/requests/req_1",
                    "recipients": ["p1001", "p3003", "p4004", "p9999", "p2002", "p1001"],
                    "severity": "high"
                }
            }),
        )
        .await;

    // First pass: both mails go out, the webhook answers 500.
    let report = env.pass(&notifier).await;
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 0, 1));
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("webhook:siem")
            && error.contains("500")
            && error.contains("database on fire"),
        "{error}"
    );
    assert!(!error.contains("smtp:"), "mail went out: {error}");
    let mails = sink.wait_for(2, Duration::from_secs(10)).unwrap();
    assert_eq!(mails.len(), 2);
    let mut rcpts: Vec<String> = mails
        .iter()
        .map(|m| m.header("X-RcptTo").unwrap())
        .collect();
    rcpts.sort();
    assert_eq!(rcpts, vec!["ada@example.com", "bob@example.com"]);
    for mail in &mails {
        assert_eq!(
            mail.header("Subject").unwrap(),
            "Access request req_1 awaits your approval"
        );
        assert_eq!(mail.header("X-MailFrom").unwrap(), "soxctl@example.com");
        assert_eq!(mail.header("X-Soxctl-Message-Id").unwrap(), id.to_string());
        assert_eq!(mail.header("X-Soxctl-Topic").unwrap(), "request.created");
        assert_eq!(mail.header("X-Soxctl-Severity").unwrap(), "high");
        let message_id = mail.header("Message-ID").unwrap();
        assert!(
            message_id.starts_with("<soxctl.") && message_id.ends_with("@example.com>"),
            "{message_id}"
        );
        let body = mail.body();
        assert!(
            body.contains("Ada asks for erp:PAYMENT_APPROVE.\nReason: quarter close."),
            "{body}"
        );
        assert!(
            body.contains("https://soxctl.example.com/api/v1/requests/req_1"),
            "{body}"
        );
    }
    let ada = mails
        .iter()
        .find(|m| m.header("X-RcptTo").unwrap() == "ada@example.com")
        .unwrap();
    let to = ada.header("To").unwrap();
    assert!(
        to.contains("Person p1001") && to.ends_with("<ada@example.com>"),
        "{to}"
    );

    // The retry reaches the webhook and sends no mail again.
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env.pass(&notifier).await;
    assert_eq!((report.claimed, report.delivered), (1, 1));
    assert_eq!(receiver.requests("/flaky").len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 2, "no mail is sent twice");
    assert_eq!(
        env.store.outbox_channels_sent(id).await.unwrap(),
        ["smtp:p1001", "smtp:p2002", "webhook:siem"]
            .into_iter()
            .map(String::from)
            .collect()
    );

    // Recording a channel twice (two workers after a lapsed claim) keeps one record.
    env.store
        .outbox_channel_sent(id, "webhook:siem")
        .await
        .unwrap();
    assert_eq!(env.store.outbox_channels_sent(id).await.unwrap().len(), 3);

    // A topic outside the email's globs, and a message without `notify`,
    // send no mail.
    env.enqueue(
        "grant.expired",
        json!({"notify": {"subject": "s", "recipients": ["p1001"]}}),
    )
    .await;
    env.enqueue("request.denied", json!({"request_id": "req_2"}))
        .await;
    let report = env.pass(&notifier).await;
    assert_eq!(report.delivered, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mails().len(), 2);
}

async fn webhooks_are_signed_retried_and_never_repeated_to_a_channel_that_got_them(env: Env) {
    let receiver = Receiver::start(1).await;
    let notifier = env
        .notifier(&format!(
            r#"
base_url = "https://soxctl.example.com"
[[webhook]]
name = "slack-sox"
url = "{slack}"
format = "slack"
topics = ["sod.violation.opened", "breakglass.used"]
[[webhook]]
name = "siem"
url = "{siem}"
format = "generic"
secret_env = "SECRET"
topics = ["breakglass.*", "sod.*"]
[[webhook]]
name = "flaky"
url = "{flaky}"
format = "generic"
secret_env = "SECRET"
topics = ["breakglass.used"]
"#,
            slack = receiver.url("/slack"),
            siem = receiver.url("/siem"),
            flaky = receiver.url("/flaky"),
        ))
        .await;
    let payload = json!({
        "grant": "erp:PAYMENT_APPROVE",
        "notify": {
            "subject": "Break-glass access used by p1001",
            "text": "Emergency access to erp:PAYMENT_APPROVE.\nReview within 24 h.",
            "link": "/api/v1/grants/g_1",
            "recipients": ["p2002"],
            "severity": "critical"
        }
    });
    let id = env.enqueue("breakglass.used", payload.clone()).await;

    let report = env.pass(&notifier).await;
    assert_eq!((report.delivered, report.failed), (0, 1));
    let record = env.record(id).await;
    assert!(
        record
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("webhook:flaky: ")
            && record.last_error.as_deref().unwrap().contains("500"),
        "{:?}",
        record.last_error
    );

    // Slack: {"text": "<subject>\n<text>\n<link>"}, the link made absolute.
    let slack = receiver.requests("/slack");
    assert_eq!(slack.len(), 1);
    let body: Value = serde_json::from_slice(&slack[0].body).unwrap();
    assert_eq!(
        body,
        json!({"text": "Break-glass access used by p1001\nEmergency access to erp:PAYMENT_APPROVE.\nReview within 24 h.\nhttps://soxctl.example.com/api/v1/grants/g_1"})
    );
    assert_eq!(
        slack[0].headers.get("content-type").unwrap(),
        "application/json"
    );

    // Generic: the whole message, signed over "timestamp.body".
    let siem = receiver.requests("/siem");
    assert_eq!(siem.len(), 1);
    let now_unix = Timestamp::parse(START).unwrap().micros() / 1_000_000;
    verify_signature(&siem[0], now_unix);
    assert_eq!(
        siem[0].headers.get("x-soxctl-message-id").unwrap(),
        &id.to_string()
    );
    let body: Value = serde_json::from_slice(&siem[0].body).unwrap();
    assert_eq!(body["id"], id);
    assert_eq!(body["seq"], record.seq);
    assert_eq!(body["topic"], "breakglass.used");
    assert_eq!(body["created_at"], record.created_at.to_canonical());
    assert_eq!(body["payload"], payload);

    // Not due yet: the backoff holds the retry back.
    assert_eq!(env.pass(&notifier).await.claimed, 0);
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env.pass(&notifier).await;
    assert_eq!((report.delivered, report.failed), (1, 0));
    let flaky = receiver.requests("/flaky");
    assert_eq!(flaky.len(), 2, "the failed channel is retried");
    let retried_at = Timestamp::parse(START).unwrap().micros() / 1_000_000 + 2;
    verify_signature(&flaky[1], retried_at);
    assert_eq!(
        flaky[0].headers.get("x-soxctl-message-id"),
        flaky[1].headers.get("x-soxctl-message-id"),
        "the same id on every attempt, for deduplication"
    );
    assert_eq!(
        receiver.requests("/slack").len(),
        1,
        "no duplicate to Slack"
    );
    assert_eq!(
        receiver.requests("/siem").len(),
        1,
        "no duplicate to the SIEM"
    );

    // A message no channel matches is settled without a request.
    let unmatched = env.enqueue("grant.expired", json!({})).await;
    let before = receiver.got.lock().unwrap().len();
    assert_eq!(env.pass(&notifier).await.delivered, 1);
    assert!(env.record(unmatched).await.delivered_at.is_some());
    assert_eq!(receiver.got.lock().unwrap().len(), before);

    // Without `notify`, Slack gets the topic and the payload's summary.
    env.enqueue(
        "sod.violation.opened",
        json!({"summary": "p1001 can create <vendors> & pay them"}),
    )
    .await;
    assert_eq!(env.pass(&notifier).await.delivered, 1);
    let slack = receiver.requests("/slack");
    let body: Value = serde_json::from_slice(&slack[1].body).unwrap();
    assert_eq!(
        body["text"],
        "soxctl: sod.violation.opened\np1001 can create &lt;vendors&gt; &amp; pay them"
    );
}

async fn a_receiver_that_is_down_is_a_failure_with_its_address(env: Env) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let notifier = env
        .notifier(&format!(
            r#"
[[webhook]]
name = "down"
url = "http://127.0.0.1:{port}/secret-path-token"
format = "slack"
"#
        ))
        .await;
    let id = env.enqueue("request.expired", json!({})).await;
    let report = env.pass(&notifier).await;
    assert_eq!(report.failed, 1);
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("cannot connect") && error.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(
        !error.contains("secret-path-token"),
        "paths may hold tokens: {error}"
    );
}

/// An HTTPS receiver with a certificate for 127.0.0.1 from `dir`'s CA: it
/// reads one request per connection by hand and answers 200.
async fn https_receiver(dir: &std::path::Path) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let chain = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            // A client that refuses our certificate ends its handshake here.
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = |r: &[u8]| {
                let text = String::from_utf8_lossy(r);
                let Some((head, body)) = text.split_once("\r\n\r\n") else {
                    return false;
                };
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                body.len() >= length
            };
            while !complete(&request) {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            keep.lock().unwrap().push(request);
            let _ = tls
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = tls.shutdown().await;
        }
    });
    (port, got)
}

async fn tls_to_smtp_and_https_receivers_is_checked_against_the_configured_ca(env: Env) {
    use soxctl_testkit::SinkTls;
    env.add_people(&[("p1001", Some("ada@example.com"))]).await;
    let payload = json!({"notify": {"subject": "Over TLS", "text": "Sealed in transit.", "recipients": ["p1001"]}});
    for mode in [SinkTls::StartTls, SinkTls::Implicit] {
        let sink = soxctl_testkit::smtp_sink_with_tls(mode).unwrap_or_else(|e| panic!("{e}"));
        let ca = sink.ca_file().unwrap();
        // The system's roots do not know the throw-away CA: refused.
        let untrusting = env
            .notifier(&format!(
                "[smtp]\nurl = \"{}\"\nfrom = \"soxctl@example.com\"\n",
                sink.url()
            ))
            .await;
        let id = env.enqueue("request.created", payload.clone()).await;
        let report = env.pass(&untrusting).await;
        assert_eq!(report.failed, 1, "{mode:?}");
        let error = env.record(id).await.last_error.unwrap();
        assert!(
            error.contains("smtp:p1001") && error.to_lowercase().contains("certificate"),
            "{mode:?}: {error}"
        );
        assert!(sink.mails().is_empty());

        // With the CA: delivered, over TLS.
        let trusting = env
            .notifier(&format!(
                "[smtp]\nurl = \"{}\"\nfrom = \"soxctl@example.com\"\nca_file = {:?}\n",
                sink.url(),
                ca.display().to_string()
            ))
            .await;
        env.clock.advance(chrono::Duration::seconds(2));
        let report = env.pass(&trusting).await;
        assert_eq!(
            (report.delivered, report.failed),
            (1, 0),
            "{mode:?}: {:?}",
            env.record(id).await.last_error
        );
        let mails = sink.wait_for(1, Duration::from_secs(10)).unwrap();
        assert_eq!(mails[0].header("Subject").unwrap(), "Over TLS");
        assert!(mails[0].body().contains("Sealed in transit."));
    }

    let certs = tempfile::tempdir().unwrap();
    soxctl_testkit::make_certificates(certs.path()).unwrap();
    let (port, got) = https_receiver(certs.path()).await;
    let hook = |ca: Option<&std::path::Path>| {
        let ca = ca
            .map(|p| format!("ca_file = {:?}\n", p.display().to_string()))
            .unwrap_or_default();
        format!(
            "[[webhook]]\nname = \"siem\"\nurl = \"https://127.0.0.1:{port}/hook\"\nformat = \"generic\"\nsecret_env = \"SECRET\"\n{ca}"
        )
    };
    let id = env
        .enqueue("finding.opened", json!({"finding_id": "f1"}))
        .await;
    let report = env.pass(&env.notifier(&hook(None)).await).await;
    assert_eq!(report.failed, 1);
    let error = env.record(id).await.last_error.unwrap();
    assert!(
        error.contains("TLS with https://127.0.0.1:")
            && error.to_lowercase().contains("certificate"),
        "{error}"
    );
    env.clock.advance(chrono::Duration::seconds(2));
    let report = env
        .pass(
            &env.notifier(&hook(Some(&certs.path().join("ca.pem"))))
                .await,
        )
        .await;
    assert_eq!(report.delivered, 1, "{:?}", env.record(id).await.last_error);
    let got = got.lock().unwrap();
    let request = String::from_utf8_lossy(got.last().unwrap()).into_owned();
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\"finding_id\":\"f1\""), "{request}");
}
