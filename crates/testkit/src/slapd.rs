//! A throw-away OpenLDAP `slapd` per test: a generated `slapd.conf` (mdb
//! backend, memberof overlay, an AD-like schema of our own) in a temp dir,
//! on a free loopback port. It starts in well under a second, so every test
//! gets its own. Dropping the [`Slapd`] stops it and removes the directory;
//! a watchdog does the same if the test process dies first.
//!
//! OpenLDAP lacks Active Directory's attributes, so [`AD_SCHEMA`] defines
//! them under a private arc (1.3.6.1.4.1.99999), with matching rules, so that
//! filters on them work: `sAMAccountName`, `userAccountControl`,
//! `lastLogonTimestamp`, `employeeID`, `userPrincipalName`,
//! `servicePrincipalName`, `objectCategory`, and the auxiliary classes
//! `adUser` (also named `user`) and `adGroup` (also named `group`), so that
//! the AD preset's filters run unchanged. The AD bit filter
//! `(userAccountControl:1.2.840.113556.1.4.803:=2)` works on it too.

use crate::{TestkitError, describe, free_port, io_err, is_executable, missing, require_tool};
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
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
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME ( 'adUser' 'user' ) AUXILIARY
  MAY ( sAMAccountName $ userAccountControl $ lastLogonTimestamp $ employeeID $
        userPrincipalName $ servicePrincipalName $ objectCategory ) )
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
/// suffix entry (a `dcObject` + `organization`).
pub fn slapd(suffix: &str) -> Result<Slapd, TestkitError> {
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
    let text = format!(
        "include {s}/core.schema\ninclude {s}/cosine.schema\ninclude {s}/inetorgperson.schema\n\
         include {s}/nis.schema\ninclude {schema}\n\
         pidfile {dir}/slapd.pid\nmodulepath {m}\nmoduleload back_mdb\nmoduleload memberof\n\
         database mdb\nsuffix \"{suffix}\"\nrootdn \"{root_dn}\"\nrootpw {ROOT_PASSWORD}\n\
         directory {db}\nmaxsize 104857600\noverlay memberof\n",
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
        let log = fs::File::create(&log_path).map_err(|e| io_err("creating slapd.log", e))?;
        let mut cmd = Command::new(&slapd);
        // -d: stay in the foreground (a child we can stop), logging to stderr.
        cmd.args(["-d", "0", "-f"])
            .arg(&conf)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
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
        match wait_ready(&mut child, port) {
            Ok(()) => {
                let server = Slapd {
                    dir,
                    port,
                    suffix: suffix.to_owned(),
                    root_dn,
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
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-a", "-H"])
            .arg(self.url())
            .arg("-D")
            .arg(&self.root_dn)
            .args(["-w", ROOT_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| TestkitError::Command {
            command: describe(&cmd),
            status: "could not be spawned".into(),
            stderr: e.to_string(),
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ldif.as_bytes())
                .map_err(|e| io_err("writing LDIF to ldapmodify", e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| io_err("waiting for ldapmodify", e))?;
        if out.status.success() {
            return Ok(());
        }
        Err(TestkitError::Command {
            command: describe(&cmd),
            status: out.status.to_string(),
            stderr: format!(
                "{}{}\n--- LDIF ---\n{ldif}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
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
