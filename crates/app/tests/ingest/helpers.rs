//! Shared support for the import tests: a store per test on either backend,
//! a small hand-written snapshot, and ways to look at what an import did.

use soxctl_app::ingest::{ImportError, ImportOptions, ImportOutcome, import};
use soxctl_connectors::snapshot;
use soxctl_model::clock::ManualClock;
use soxctl_model::inventory::Inventory;
use soxctl_model::time::Timestamp;
use soxctl_store::verify::{Options, Report};
use soxctl_store::{FailPoints, Location, OpenOptions, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const ORIGIN: &str = "test.soxctl.example/ledger";

/// Generates `mod $name { sqlite, postgres }` test pairs for `async fn $name(env: Env)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::helpers::{Backend, Env};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Env::new(Backend::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Env::new(Backend::Postgres).await).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Env {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Env {
    pub async fn new(backend: Backend) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let location = match backend {
            Backend::Sqlite => Location::Sqlite(dir.path().join("data")),
            // Fails (never skips) when PostgreSQL cannot be started.
            Backend::Postgres => Location::Postgres(
                soxctl_testkit::postgres()
                    .and_then(|pg| pg.fresh_database())
                    .unwrap_or_else(|e| panic!("PostgreSQL for the tests: {e}")),
            ),
        };
        let clock = Arc::new(ManualClock::new(ts("2025-07-01T08:00:00Z")));
        let options = OpenOptions {
            location,
            create: true,
            clock,
            failpoints: FailPoints::default(),
        };
        let store = Store::open(options).await.expect("open store");
        store
            .initialise(Some(ORIGIN.into()), false)
            .await
            .expect("initialise");
        Env {
            backend,
            dir,
            store,
        }
    }

    /// A fresh snapshot directory under the test's temp dir.
    pub fn snapshot_dir(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("snapshot dir");
        dir
    }

    /// Writes `files` (name, content) as a snapshot directory named `name`.
    pub fn write_snapshot(&self, name: &str, files: &[(&str, String)]) -> PathBuf {
        let dir = self.snapshot_dir(name);
        for (file, content) in files {
            std::fs::write(dir.join(file), content).expect("write snapshot file");
        }
        dir
    }

    pub async fn size(&self) -> u64 {
        self.store.head().await.expect("head").size
    }

    pub async fn inventory(&self) -> Inventory {
        self.store.inventory().await.expect("inventory")
    }

    pub async fn verify(&self) -> Report {
        let key =
            soxctl_store::signing::load_or_create(&self.dir.path().join("signing.key"), ORIGIN)
                .expect("key");
        // As `soxctl import` does before it returns.
        self.store
            .sign_checkpoint(&key)
            .await
            .expect("sign a checkpoint");
        let verifier = key.verifier();
        soxctl_store::verify::verify(
            &self.store,
            Options {
                key: &verifier,
                trusted_checkpoint: None,
            },
            |_, _| {},
        )
        .await
        .unwrap_or_else(|e| panic!("verify after import on {:?}: {e}", self.backend))
    }

    /// Reads the snapshot and imports it, as `soxctl import` does.
    pub async fn import(
        &self,
        dir: &Path,
        options: &ImportOptions,
    ) -> Result<ImportOutcome, ImportError> {
        let snapshot = snapshot::read(dir)?;
        import(&self.store, &snapshot, options).await
    }

    pub async fn import_ok(&self, dir: &Path) -> ImportOutcome {
        self.import(dir, &ImportOptions::default())
            .await
            .unwrap_or_else(|e| panic!("import {}: {e}", dir.display()))
    }

    /// (type, payload) of every import entry from `from` on: finding
    /// events of the detectors that run after an import are left out (see
    /// `all_events_since`).
    pub async fn events_since(&self, from: u64) -> Vec<(String, serde_json::Value)> {
        self.all_events_since(from)
            .await
            .into_iter()
            .filter(|(kind, _)| !kind.starts_with("finding."))
            .collect()
    }

    /// (type, payload) of every entry from `from` on.
    pub async fn all_events_since(&self, from: u64) -> Vec<(String, serde_json::Value)> {
        self.store
            .entries(from, 1 << 40)
            .await
            .expect("entries")
            .into_iter()
            .map(|(_, _, bytes)| {
                let mut entry: serde_json::Value =
                    serde_json::from_slice(&bytes).expect("entry JSON");
                let kind = entry["type"].as_str().expect("type").to_owned();
                (kind, entry["payload"].take())
            })
            .collect()
    }

    /// The raw bytes of every entry.
    pub async fn entry_bytes(&self) -> Vec<Vec<u8>> {
        self.store
            .entries(0, 1 << 40)
            .await
            .expect("entries")
            .into_iter()
            .map(|(_, _, b)| b)
            .collect()
    }
}

pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("timestamp")
}

/// How many events of each type.
pub fn kinds(events: &[(String, serde_json::Value)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (kind, _) in events {
        *counts.entry(kind.clone()).or_default() += 1;
    }
    counts
}

pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// The base snapshot: two systems, four people, two roles.
pub fn base() -> Vec<(&'static str, String)> {
    vec![
        (
            "manifest.toml",
            "source = \"hr-and-erp-export\"\nextracted_at = \"2025-06-30T17:00:00Z\"\n".into(),
        ),
        ("people.csv", PEOPLE.into()),
        ("systems.csv", SYSTEMS.into()),
        ("entitlements.csv", ENTITLEMENTS.into()),
        ("accounts.csv", ACCOUNTS.into()),
        ("grants.csv", GRANTS.into()),
        ("roles.csv", ROLES.into()),
        ("role_entitlements.csv", ROLE_ENTITLEMENTS.into()),
    ]
}

/// `base()` with one file replaced.
pub fn with(file: &str, content: impl Into<String>) -> Vec<(&'static str, String)> {
    let content = content.into();
    let mut files = base();
    let slot = files
        .iter_mut()
        .find(|(f, _)| *f == file)
        .expect("known snapshot file");
    slot.1 = content;
    files
}

/// `base()` with a file's text edited.
pub fn edit(file: &str, f: impl FnOnce(&str) -> String) -> Vec<(&'static str, String)> {
    let mut files = base();
    edit_in(&mut files, file, f);
    files
}

/// Edits one file's text in a list of snapshot files.
pub fn edit_in(files: &mut [(&'static str, String)], file: &str, f: impl FnOnce(&str) -> String) {
    let slot = files
        .iter_mut()
        .find(|(name, _)| *name == file)
        .expect("file in the snapshot");
    slot.1 = f(&slot.1);
}

pub const PEOPLE: &str = "\
person_id,name,email,manager_id,department,title,status,hire_date,termination_date
p1,Ada Lovelace,ada.lovelace@example.com,,Finance,Controller,active,2020-01-15,
p2,Grace Hopper,grace.hopper@example.com,p1,Finance,AP Clerk,active,2021-03-01,
p3,Alan Turing,alan.turing@example.com,p1,IT,Engineer,active,2019-07-01,
p4,Edsger Dijkstra,edsger.dijkstra@example.com,p1,Treasury,Treasurer,active,2018-02-01,
";

pub const SYSTEMS: &str = "\
system_id,name,kind,owner_id,sox_in_scope
erp,ERP,erp,p1,true
bank,Banking portal,banking,p4,true
";

pub const ENTITLEMENTS: &str = "\
system_id,entitlement_id,name,privileged,owner_id,description
erp,VENDOR_CREATE,Create vendors,false,p1,
erp,PAYMENT_APPROVE,Approve payments,true,p1,\"Approve, then pay\"
erp,GL_POST,Post journals,false,p1,
bank,PAYMENT_RELEASE,Release wires,true,p4,
bank,VIEW,View balances,false,p4,
";

pub const ACCOUNTS: &str = "\
system_id,account_id,person_id,kind,status,last_login,mfa
erp,u1001,p1,human,active,2025-06-01T09:00:00Z,true
erp,u1002,p2,human,active,2025-06-02T09:00:00Z,false
erp,u1003,p3,human,active,,true
erp,svc-batch,,service,active,,
bank,b-01,p4,human,active,2025-06-03T10:00:00Z,true
bank,b-02,p2,human,active,,true
";

pub const GRANTS: &str = "\
system_id,account_id,entitlement_id,granted_at,source
erp,u1001,PAYMENT_APPROVE,2024-01-01T00:00:00Z,direct
erp,u1001,GL_POST,2024-01-01T00:00:00Z,role:CONTROLLER
erp,u1002,VENDOR_CREATE,2024-02-01T00:00:00Z,role:AP_CLERK
erp,u1003,GL_POST,,direct
erp,svc-batch,GL_POST,,direct
bank,b-01,PAYMENT_RELEASE,2023-01-01T00:00:00Z,direct
bank,b-01,VIEW,,direct
bank,b-02,VIEW,,direct
";

pub const ROLES: &str = "\
role_id,name,owner_id
AP_CLERK,Accounts payable clerk,p1
CONTROLLER,Controller,p1
";

pub const ROLE_ENTITLEMENTS: &str = "\
role_id,system_id,entitlement_id
AP_CLERK,erp,VENDOR_CREATE
CONTROLLER,erp,GL_POST
";

/// Names and emails of the base snapshot's people.
pub const PERSONAL_DATA: &[&str] = &[
    "Ada Lovelace",
    "ada.lovelace@example.com",
    "Grace Hopper",
    "grace.hopper@example.com",
    "Alan Turing",
    "alan.turing@example.com",
    "Edsger Dijkstra",
    "edsger.dijkstra@example.com",
];

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
