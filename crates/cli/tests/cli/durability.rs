//! Nothing acknowledged is ever lost: clients write through a server that is
//! killed (SIGKILL) mid-load; every token the server answered 201 for is in
//! the store afterwards, the ledger verifies, and writing resumes.

use crate::helpers::Sandbox;
use crate::serve::{Server, free_port};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `POST /api/v1/tokens`; None when the connection fails or is cut.
fn try_post(port: u16, token: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[test]
fn acknowledged_writes_survive_a_crash() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let admin = sb.create_token(&data, &["--init", "--scope", "admin"]);
    let port = free_port();
    let server = Server::start(
        &sb,
        "crash",
        args![
            "serve",
            "--data",
            &data,
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );

    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let running = Arc::new(AtomicBool::new(true));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (acknowledged, running, admin) =
                (acknowledged.clone(), running.clone(), admin.clone());
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    let body = r#"{"scopes":["read"],"description":"crash test"}"#;
                    // A connection cut by the crash is simply not acknowledged.
                    let Some((status, reply)) = try_post(port, &admin, body) else {
                        break;
                    };
                    if status == 201 {
                        let json: serde_json::Value = serde_json::from_str(&reply).expect("json");
                        let id = json["token_id"].as_str().expect("token_id").to_owned();
                        acknowledged.lock().expect("lock").insert(id);
                    }
                }
            })
        })
        .collect();
    // Crash mid-load: once some writes were acknowledged (slow machines get
    // up to 30 s), while the clients are still writing.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().expect("lock").len() < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    server.crash();
    running.store(false, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 5,
        "too few writes before the crash: {}",
        acknowledged.len()
    );

    let stored: BTreeSet<String> = sb
        .tokens(&data)
        .iter()
        .map(|t| t["token_id"].as_str().expect("id").to_owned())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");

    // The ledger verifies (its tail may await a signature) and writing resumes.
    let report = sb
        .run(args!["verify", "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert_eq!(report["ok"], true, "{report}");
    sb.create_token(&data, &["--init", "--scope", "admin"]);
    let report = sb
        .run(args!["verify", "--data", &data, "--format", "json"])
        .ok()
        .json();
    assert_eq!(report["unsigned_entries"], 0, "{report}");
}
