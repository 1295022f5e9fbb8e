//! A throw-away OpenLDAP `slapd` per test: a generated `slapd.conf` (mdb
//! backend, memberof overlay, an AD-like schema of our own) in a temp dir,
//! on a free loopback port. It starts in well under a second, so every test
//! gets its own. Dropping the [`Slapd`] stops it and removes the directory;
//! a watchdog does the same if the test process dies first.
//!
//! Like Active Directory, a search returns at most 500 entries to anyone but
//! the rootdn unless it uses the paged-results control (`sizelimit
//! size.soft=500 size.hard=500 size.prtotal=unlimited`). The database skips
//! fsync (`dbnosync`): a throw-away server, and adding thousands of entries
//! then takes a fraction of a second. [`slapd_with_tls`] adds StartTLS and
//! ldaps:// under a throw-away CA.
//!
//! OpenLDAP lacks Active Directory's attributes, so [`AD_SCHEMA`] defines
//! them under a private arc (1.3.6.1.4.1.99999), with matching rules, so that
//! filters on them work: `sAMAccountName`, `userAccountControl`,
//! `lastLogonTimestamp`, `employeeID`, `userPrincipalName`,
//! `servicePrincipalName`, `objectCategory`, `department`, and the auxiliary classes
//! `adUser` (also named `user`) and `adGroup` (also named `group`), so that
//! the AD preset's filters run unchanged. The AD bit filter
//! `(userAccountControl:1.2.840.113556.1.4.803:=2)` works on it too.

use crate::{TestkitError, describe, free_port, io_err, is_executable, missing, require_tool};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use std::{fs, thread};

/// The AD-like schema loaded into every test server.
pub const AD_SCHEMA: &str = r#"# AD-like attributes for tests (private arc 1.3.6.1.4.1.99999, not Microsoft's OIDs).
attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.3 NAME 'lastLogonTimestamp'
  EQUALITY integerMatch ORDERING integerOrderingMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.4 NAME 'employeeID'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.5 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.6 NAME 'servicePrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.99999.1.7 NAME 'objectCategory'
  EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.8 NAME 'department'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME ( 'adUser' 'user' ) AUXILIARY
  MAY ( sAMAccountName $ userAccountControl $ lastLogonTimestamp $ employeeID $
        userPrincipalName $ servicePrincipalName $ objectCategory $ department ) )
objectclass ( 1.3.6.1.4.1.99999.2.2 NAME ( 'adGroup' 'group' ) AUXILIARY
  MAY ( sAMAccountName $ objectCategory ) )
"#;

/// The rootdn's password of every test server (a test secret, nothing more).
pub const ROOT_PASSWORD: &str = "test-root-secret";

/// A running test server; stopped and removed on drop.
#[derive(Debug)]
pub struct Slapd {
    dir: PathBuf,
    port: u16,
    suffix: String,
    root_dn: String,
    /// With TLS: the ldaps:// port and the test CA's certificate (PEM).
    tls: Option<(u16, PathBuf)>,
    /// Numbers the LDIF files of [`Slapd::apply`].
    applied: AtomicU64,
    child: Child,
    /// Closed when this process exits, however it exits: the watchdog then
    /// stops the server and removes `dir`.
    _watchdog: ChildStdin,
}

/// Finds a tool on PATH or in the sbin directories (slapd lives in /usr/sbin).
fn find_tool(name: &str) -> Result<PathBuf, TestkitError> {
    require_tool(name).or_else(|e| {
        ["/usr/sbin", "/usr/local/sbin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| is_executable(p))
            .ok_or(e)
    })
}

fn ldap_missing(tool: &str, detail: &str) -> TestkitError {
    missing(
        tool,
        &format!("{detail} (Debian packages slapd and ldap-utils; ./test.sh installs them)"),
    )
}

/// Starts a server for `suffix` (e.g. `dc=example,dc=org`) holding only the
/// suffix entry (a `dcObject` + `organization`), on ldap:// only.
pub fn slapd(suffix: &str) -> Result<Slapd, TestkitError> {
    start(suffix, false)
}

/// Like [`slapd()`], with TLS too: StartTLS on its ldap:// port, and an
/// ldaps:// port, under a certificate for 127.0.0.1 from a throw-away CA
/// (made with the `openssl` command; see [`Slapd::ca_file`]).
pub fn slapd_with_tls(suffix: &str) -> Result<Slapd, TestkitError> {
    start(suffix, true)
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`:
/// `ca.pem`, `server.pem`, `server.key`.
pub fn make_certificates(dir: &Path) -> Result<(), TestkitError> {
    let openssl = require_tool("openssl")?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    crate::run(
        Command::new(&openssl)
            .current_dir(dir)
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"])
            .args(["-subj", "/CN=soxctl test CA"]),
    )?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| io_err("writing server.ext", e))?;
    crate::run(
        Command::new(&openssl)
            .current_dir(dir)
            .arg("req")
            .args(ec)
            .args(["-keyout", "server.key", "-out", "server.csr"])
            .args(["-subj", "/CN=127.0.0.1"]),
    )?;
    crate::run(
        Command::new(&openssl)
            .current_dir(dir)
            .args(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem"])
            .args(["-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem"])
            .args(["-days", "2", "-extfile", "server.ext"]),
    )?;
    Ok(())
}

fn start(suffix: &str, tls: bool) -> Result<Slapd, TestkitError> {
    let slapd = find_tool("slapd").map_err(|_| ldap_missing("slapd", "not found"))?;
    find_tool("ldapmodify").map_err(|_| ldap_missing("ldapmodify", "not found"))?;
    let schema_dir = Path::new("/etc/ldap/schema");
    let module_dir = Path::new("/usr/lib/ldap");
    for file in [
        "core.schema",
        "cosine.schema",
        "inetorgperson.schema",
        "nis.schema",
    ] {
        if !schema_dir.join(file).is_file() {
            return Err(ldap_missing(
                "slapd schemas",
                &format!("{} is missing", schema_dir.join(file).display()),
            ));
        }
    }
    if !module_dir.join("back_mdb.so").exists() {
        return Err(ldap_missing(
            "slapd modules",
            &format!("{} is missing", module_dir.join("back_mdb.so").display()),
        ));
    }
    let first_rdn_value = suffix
        .split(',')
        .next()
        .and_then(|rdn| rdn.split_once('='))
        .map(|(_, v)| v.trim().to_owned())
        .ok_or_else(|| missing("a suffix like dc=example,dc=org", suffix))?;

    let dir = tempfile::Builder::new()
        .prefix("soxctl-slapd-")
        .tempdir()
        .map_err(|e| io_err("creating temp dir for slapd", e))?
        .keep();
    let db = dir.join("db");
    fs::create_dir(&db).map_err(|e| io_err(&format!("creating {}", db.display()), e))?;
    let schema = dir.join("ad-like.schema");
    fs::write(&schema, AD_SCHEMA).map_err(|e| io_err("writing the AD-like schema", e))?;
    let root_dn = format!("cn=admin,{suffix}");
    let conf = dir.join("slapd.conf");
    let tls_conf = if tls {
        make_certificates(&dir)?;
        format!(
            "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n",
            d = dir.display()
        )
    } else {
        String::new()
    };
    let text = format!(
        "include {s}/core.schema\ninclude {s}/cosine.schema\ninclude {s}/inetorgperson.schema\n\
         include {s}/nis.schema\ninclude {schema}\n\
         {tls_conf}pidfile {dir}/slapd.pid\nmodulepath {m}\nmoduleload back_mdb\nmoduleload memberof\n\
         sizelimit size.soft=500 size.hard=500 size.prtotal=unlimited\n\
         database mdb\nsuffix \"{suffix}\"\nrootdn \"{root_dn}\"\nrootpw {ROOT_PASSWORD}\n\
         directory {db}\ndbnosync\nmaxsize 104857600\noverlay memberof\n",
        s = schema_dir.display(),
        m = module_dir.display(),
        schema = schema.display(),
        dir = dir.display(),
        db = db.display(),
    );
    fs::write(&conf, text).map_err(|e| io_err("writing slapd.conf", e))?;
    crate::run(
        Command::new(slapd.with_file_name("slaptest"))
            .arg("-f")
            .arg(&conf)
            .arg("-u"),
    )?;

    let log_path = dir.join("slapd.log");
    let mut last_err = None;
    for _ in 0..5 {
        let port = free_port()?;
        let ldaps_port = if tls { Some(free_port()?) } else { None };
        let mut listen = format!("ldap://127.0.0.1:{port}/");
        if let Some(p) = ldaps_port {
            listen.push_str(&format!(" ldaps://127.0.0.1:{p}/"));
        }
        let log = fs::File::create(&log_path).map_err(|e| io_err("creating slapd.log", e))?;
        let mut cmd = Command::new(&slapd);
        // -d: stay in the foreground (a child we can stop), logging to stderr.
        cmd.args(["-d", "0", "-f"])
            .arg(&conf)
            .arg("-h")
            .arg(&listen)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Own process group: Ctrl-C on `cargo test` is the watchdog's to handle.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| TestkitError::Command {
            command: describe(&cmd),
            status: "could not be spawned".into(),
            stderr: e.to_string(),
        })?;
        let watchdog = spawn_watchdog(child.id(), &dir)?;
        let ready = wait_ready(&mut child, port)
            .and_then(|()| ldaps_port.map_or(Ok(()), |p| wait_ready(&mut child, p)));
        match ready {
            Ok(()) => {
                let tls = ldaps_port.map(|p| (p, dir.join("ca.pem")));
                let server = Slapd {
                    dir,
                    port,
                    suffix: suffix.to_owned(),
                    root_dn,
                    tls,
                    applied: AtomicU64::new(0),
                    child,
                    _watchdog: watchdog,
                };
                server.apply(&format!(
                    "dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\n\
                     dc: {first_rdn_value}\no: {first_rdn_value}\n"
                ))?;
                return Ok(server);
            }
            Err(status) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(&log_path).unwrap_or_default();
                let err = TestkitError::Command {
                    command: describe(&cmd),
                    status,
                    stderr: format!("--- slapd log ---\n{log}"),
                };
                if !log.contains("Address already in use") {
                    drop(watchdog);
                    return Err(err);
                }
                last_err = Some(err);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| missing("a free TCP port", "no attempt made")))
}

/// Waits until the server accepts connections, or says why it will not.
fn wait_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited at start-up ({status})"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("did not accept connections within 10 s".into());
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// `sh` blocking on its stdin until this process is gone, then stopping the
/// server and deleting `dir` (see the PostgreSQL watchdog).
fn spawn_watchdog(pid: u32, dir: &Path) -> Result<ChildStdin, TestkitError> {
    const SCRIPT: &str = r#"
trap '' INT HUP TERM
cat >/dev/null
kill "$1" 2>/dev/null
sleep 1
rm -rf "$2"
"#;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg(format!(
            "soxctl-slapd-watchdog-for-pid-{}",
            std::process::id()
        ))
        .arg(pid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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

impl Slapd {
    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ldaps://127.0.0.1:PORT`, for a server started with TLS.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls
            .as_ref()
            .map(|(port, _)| format!("ldaps://127.0.0.1:{port}"))
    }

    /// The PEM certificate of the CA that signed the server's, with TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|(_, ca)| ca.as_path())
    }

    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The DN with full rights (password [`ROOT_PASSWORD`]).
    pub fn root_dn(&self) -> &str {
        &self.root_dn
    }

    /// The server's directory (config, database, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies LDIF as the rootdn with `ldapmodify -a`: records without a
    /// `changetype` are added; others may modify, delete or rename.
    pub fn apply(&self, ldif: &str) -> Result<(), TestkitError> {
        let tool = find_tool("ldapmodify")?;
        // A file, not a pipe: ldapmodify reports each entry on stdout, and a
        // large LDIF written to its stdin would fill both pipes at once.
        let n = self.applied.fetch_add(1, Ordering::Relaxed);
        let file = self.dir.join(format!("apply-{n}.ldif"));
        fs::write(&file, ldif).map_err(|e| io_err(&format!("writing {}", file.display()), e))?;
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-a", "-H"])
            .arg(self.url())
            .arg("-D")
            .arg(&self.root_dn)
            .args(["-w", ROOT_PASSWORD, "-f"])
            .arg(&file);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| TestkitError::Command {
                command: describe(&cmd),
                status: "could not be spawned".into(),
                stderr: e.to_string(),
            })?;
        if out.status.success() {
            return Ok(());
        }
        let tail: Vec<&str> = ldif.lines().take(40).collect();
        Err(TestkitError::Command {
            command: describe(&cmd),
            status: out.status.to_string(),
            stderr: format!(
                "{}\n--- LDIF (first lines, whole in {}) ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                file.display(),
                tail.join("\n")
            ),
        })
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An LDAP mapping preset's text with its commented-out `[people]` example
/// (from `# [people]` to its `# existing` line) uncommented.
pub fn with_people_example(preset: &str) -> String {
    let mut inside = false;
    preset
        .lines()
        .map(|line| {
            inside |= line == "# [people]";
            let out = match line.strip_prefix("# ") {
                Some(rest) if inside => rest.to_owned(),
                _ => line.to_owned(),
            };
            if line.starts_with("# existing") {
                inside = false;
            }
            out + "\n"
        })
        .collect()
}
