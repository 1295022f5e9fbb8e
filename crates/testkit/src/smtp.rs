//! A throw-away SMTP server per test: `aiosmtpd` (PyPI) from the venv that
//! `./test.sh` fills, on a free loopback port, writing every message it
//! accepts into a Maildir that tests read. Optionally with TLS (STARTTLS
//! required, or TLS from the first byte) under a certificate for 127.0.0.1
//! from a throw-away CA.

use crate::{TestkitError, free_port, io_err, missing};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming a venv with aiosmtpd, when it is not `target/venv`.
pub const VENV_ENV: &str = "SOXCTL_TEST_VENV";

/// How the sink speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    None,
    /// STARTTLS offered and required before a mail is accepted.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// A running aiosmtpd; stopped (SIGKILL) when dropped.
pub struct SmtpSink {
    child: Child,
    port: u16,
    tls: SinkTls,
    dir: tempfile::TempDir,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The whole message as received, plus aiosmtpd's `X-MailFrom`,
    /// `X-RcptTo` (the envelope) and `X-Peer` headers.
    pub raw: String,
}

impl Mail {
    /// The first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The body after the header block.
    pub fn body(&self) -> String {
        let raw = self.raw.replace("\r\n", "\n");
        raw.split_once("\n\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

/// The venv with aiosmtpd: `$SOXCTL_TEST_VENV`, else `venv` in the cargo
/// target directory this test binary was built in (where `./test.sh` puts it).
fn venv() -> Result<PathBuf, TestkitError> {
    if let Some(dir) = std::env::var_os(VENV_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(|e| io_err("locating the test binary", e))?;
    // target/debug/deps/<test>: three levels up is the target directory.
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("venv"))
        .ok_or_else(|| missing("aiosmtpd", "cannot find the cargo target directory"))
}

/// Starts aiosmtpd on a free port and waits until it accepts connections.
/// Fails (tests must not skip) when the venv or aiosmtpd is missing.
pub fn smtp_sink() -> Result<SmtpSink, TestkitError> {
    smtp_sink_with_tls(SinkTls::None)
}

/// Like [`smtp_sink()`], speaking TLS under a certificate for 127.0.0.1
/// signed by a throw-away CA ([`SmtpSink::ca_file`]; made with `openssl`).
pub fn smtp_sink_with_tls(tls: SinkTls) -> Result<SmtpSink, TestkitError> {
    let venv = venv()?;
    let python = venv.join("bin/python");
    let has_aiosmtpd = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_aiosmtpd {
        return Err(missing(
            "aiosmtpd",
            &format!(
                "{} cannot import aiosmtpd; ./test.sh installs it (or: python3 -m venv {v} && {v}/bin/pip install aiosmtpd, or set {VENV_ENV})",
                python.display(),
                v = venv.display()
            ),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("soxctl-smtp-")
        .tempdir()
        .map_err(|e| io_err("creating the Maildir of the SMTP sink", e))?;
    let tls_args: Vec<std::ffi::OsString> = match tls {
        SinkTls::None => Vec::new(),
        SinkTls::StartTls | SinkTls::Implicit => {
            crate::slapd::make_certificates(dir.path())?;
            let (cert, key) = if tls == SinkTls::StartTls {
                ("--tlscert", "--tlskey")
            } else {
                ("--smtpscert", "--smtpskey")
            };
            vec![
                cert.into(),
                dir.path().join("server.pem").into(),
                key.into(),
                dir.path().join("server.key").into(),
            ]
        }
    };
    // The port may be taken between the probe and the bind: try a few.
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let log = dir.path().join(format!("aiosmtpd-{port}.log"));
        let log_file =
            std::fs::File::create(&log).map_err(|e| io_err("creating the sink's log", e))?;
        let stderr = log_file
            .try_clone()
            .map_err(|e| io_err("creating the sink's log", e))?;
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(&tls_args)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
            .map_err(|e| io_err(&format!("starting {} -m aiosmtpd", python.display()), e))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(SmtpSink {
                    child,
                    port,
                    tls,
                    dir,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                last = format!(
                    "aiosmtpd exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                last = "aiosmtpd did not accept connections within 15 s".to_owned();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Err(TestkitError::Startup(last))
}

impl SmtpSink {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, with `?tls=starttls`, or `smtps://…`: the
    /// URL soxctl's `[notify.smtp]` takes.
    pub fn url(&self) -> String {
        match self.tls {
            SinkTls::None => format!("smtp://127.0.0.1:{}", self.port),
            SinkTls::StartTls => format!("smtp://127.0.0.1:{}?tls=starttls", self.port),
            SinkTls::Implicit => format!("smtps://127.0.0.1:{}", self.port),
        }
    }

    /// The CA certificate (PEM) that signed the sink's certificate, with TLS.
    pub fn ca_file(&self) -> Option<PathBuf> {
        (self.tls != SinkTls::None).then(|| self.dir.path().join("ca.pem"))
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every message accepted so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir().join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|(_, p)| read(p))
            .map(|raw| Mail { raw })
            .collect()
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<Mail>, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return Ok(mails);
            }
            if Instant::now() > deadline {
                return Err(TestkitError::Startup(format!(
                    "the SMTP sink received {} message(s) within {timeout:?}, expected {n}",
                    mails.len()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
