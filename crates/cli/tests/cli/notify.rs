//! `soxctl serve` with a `[notify]` configuration delivers outbox messages:
//! an email to aiosmtpd and a signed webhook to a receiver on loopback,
//! for a message another process commits to the store (SQLite and
//! PostgreSQL). And a configuration that cannot work stops `serve` at start.

use crate::helpers::Sandbox;
use crate::serve::{Server, free_port};
use serde_json::{Value, json};
use soxctl_model::clock::SystemClock;
use soxctl_model::event::{Event, Origin, PersonFact};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::{Person, PersonStatus};
use soxctl_model::principal::Principal;
use soxctl_store::{FailPoints, Location, OpenOptions, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "e2e-webhook-key";

/// One request as a minimal HTTP/1.1 server read it.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// Answers 204 to every request on a thread, keeping what it got.
fn webhook_receiver() -> (u16, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<Request>>> = Arc::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let request = Request {
                head,
                body: Vec::new(),
            };
            let length: usize = request
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            keep.lock().unwrap().push(Request { body, ..request });
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

fn wait_until(what: &str, server: &Server, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} within 30 s:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The store `serve` uses, opened by this (second) process.
async fn open(location: Location) -> Store {
    Store::open(OpenOptions {
        location,
        create: false,
        clock: Arc::new(SystemClock),
        failpoints: FailPoints::default(),
    })
    .await
    .unwrap()
}

/// What a producer does: an entry (here a person joining) and, in the same
/// transaction, a message about it. Returns the message id.
fn produce(location: Location) -> u64 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(location).await;
        let mut tx = store.begin_write().await.unwrap();
        let sealed = tx
            .seal_person(&Person {
                person_id: PersonId::parse("p1001").unwrap(),
                name: Some("Ada Lovelace".into()),
                email: Some("ada@example.com".into()),
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
        tx.enqueue(
            "request.created",
            &json!({
                "request_id": "req_42",
                "notify": {
                    "subject": "Access request req_42 awaits your approval",
                    "text": "p2002 asks for erp:PAYMENT_APPROVE.",
                    "link": "/api/v1/requests/req_42",
                    "recipients": ["p1001"]
                }
            }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let id = store
            .outbox_records(0, 100)
            .await
            .unwrap()
            .last()
            .unwrap()
            .id;
        store.close().await;
        id
    })
}

fn outbox_delivered(location: Location, id: u64) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open(location).await;
        let records = store.outbox_records(id - 1, 1).await.unwrap();
        store.close().await;
        records.first().is_some_and(|r| r.delivered_at.is_some())
    })
}

fn serve_delivers(store_args: Vec<std::ffi::OsString>, location: Location) {
    let sb = Sandbox::new();
    let sink = soxctl_testkit::smtp_sink().unwrap_or_else(|e| panic!("{e}"));
    let (hook_port, hooks) = webhook_receiver();
    let config = sb.path("soxctl.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[notify]
base_url = "https://soxctl.example.com"
[notify.smtp]
url = "{smtp}"
from = "soxctl <soxctl@example.com>"
topics = ["request.*"]
[[notify.webhook]]
name = "siem"
url = "http://127.0.0.1:{hook_port}/hook"
format = "generic"
secret_env = "SOXCTL_WEBHOOK_SECRET"
"#,
            smtp = sink.url()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut args = args![
        "serve",
        "--config",
        &config,
        "--listen",
        format!("127.0.0.1:{port}")
    ];
    args.extend(store_args);
    let server = Server::start_with_env(
        &sb,
        "serve",
        args,
        port,
        &[("SOXCTL_WEBHOOK_SECRET", SECRET)],
    );

    let id = produce(location.clone());
    wait_until("one mail", &server, || !sink.mails().is_empty());
    wait_until("one webhook", &server, || !hooks.lock().unwrap().is_empty());

    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.header("X-RcptTo").unwrap(), "ada@example.com");
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Access request req_42 awaits your approval"
    );
    assert_eq!(mail.header("X-Soxctl-Message-Id").unwrap(), id.to_string());
    let body = mail.body();
    assert!(
        body.contains("p2002 asks for erp:PAYMENT_APPROVE."),
        "{body}"
    );
    assert!(
        body.contains("https://soxctl.example.com/api/v1/requests/req_42"),
        "{body}"
    );

    let hooks = hooks.lock().unwrap();
    let hook = &hooks[0];
    assert!(
        hook.head.starts_with("POST /hook HTTP/1.1"),
        "{}",
        hook.head
    );
    let timestamp = hook.header("x-soxctl-timestamp").unwrap();
    let signature = hook.header("x-soxctl-signature").unwrap();
    assert_eq!(
        signature,
        soxctl_connectors::notify::signature(
            SECRET.as_bytes(),
            timestamp.parse().unwrap(),
            &hook.body
        )
    );
    let message: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(message["id"], id);
    assert_eq!(message["topic"], "request.created");
    assert_eq!(message["payload"]["request_id"], "req_42");
    drop(hooks);

    wait_until("the message settled", &server, || {
        outbox_delivered(location.clone(), id)
    });
    server.stop();
}

#[test]
fn serve_delivers_outbox_messages_by_email_and_webhook_on_sqlite() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    serve_delivers(args!["--data", &data], Location::Sqlite(data.clone()));
}

#[test]
fn serve_delivers_outbox_messages_by_email_and_webhook_on_postgres() {
    let url = soxctl_testkit::postgres()
        .expect("throw-away PostgreSQL")
        .fresh_database()
        .expect("fresh database");
    let sb = Sandbox::new();
    let key = sb.path("signing.key");
    serve_delivers(
        args!["--database", &url, "--signing-key", &key],
        Location::Postgres(url.clone()),
    );
}

#[test]
fn serve_refuses_a_notify_configuration_that_cannot_work() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let config = sb.path("soxctl.toml");
    let serve = |text: &str| {
        std::fs::write(&config, text).unwrap();
        sb.run(args![
            "serve",
            "--config",
            &config,
            "--data",
            &data,
            "--listen",
            "127.0.0.1:0"
        ])
    };
    let hook = |extra: &str| {
        format!(
            "[[notify.webhook]]\nname = \"siem\"\nurl = \"https://siem.example.com/hook\"\n{extra}\n"
        )
    };
    serve(&hook("format = \"teams\""))
        .code(2)
        .stderr_has(&["teams", "slack", "generic"]);
    serve(&hook(
        "format = \"generic\"\nsecret_env = \"SOXCTL_TEST_UNSET_SECRET\"",
    ))
    .code(2)
    .stderr_has(&[
        "webhook \"siem\" secret_env",
        "SOXCTL_TEST_UNSET_SECRET",
        "not set",
    ]);
    serve("[notify.smtp]\nurl = \"mail.example.com:25\"\nfrom = \"soxctl@example.com\"\n")
        .code(2)
        .stderr_has(&["[notify] smtp url", "smtp://"]);
}
