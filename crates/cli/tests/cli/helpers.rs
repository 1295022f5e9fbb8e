//! Shared support: a sandbox directory per test, running the real binary in
//! it, demo snapshots, CSV edits, and small readers of the JSON outputs.

use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_soxctl");

/// Every variable the binary reads; cleared so the caller's shell cannot
/// change what a test sees.
const ENV_VARS: &[&str] = &[
    "SOXCTL_DATA",
    "SOXCTL_DATABASE",
    "SOXCTL_SIGNING_KEY",
    "SOXCTL_CONFIG",
    "SOXCTL_LOG_FORMAT",
    "SOXCTL_LISTEN",
    "SOXCTL_METRICS_PUBLIC",
    "SOXCTL_DEMO_DATA",
    "SOXCTL_TOKEN",
    "SOXCTL_ORIGIN",
    "SOXCTL_LDAP_PASSWORD",
    "SOXCTL_SMTP_PASSWORD",
];

/// `args!["import", &snapshot, "--data", &data]`: anything `AsRef<OsStr>`.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(::std::ffi::OsStr::new(&$a).to_owned()),*]
    };
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "`{}` exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code: {}", self.describe());
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// Asserts that stderr contains every one of `needles`.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}: {}",
                self.describe()
            );
        }
        self
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not one JSON document ({e}): {}", self.describe())
        })
    }

    /// The last non-empty line of stdout.
    #[track_caller]
    pub fn last_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("stdout is empty: {}", self.describe()))
    }
}

/// A command for the binary with a clean environment and `cwd`.
pub fn command(cwd: &Path, args: &[OsString]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(cwd)
        .env("SOXCTL_LOG", "warn")
        .env("NO_COLOR", "1");
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// One test's scratch directory; the binary runs with it as working directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the binary to completion (stdin closed).
    pub fn run(&self, args: Vec<OsString>) -> Run {
        self.run_with_env(args, &[])
    }

    /// Runs the binary with some SOXCTL_* variables set.
    pub fn run_with_env(&self, args: Vec<OsString>, env: &[(&str, &std::ffi::OsStr)]) -> Run {
        let shown = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let shown = String::from("soxctl ") + &shown;
        let shown = env
            .iter()
            .map(|(k, v)| format!("{k}={} ", v.to_string_lossy()))
            .collect::<String>()
            + &shown;
        let output = command(self.dir.path(), &args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        Run {
            command: shown,
            // None: killed by a signal, which no command here should be.
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs the binary with `input` on its stdin.
    pub fn run_with_stdin(&self, args: Vec<OsString>, input: &[u8]) -> Run {
        use std::io::Write as _;
        let mut child = command(self.dir.path(), &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        let output = child.wait_with_output().expect("wait");
        Run {
            command: format!("soxctl {args:?} < input"),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A demo snapshot (fixed extraction time, so reproducible) in `name`.
    pub fn snapshot(&self, name: &str, seed: u64, people: usize) -> PathBuf {
        let dir = self.path(name);
        let as_of = chrono::DateTime::parse_from_rfc3339("2025-06-30T17:00:00Z")
            .expect("time")
            .to_utc();
        soxctl_demo::generate(
            &soxctl_demo::DemoConfig {
                seed,
                people,
                as_of,
            },
            &dir,
        )
        .expect("demo snapshot");
        dir
    }

    /// Copies the files of snapshot `from` into a new directory `name`.
    pub fn copy_snapshot(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.path(name);
        std::fs::create_dir_all(&to).expect("mkdir");
        for item in std::fs::read_dir(from).expect("read snapshot") {
            let item = item.expect("dir entry");
            std::fs::copy(item.path(), to.join(item.file_name())).expect("copy");
        }
        to
    }

    /// `import SNAPSHOT --data DATA --format json`, asserted successful; the summary.
    pub fn import(&self, snapshot: &Path, data: &Path) -> Value {
        self.run(args![
            "import", snapshot, "--data", data, "--format", "json"
        ])
        .ok()
        .json()
    }

    /// Entries in the store, from `verify --format json` (which must pass).
    pub fn ledger_size(&self, data: &Path) -> u64 {
        let report = self
            .run(args!["verify", "--data", data, "--format", "json"])
            .ok()
            .json();
        assert_eq!(report["ok"], true, "{report}");
        report["entries"].as_u64().expect("entries")
    }

    /// The latest signed checkpoint note.
    pub fn checkpoint(&self, data: &Path) -> String {
        self.run(args!["ledger", "checkpoint", "--data", data])
            .ok()
            .stdout
            .clone()
    }

    /// `token create` with extra args; the secret (last stdout line).
    pub fn create_token(&self, data: &Path, extra: &[&str]) -> String {
        let mut a = args!["token", "create", "--data", data];
        a.extend(extra.iter().map(OsString::from));
        let run = self.run(a);
        run.ok();
        run.last_line().to_owned()
    }

    /// `token list --format json` as an array of records.
    pub fn tokens(&self, data: &Path) -> Vec<Value> {
        let list = self
            .run(args!["token", "list", "--data", data, "--format", "json"])
            .ok()
            .json();
        list.as_array().expect("token list is a JSON array").clone()
    }
}

/// Parts of a signed checkpoint note: (origin, size, base64 root).
pub fn note_parts(note: &str) -> (String, u64, String) {
    let lines: Vec<&str> = note.lines().collect();
    assert!(lines.len() >= 5, "not a signed note: {note:?}");
    assert_eq!(lines[3], "", "body then a blank line: {note:?}");
    assert!(
        lines[4].starts_with("— "),
        "signature line starts with an em dash: {note:?}"
    );
    (
        lines[0].to_owned(),
        lines[1].parse().expect("size line"),
        lines[2].to_owned(),
    )
}

/// Rewrites a CSV file: `edit` gets the header and the rows.
pub fn edit_csv(path: &Path, edit: impl FnOnce(&mut Vec<String>, &mut Vec<Vec<String>>)) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .expect("read csv");
    let mut header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    edit(&mut header, &mut rows);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("write csv");
    writer.write_record(&header).expect("write header");
    for row in &rows {
        writer.write_record(row).expect("write row");
    }
    writer.flush().expect("flush");
}

/// The column index of `name` in `header`.
pub fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Runs a future on a throw-away runtime (for the store tamper helpers).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Runs raw SQL on an SQLite store, outside the ledger (an attacker's write).
pub fn tamper(data: &Path, sql: &str) {
    block_on(async {
        let store = soxctl_store::Store::open(soxctl_store::OpenOptions {
            location: soxctl_store::Location::Sqlite(data.to_owned()),
            create: false,
            clock: std::sync::Arc::new(soxctl_model::clock::SystemClock),
            failpoints: Default::default(),
        })
        .await
        .expect("open the store");
        store
            .execute_unchecked(sql)
            .await
            .unwrap_or_else(|e| panic!("tamper SQL failed: {e}\n{sql}"));
        store.close().await;
    });
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Asserts that `data` holds a freshly created SQLite store in WAL mode
/// with a private signing key.
pub fn assert_store_created(data: &Path) {
    let db = data.join("soxctl.db");
    let header = std::fs::read(&db).unwrap_or_else(|e| panic!("{}: {e}", db.display()));
    assert!(
        header.starts_with(b"SQLite format 3\0"),
        "{} is not an SQLite database",
        db.display()
    );
    // Bytes 18 and 19 of the header: 2 = WAL mode.
    assert_eq!(
        (header[18], header[19]),
        (2, 2),
        "{} is not in WAL mode",
        db.display()
    );
    let key = data.join("signing.key");
    assert!(key.is_file(), "{} missing", key.display());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600, "signing key must be private");
}

/// The demo's present: the newest dated snapshot in `DIR/demo-snapshot/`.
pub fn present_snapshot(data: &Path) -> PathBuf {
    let mut dated: Vec<PathBuf> = std::fs::read_dir(data.join("demo-snapshot"))
        .expect("a demo store's demo-snapshot directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dated.sort();
    dated.pop().expect("a dated snapshot")
}
