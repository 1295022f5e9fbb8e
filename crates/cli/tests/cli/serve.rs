//! `soxctl serve` and `soxctl demo` as child processes, spoken to over raw
//! HTTP/1.1.

use crate::helpers::{Sandbox, assert_store_created, command, present_snapshot};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (free when asked; the server binds it right after).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One HTTP/1.1 exchange; (status, body).
pub(crate) fn get(port: u16, path: &str, token: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:?}")))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// A running server; killed (SIGKILL) if a test fails before stopping it.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) port: u16,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Server {
    pub(crate) fn start(sb: &Sandbox, name: &str, args: Vec<OsString>, port: u16) -> Server {
        Server::start_with_env(sb, name, args, port, &[])
    }

    /// With variables set, e.g. the secrets a `[notify]` configuration names.
    pub(crate) fn start_with_env(
        sb: &Sandbox,
        name: &str,
        args: Vec<OsString>,
        port: u16,
        env: &[(&str, &str)],
    ) -> Server {
        let stdout = sb.path(&format!("{name}.stdout"));
        let stderr = sb.path(&format!("{name}.stderr"));
        let child = command(sb.dir.path(), &args)
            .envs(env.iter().copied())
            .env("SOXCTL_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn soxctl");
        let mut server = Server {
            child: Some(child),
            port,
            stdout,
            stderr,
        };
        server.wait_healthy();
        server
    }

    pub(crate) fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, _)) = get(self.port, "/healthz", None) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "the server exited ({status}) before it was healthy:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no 200 from /healthz within 20 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL: a crash, with no chance to finish anything.
    pub(crate) fn crash(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
    }

    /// SIGTERM, then wait: a graceful stop exits 0.
    pub(crate) fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server ignored SIGTERM for 15 s:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "graceful shutdown exits 0, got {status}:\n{}",
            self.logs()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn serve_creates_the_store_and_guards_the_api_with_tokens() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let port = free_port();
    let server = Server::start(
        &sb,
        "serve",
        args![
            "serve",
            "--data",
            &data,
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );
    assert_store_created(&data);
    assert!(
        std::fs::read_to_string(&server.stderr)
            .unwrap_or_default()
            .contains(&format!("http://127.0.0.1:{port}")),
        "{}",
        server.logs()
    );

    // Tokens issued by the command line while the server runs.
    let admin = sb.create_token(&data, &["--scope", "admin"]);
    let admin_id = sb.tokens(&data)[0]["token_id"].clone();
    let revoked = sb.create_token(&data, &["--scope", "admin"]);
    let tokens = sb.tokens(&data);
    let revoked_id = tokens
        .iter()
        .find(|t| t["token_id"] != admin_id)
        .expect("second token")["token_id"]
        .clone();
    sb.run(args![
        "token",
        "revoke",
        revoked_id.as_str().expect("id"),
        "--data",
        &data
    ])
    .ok();

    let path = "/api/v1/ledger/checkpoint";
    let (status, _) = get(port, path, None).expect("request");
    assert_eq!(status, 401, "no token: {}", server.logs());
    let (status, _) = get(port, path, Some("sxt_not-a-real-token")).expect("request");
    assert_eq!(status, 401, "unknown token");
    let (status, _) = get(port, path, Some(&revoked)).expect("request");
    assert_eq!(status, 401, "revoked token");
    let (status, body) = get(port, path, Some(&admin)).expect("request");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(
        body,
        sb.checkpoint(&data),
        "the API serves the same signed checkpoint as the CLI"
    );

    // A second server on the same address: an input error, said clearly.
    sb.run(args![
        "serve",
        "--data",
        &data,
        "--listen",
        format!("127.0.0.1:{port}")
    ])
    .code(2)
    .stderr_has(&[&format!("cannot listen on 127.0.0.1:{port}")]);

    server.stop();
    // After the server, the store still verifies.
    sb.ledger_size(&data);
}

/// The secret in the demo banner's `export SOXCTL_TOKEN=…` line.
fn demo_token(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export SOXCTL_TOKEN="))
        .unwrap_or_else(|| panic!("no `export SOXCTL_TOKEN=` line in:\n{stdout}"));
    assert!(line.starts_with("sxt_"), "{line}");
    line.to_owned()
}

#[test]
fn demo_builds_a_store_reuses_it_and_refuses_a_real_one() {
    let sb = Sandbox::new();
    let data = sb.path("demo");
    let first = sb.run(args![
        "demo",
        "--data",
        &data,
        "--no-serve",
        "--people",
        "60"
    ]);
    first.ok();
    let token1 = demo_token(&first.stdout);
    assert_store_created(&data);
    let size = sb.ledger_size(&data);
    assert!(size > 800, "a 60-person demo organisation: {size} entries");
    let admin = std::fs::read_to_string(data.join("demo-snapshot").join("ADMIN"))
        .expect("ADMIN")
        .trim()
        .to_owned();
    // Names and emails are readable by the owner only, like the store.
    for file in ["people.csv", "accounts.csv"] {
        let path = present_snapshot(&data).join(file);
        assert_eq!(
            crate::helpers::mode(&path) & 0o777,
            0o600,
            "{}",
            path.display()
        );
    }
    let tokens = sb.tokens(&data);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["person_id"], admin.as_str());
    assert!(tokens[0]["person_name"].is_string(), "named: {}", tokens[0]);
    assert_eq!(tokens[0]["state"], "active");

    // A demo made before its files were private is made private on reuse.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let people = present_snapshot(&data).join("people.csv");
        std::fs::set_permissions(&people, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    // Again on the same directory: the organisation is reused, a new
    // credential issued and the earlier one revoked.
    let second = sb.run(args![
        "demo",
        "--data",
        &data,
        "--no-serve",
        "--people",
        "60"
    ]);
    second
        .ok()
        .stderr_has(&["reusing", "revoked 1 earlier demo admin token"]);
    let people = present_snapshot(&data).join("people.csv");
    assert_eq!(crate::helpers::mode(&people) & 0o777, 0o600);
    let token2 = demo_token(&second.stdout);
    assert_ne!(token1, token2);
    assert_eq!(
        sb.ledger_size(&data),
        size + 2,
        "only the revocation and the new token are recorded"
    );
    let tokens = sb.tokens(&data);
    assert_eq!(tokens.len(), 2);
    let active: Vec<_> = tokens.iter().filter(|t| t["state"] == "active").collect();
    assert_eq!(
        active.len(),
        1,
        "one demo admin token at a time: {tokens:?}"
    );
    // A token someone made by hand is not the demo's to revoke.
    sb.create_token(&data, &["--scope", "read", "--description", "demo admin"]);

    // Served: the banner's token reads the API.
    let port = free_port();
    let server = Server::start(
        &sb,
        "demo",
        args![
            "demo",
            "--data",
            &data,
            "--listen",
            format!("127.0.0.1:{port}")
        ],
        port,
    );
    let token3 = demo_token(&server.stdout());
    let (status, body) = get(port, "/api/v1/ledger/checkpoint", Some(&token3)).expect("request");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(body, sb.checkpoint(&data));
    for earlier in [&token1, &token2] {
        let (status, _) = get(port, "/api/v1/ledger/checkpoint", Some(earlier)).expect("request");
        assert_eq!(status, 401, "earlier demo tokens are revoked");
    }
    server.stop();
    let tokens = sb.tokens(&data);
    assert_eq!(tokens.len(), 4, "{tokens:?}");
    let active = tokens.iter().filter(|t| t["state"] == "active").count();
    assert_eq!(
        active, 2,
        "the newest demo token and the hand-made one: {tokens:?}"
    );

    // A store made by `import` is not a demo: refused, untouched (not even
    // opened, which would migrate it: its files keep every byte).
    let snap = sb.snapshot("snap", 31, 60);
    let real = sb.path("real");
    sb.import(&snap, &real);
    let real_size = sb.ledger_size(&real);
    let files = dir_bytes(&real);
    let run = sb.run(args![
        "demo",
        "--data",
        &real,
        "--no-serve",
        "--people",
        "60"
    ]);
    run.code(2).stderr_has(&["not a demo"]);
    assert!(!run.stdout.contains("SOXCTL_TOKEN"), "{run:?}");
    assert_eq!(dir_bytes(&real), files, "the store was touched");
    assert_eq!(sb.ledger_size(&real), real_size);
    assert!(sb.tokens(&real).is_empty());
    assert!(!real.join("demo-snapshot").exists());
    // Even with a demo-snapshot directory in it, it is no demo.
    std::fs::create_dir(real.join("demo-snapshot")).expect("mkdir");
    sb.run(args![
        "demo",
        "--data",
        &real,
        "--no-serve",
        "--people",
        "60"
    ])
    .code(2)
    .stderr_has(&["not a demo"]);
    assert_eq!(sb.ledger_size(&real), real_size);
    assert!(sb.tokens(&real).is_empty());
}

/// Names and bytes of the files in `dir`.
fn dir_bytes(dir: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().expect("name").to_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn demo_checks_its_settings_before_any_store() {
    let sb = Sandbox::new();
    let data = sb.path("demo");
    // The generator's own limits (soxctl_demo::DemoConfig::people).
    let as_of = chrono::DateTime::parse_from_rfc3339("2025-06-30T17:00:00Z")
        .expect("time")
        .to_utc();
    for people in [49, 100_000] {
        let cfg = soxctl_demo::DemoConfig {
            seed: 1,
            people,
            as_of,
        };
        assert!(
            soxctl_demo::generate(&cfg, &sb.path("unused")).is_err(),
            "the generator refuses {people} people too"
        );
        let run = sb.run(args![
            "demo",
            "--data",
            &data,
            "--no-serve",
            "--people",
            people.to_string()
        ]);
        run.code(2)
            .stderr_has(&["--people", "between 50 and 99999"]);
        assert!(!data.exists(), "{run:?}");
    }
    assert!(!sb.path("unused").exists());
}
