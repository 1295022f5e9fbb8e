//! Tests for the throw-away cluster. They FAIL (never skip) when PostgreSQL
//! is missing: run ./test.sh, which installs it.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use soxctl_testkit::{TestkitError, postgres, require_tool};

const CHILD_ENV: &str = "SOXCTL_TESTKIT_WATCHDOG_CHILD";

#[test]
fn cluster_starts_and_accepts_connections() {
    let pg = postgres().unwrap_or_else(|e| panic!("{e}"));
    TcpStream::connect(("127.0.0.1", pg.port())).expect("TCP connect to the cluster");
    assert_eq!(
        pg.psql("postgres", "SELECT 1").expect("psql SELECT 1"),
        "1\n"
    );
    assert!(pg.bin_dir().join("psql").is_file());
    // Same cluster on every call within one process.
    let again = postgres().expect("second call");
    assert!(std::ptr::eq(pg, again));
}

#[test]
fn fresh_databases_are_distinct_and_usable() {
    let pg = postgres().unwrap_or_else(|e| panic!("{e}"));
    let a = pg.fresh_database().expect("first fresh database");
    let b = pg.fresh_database().expect("second fresh database");
    assert_ne!(a, b);
    let prefix = format!("postgres://postgres@127.0.0.1:{}/", pg.port());
    let db_a = a.strip_prefix(&prefix).expect("url shape");
    let db_b = b.strip_prefix(&prefix).expect("url shape");
    assert_eq!(pg.url_for(db_a), a);

    pg.psql(db_a, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
        .expect("write to fresh db");
    assert_eq!(pg.psql(db_a, "SELECT x FROM t").expect("read back"), "42\n");
    // The other database is untouched.
    let err = pg
        .psql(db_b, "SELECT x FROM t")
        .expect_err("table must not exist in b");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn sql_errors_name_the_command_and_stderr() {
    let pg = postgres().unwrap_or_else(|e| panic!("{e}"));
    let err = pg
        .psql("postgres", "SELEC nonsense")
        .expect_err("bad SQL must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("psql") && msg.contains("syntax error"),
        "{msg}"
    );
    assert!(msg.contains("./test.sh"), "{msg}");
}

#[test]
fn require_tool_finds_or_explains() {
    assert!(require_tool("sh").expect("sh is always present").is_file());
    let err = require_tool("soxctl-no-such-tool-xyz").expect_err("must be missing");
    assert!(matches!(err, TestkitError::MissingTool { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("soxctl-no-such-tool-xyz") && msg.contains("./test.sh"),
        "{msg}"
    );
}

/// Runs this test binary again with only `child_starts_cluster_and_exits`,
/// then checks that its cluster is stopped and its directory removed once
/// that child process has exited: the cleanup statics cannot do themselves.
#[test]
fn watchdog_stops_cluster_after_process_exit() {
    let exe = std::env::current_exe().expect("current test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_starts_cluster_and_exits",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run child test process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CHILD-CLUSTER "))
        .unwrap_or_else(|| panic!("child printed no cluster line: {stdout}"));
    let (port, dir) = line.split_once(' ').expect("`port dir`");
    let port: u16 = port.parse().expect("port number");
    let dir = PathBuf::from(dir);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listening = TcpStream::connect(("127.0.0.1", port)).is_ok();
        if !listening && !dir.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "child cluster not cleaned up: listening={listening}, dir {} exists={}",
            dir.display(),
            dir.exists()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Helper for `watchdog_stops_cluster_after_process_exit`, run only in a
/// child process (ignored, and a no-op without the marker env var).
#[test]
#[ignore = "helper process for watchdog_stops_cluster_after_process_exit"]
fn child_starts_cluster_and_exits() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let pg = postgres().unwrap_or_else(|e| panic!("{e}"));
    TcpStream::connect(("127.0.0.1", pg.port())).expect("child cluster accepts TCP");
    println!("CHILD-CLUSTER {} {}", pg.port(), pg.dir().display());
}
