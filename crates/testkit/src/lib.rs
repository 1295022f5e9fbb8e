//! Test support for soxctl: a throw-away PostgreSQL cluster per test process,
//! a throw-away OpenLDAP server per test ([`slapd()`]), and a throw-away SMTP
//! server per test ([`smtp_sink()`], aiosmtpd from the venv `./test.sh` fills),
//! and a throw-away OIDC issuer per test ([`OidcIssuer`], keys from `openssl`).
//!
//! Tests that need PostgreSQL call [`postgres()`]. On first use it runs
//! `initdb` + `pg_ctl start` in a fresh temp dir on a free loopback port; every
//! later call in the same process gets the same cluster. Tests never use a
//! server someone started by hand: its state and settings are unknown, and its
//! absence would tempt tests to skip. When a tool is missing the functions here
//! return an error that says so, so tests FAIL with a hint instead of skipping.
//!
//! There is deliberately no Rust PostgreSQL client here: `psql` from the same
//! bin dir is enough and keeps this crate's dependencies tiny.

mod oidc;
mod slapd;
mod smtp;

pub use oidc::{OIDC_AUDIENCE, OidcIssuer};
pub use slapd::{
    AD_SCHEMA, ROOT_PASSWORD, Slapd, make_certificates, slapd, slapd_with_tls, with_people_example,
};
pub use smtp::{Mail, SinkTls, SmtpSink, VENV_ENV, smtp_sink, smtp_sink_with_tls};

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::{env, fs};

/// Failures while preparing test infrastructure. Messages name the command
/// that failed, its stderr, and how to get the tools installed.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A program the tests need is not installed (or not where we look).
    #[error(
        "required tool `{tool}` is missing: {detail}\nhint: run ./test.sh, which installs postgresql, slapd and the other tools the tests need"
    )]
    MissingTool { tool: String, detail: String },
    /// A command ran (or could not be spawned) and did not succeed.
    #[error(
        "command failed ({status}): {command}\n{stderr}\nhint: run ./test.sh, which installs postgresql, slapd and ldap-utils"
    )]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    /// A filesystem operation on the cluster's temp dir failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Cluster start-up failed earlier in this process; the full first error
    /// is repeated so every failing test shows the cause.
    #[error("the throw-away PostgreSQL cluster for this test process could not be started: {0}")]
    Startup(String),
}

/// A private PostgreSQL cluster owned by this test process.
///
/// It lives in a `static`, so it is never dropped; a watchdog process stops
/// the server and removes its directory once this process has exited.
#[derive(Debug)]
pub struct PgCluster {
    bin_dir: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Run server-side tools via `runuser -u postgres --` (we are root, and
    /// initdb/postgres refuse to run as root).
    run_as_postgres: bool,
    /// Write end of the watchdog's stdin. Nobody writes to it: the kernel
    /// closes it when this process exits (however it exits, even SIGKILL),
    /// and the resulting EOF is the watchdog's signal to clean up.
    _watchdog: ChildStdin,
}

static CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
static DURABLE_CLUSTER: OnceLock<Result<PgCluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(0);

/// The cluster for this test process, started on first call (about 1-2 s).
pub fn postgres() -> Result<&'static PgCluster, TestkitError> {
    // The error is stored as a String because io::Error is not Clone and
    // every test that asks must see the real cause, not just the first one.
    CLUSTER
        .get_or_init(|| PgCluster::start(false).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TestkitError::Startup(e.clone()))
}

/// A separate throw-away cluster with `fsync` on, for benchmarks that
/// measure durable commits (the test cluster trades durability for speed).
pub fn durable_postgres() -> Result<&'static PgCluster, TestkitError> {
    DURABLE_CLUSTER
        .get_or_init(|| PgCluster::start(true).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| TestkitError::Startup(e.clone()))
}

/// Finds `name` on `PATH` (or checks it directly if it contains a `/`).
///
/// Tests call this for external tools they need so that a missing tool makes
/// the test fail with a clear message rather than being silently skipped.
pub fn require_tool(name: &str) -> Result<PathBuf, TestkitError> {
    if name.contains('/') {
        let path = PathBuf::from(name);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(missing(name, "not an executable file"))
        };
    }
    let path_var = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path_var)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            missing(
                name,
                &format!("not found on PATH ({})", path_var.to_string_lossy()),
            )
        })
}

impl PgCluster {
    /// Directory holding `initdb`, `pg_ctl`, `psql`, ... for this cluster.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Temp dir holding `data/`, `log` and `sock/`; removed by the watchdog.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connection URL for database `db` as the (trusted) `postgres` superuser.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a new, empty, uniquely named database and returns its URL, so
    /// tests sharing the cluster never see each other's data.
    pub fn fresh_database(&self) -> Result<String, TestkitError> {
        // pid + counter: unique within the process, and readable in logs.
        // Only [a-z0-9_], so the name needs no quoting.
        let n = NEXT_DB.fetch_add(1, Ordering::Relaxed);
        let name = format!("soxctl_test_{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(self.url_for(&name))
    }

    /// Runs `sql` in database `db` with `psql` as superuser; returns stdout
    /// (unaligned, tuples only: `SELECT 1` gives `"1\n"`).
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, TestkitError> {
        let port = self.port.to_string();
        run(Command::new(self.bin_dir.join("psql"))
            // -X: ignore ~/.psqlrc; -w: never prompt; ON_ERROR_STOP: exit != 0 on SQL errors.
            .args(["-X", "-w", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ]))
    }

    fn start(durable: bool) -> Result<PgCluster, TestkitError> {
        let bin_dir = find_bin_dir()?;
        let run_as_postgres = effective_uid()? == 0;
        if run_as_postgres {
            require_tool("runuser")?;
            require_tool("chown")?;
        }
        require_tool("sh")?;

        // The watchdog, not TempDir's Drop (statics never drop), deletes it.
        let dir = tempfile::Builder::new()
            .prefix("soxctl-pg-")
            .tempdir()
            .map_err(|e| io_err("creating temp dir for PostgreSQL", e))?
            .keep();
        // tempfile creates 0700 dirs; the postgres user must be able to enter.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| io_err(&format!("chmod 0755 {}", dir.display()), e))?;
        // Own socket dir: /var/run/postgresql may be missing or not writable.
        let sock = dir.join("sock");
        fs::create_dir(&sock).map_err(|e| io_err(&format!("creating {}", sock.display()), e))?;

        // Spawned before anything else can fail, so even a failed start is
        // cleaned up (dropping the half-built cluster closes the pipe).
        let mut cluster = PgCluster {
            _watchdog: spawn_watchdog(&bin_dir, &dir, run_as_postgres)?,
            bin_dir,
            dir,
            port: 0,
            run_as_postgres,
        };
        if run_as_postgres {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&cluster.dir))?;
        }

        let data = cluster.dir.join("data");
        run(cluster
            .server_tool("initdb")
            .arg("-D")
            .arg(&data)
            // trust + --no-sync: throw-away cluster, speed matters, safety does not.
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]))?;

        // Between dropping the probe listener and the server binding, someone
        // else may take the port (e.g. a parallel test binary): retry then.
        let log = cluster.dir.join("log");
        let mut last_err = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            let fsync = if durable { "on" } else { "off" };
            let opts = format!(
                "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync={fsync} -c max_connections=200",
                cluster.port,
                sock.display()
            );
            let started = run(cluster
                .server_tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-o", &opts, "start"])
                // Own process group: Ctrl-C on `cargo test` must not kill the
                // server behind the watchdog's back (or the watchdog itself).
                .process_group(0));
            match started {
                Ok(_) => return Ok(cluster),
                Err(err) => {
                    let log_text = fs::read_to_string(&log).unwrap_or_default();
                    let err = with_log(err, &log_text);
                    let clash = [
                        "Address already in use",
                        "could not bind",
                        "could not create any TCP/IP sockets",
                    ]
                    .iter()
                    .any(|m| log_text.contains(m));
                    if !clash {
                        return Err(err);
                    }
                    last_err = Some(err);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| missing("a free TCP port", "no attempt made")))
    }

    /// A command for a server-side tool (initdb, pg_ctl), dropping root.
    fn server_tool(&self, tool: &str) -> Command {
        let mut cmd = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin_dir.join(tool));
            c
        } else {
            Command::new(self.bin_dir.join(tool))
        };
        // Our cwd may not be readable by the postgres user; initdb complains.
        cmd.current_dir(&self.dir);
        cmd
    }
}

/// Starts `sh` that blocks reading its stdin until EOF, i.e. until this
/// process is gone (the write end is close-on-exec, so no child of ours keeps
/// it open), then stops the server and deletes `dir`. A pipe is used rather
/// than polling our pid: it reacts at once and cannot be fooled by pid reuse.
/// The pid is in `$0` so the watchdog is recognisable in `ps`.
fn spawn_watchdog(
    bin_dir: &Path,
    dir: &Path,
    run_as_postgres: bool,
) -> Result<ChildStdin, TestkitError> {
    const SCRIPT: &str = r#"
trap '' INT HUP TERM
dir=$1; shift
cat >/dev/null
"$@" -D "$dir/data" -m immediate stop >/dev/null 2>&1
rm -rf "$dir"
"#;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg(format!("soxctl-pg-watchdog-for-pid-{}", std::process::id()))
        .arg(dir);
    if run_as_postgres {
        cmd.args(["runuser", "-u", "postgres", "--"]);
    }
    cmd.arg(bin_dir.join("pg_ctl"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: survives Ctrl-C sent to the test's group.
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| TestkitError::Command {
        command: describe(&cmd),
        status: "could not be spawned".into(),
        stderr: e.to_string(),
    })?;
    child.stdin.take().ok_or_else(|| TestkitError::Command {
        command: describe(&cmd),
        status: "spawned without a stdin pipe".into(),
        stderr: String::new(),
    })
}

/// `SOXCTL_PG_BIN`, else the highest `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Result<PathBuf, TestkitError> {
    let bin_dir = match env::var_os("SOXCTL_PG_BIN") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let root = Path::new("/usr/lib/postgresql");
            let entries = fs::read_dir(root).map_err(|e| {
                missing(
                    "postgresql (initdb, pg_ctl, psql)",
                    &format!("cannot read {}: {e}", root.display()),
                )
            })?;
            entries
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| {
                    // "16" or "9.6": compare numerically, not as strings ("9" > "16").
                    let version: Option<Vec<u32>> = entry
                        .file_name()
                        .to_str()?
                        .split('.')
                        .map(|p| p.parse().ok())
                        .collect();
                    Some((version?, entry.path().join("bin")))
                })
                .filter(|(_, bin)| is_executable(&bin.join("initdb")))
                .max()
                .map(|(_, bin)| bin)
                .ok_or_else(|| {
                    missing(
                        "postgresql (initdb, pg_ctl, psql)",
                        &format!(
                            "no {}/<version>/bin/initdb found (set SOXCTL_PG_BIN to override)",
                            root.display()
                        ),
                    )
                })?
        }
    };
    for tool in ["initdb", "pg_ctl", "psql"] {
        let path = bin_dir.join(tool);
        if !is_executable(&path) {
            return Err(missing(
                tool,
                &format!("{} is not an executable file", path.display()),
            ));
        }
    }
    Ok(bin_dir)
}

/// Effective uid from `/proc/self/status` (no libc dependency), else `id -u`.
fn effective_uid() -> Result<u32, TestkitError> {
    // Line format: "Uid:\t<real>\t<effective>\t<saved>\t<fs>".
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        });
    if let Some(uid) = from_proc {
        return Ok(uid);
    }
    let mut cmd = Command::new("id");
    cmd.arg("-u");
    let out = run(&mut cmd)?;
    out.trim().parse().map_err(|_| TestkitError::Command {
        command: describe(&cmd),
        status: "unparsable output".into(),
        stderr: out,
    })
}

/// Asks the kernel for a free loopback port; the listener is dropped at once.
fn free_port() -> Result<u16, TestkitError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| io_err("finding a free port on 127.0.0.1", e))
}

/// Runs `cmd` to completion; returns stdout, or an error with its stderr.
fn run(cmd: &mut Command) -> Result<String, TestkitError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestkitError::Command {
            command: describe(cmd),
            status: "could not be spawned".into(),
            stderr: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Some tools (pg_ctl) report part of their failure on stdout.
    stderr.push_str(&String::from_utf8_lossy(&out.stdout));
    Err(TestkitError::Command {
        command: describe(cmd),
        status: out.status.to_string(),
        stderr,
    })
}

/// Appends the tail of the server log, where postgres explains start failures.
fn with_log(err: TestkitError, log: &str) -> TestkitError {
    match err {
        TestkitError::Command {
            command,
            status,
            mut stderr,
        } => {
            let lines: Vec<&str> = log.lines().collect();
            stderr.push_str("--- server log (tail) ---\n");
            stderr.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
            TestkitError::Command {
                command,
                status,
                stderr,
            }
        }
        other => other,
    }
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn missing(tool: &str, detail: &str) -> TestkitError {
    TestkitError::MissingTool {
        tool: tool.into(),
        detail: detail.into(),
    }
}

fn io_err(context: &str, source: std::io::Error) -> TestkitError {
    TestkitError::Io {
        context: context.into(),
        source,
    }
}
