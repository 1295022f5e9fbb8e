//! Three `soxctl serve` replicas on one PostgreSQL database, written to
//! concurrently over raw HTTP/1.1: every success is exactly one ledger entry,
//! duplicates with one Idempotency-Key act once across replicas, and the
//! ledger stays gap-free and verifiable.

use crate::helpers::{Sandbox, note_parts};
use crate::serve::{Server, free_port};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const THREADS: usize = 3;
const REQUESTS: usize = 30;

struct Reply {
    status: u16,
    headers: String,
    body: String,
}

/// One `POST path` with a JSON body over a fresh connection.
fn post(port: u16, path: &str, token: &str, key: Option<&str>, body: &str) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let key = key
        .map(|k| format!("Idempotency-Key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n{key}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn entries(sb: &Sandbox, url: &str, key: &std::path::Path) -> u64 {
    let report = sb
        .run(args![
            "verify",
            "--database",
            url,
            "--signing-key",
            key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(report["ok"], true, "{report}");
    report["entries"].as_u64().expect("entries")
}

fn checkpoint(sb: &Sandbox, url: &str, key: &std::path::Path) -> (u64, String) {
    let note = sb
        .run(args![
            "ledger",
            "checkpoint",
            "--database",
            url,
            "--signing-key",
            key
        ])
        .ok()
        .stdout
        .clone();
    let (_, size, root) = note_parts(&note);
    (size, root)
}

fn hash(value: &serde_json::Value) -> soxctl_ledger::tree::Hash {
    BASE64
        .decode(value.as_str().expect("base64 string"))
        .expect("base64")
        .try_into()
        .expect("32 bytes")
}

#[test]
fn replicas_on_one_postgres_issue_tokens_concurrently_without_gaps() {
    let url = soxctl_testkit::postgres()
        .expect("throw-away PostgreSQL")
        .fresh_database()
        .expect("fresh database");
    let sb = Sandbox::new();
    let key = sb.path("signing.key");

    // The first admin comes from the command line (which creates the store).
    let admin = sb
        .run(args![
            "token",
            "create",
            "--database",
            &url,
            "--signing-key",
            &key,
            "--scope",
            "admin"
        ])
        .ok()
        .last_line()
        .to_owned();
    let tokens = sb
        .run(args![
            "token",
            "list",
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    let admin_id = tokens[0]["token_id"].as_str().expect("id").to_owned();
    let initial = entries(&sb, &url, &key);
    let (signed, initial_root) = checkpoint(&sb, &url, &key);
    assert_eq!(signed, initial, "token create signs a checkpoint");

    let servers: Vec<Server> = (0..3)
        .map(|i| {
            let port = free_port();
            Server::start(
                &sb,
                &format!("replica{i}"),
                args![
                    "serve",
                    "--database",
                    &url,
                    "--signing-key",
                    &key,
                    "--listen",
                    format!("127.0.0.1:{port}")
                ],
                port,
            )
        })
        .collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();

    // Each thread cycles through the replicas. Even requests are distinct;
    // odd ones carry a key and body shared by all threads, so the three
    // copies of one race on three replicas at once.
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (admin, ports, start) = (admin.clone(), ports.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                (0..REQUESTS)
                    .map(|i| {
                        let port = ports[(t + i) % ports.len()];
                        let (key, body) = if i % 2 == 0 {
                            (
                                None,
                                format!(r#"{{"scopes":["read"],"description":"t{t}-{i}"}}"#),
                            )
                        } else {
                            (
                                Some(format!("shared-{i}")),
                                format!(r#"{{"scopes":["read"],"description":"shared-{i}"}}"#),
                            )
                        };
                        (
                            i,
                            post(port, "/api/v1/tokens", &admin, key.as_deref(), &body),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut created = 0u64;
    let mut winners: BTreeMap<usize, usize> = BTreeMap::new();
    for handle in handles {
        for (i, reply) in handle.join().expect("client thread") {
            match reply.status {
                201 => {
                    created += 1;
                    assert!(reply.body.contains(r#""token":"sxt_"#), "{}", reply.body);
                    assert!(
                        reply
                            .body
                            .contains(&format!(r#""created_by":"token:{admin_id}""#)),
                        "{}",
                        reply.body
                    );
                    if i % 2 == 1 {
                        *winners.entry(i).or_default() += 1;
                    }
                }
                409 if i % 2 == 1 => {
                    assert!(
                        reply.headers.contains("idempotent-replayed: true"),
                        "{}",
                        reply.headers
                    );
                    assert!(
                        reply.body.contains("token_secret_shown_once"),
                        "{}",
                        reply.body
                    );
                }
                other => panic!(
                    "request {i} answered {other}: {}\n{}",
                    reply.body,
                    servers
                        .iter()
                        .map(Server::logs)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }
    let shared = (REQUESTS / 2) as u64;
    let distinct = (THREADS * REQUESTS / 2) as u64;
    assert_eq!(
        winners.len() as u64,
        shared,
        "every shared key created a token"
    );
    assert!(
        winners.values().all(|n| *n == 1),
        "one token per shared key across replicas: {winners:?}"
    );
    assert_eq!(created, distinct + shared);

    for server in servers {
        server.stop();
    }

    // Gap-free: one entry per success, and the store verifies.
    let after = entries(&sb, &url, &key);
    assert_eq!(after, initial + created, "{initial} + {created}");
    let tokens = sb
        .run(args![
            "token",
            "list",
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    let tokens = tokens.as_array().expect("array");
    assert_eq!(tokens.len() as u64, 1 + created);
    assert!(
        tokens
            .iter()
            .filter(|t| t["token_id"] != admin_id.as_str())
            .all(|t| t["created_by"] == format!("token:{admin_id}")),
        "the ledger actor is the calling token"
    );
    // The replicas signed the final size on shutdown; it extends the first checkpoint.
    let (size, final_root) = checkpoint(&sb, &url, &key);
    assert_eq!(size, after);
    let proof = sb
        .run(args![
            "ledger",
            "proof",
            "consistency",
            "--from",
            initial.to_string(),
            "--to",
            after.to_string(),
            "--database",
            &url,
            "--signing-key",
            &key,
            "--format",
            "json"
        ])
        .ok()
        .json();
    assert_eq!(proof["root1"], initial_root.as_str());
    assert_eq!(proof["root2"], final_root.as_str());
    let hashes: Vec<_> = proof["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(hash)
        .collect();
    soxctl_ledger::verify_consistency(
        initial,
        after,
        &hashes,
        &hash(&proof["root1"]),
        &hash(&proof["root2"]),
    )
    .expect("the final ledger extends the initial one");
}
