//! Shared test support: one [`Env`] per test on either backend, events to
//! append, raw-SQL literals for tampering, and `verify` wrappers.

use soxctl_ledger::note::{SigningKey, VerifierKey};
use soxctl_ledger::tree::Hash;
use soxctl_model::clock::ManualClock;
use soxctl_model::event::{
    AccountFact, EntitlementFact, Event, GrantFact, Origin, PersonFact, RoleFact, SystemFact,
    TokenCreated, TokenRevoked,
};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, Person, PersonStatus,
    Role, System,
};
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use soxctl_store::verify::{self, Failure, Options, Report, VerifyError};
use soxctl_store::{FailPoints, Location, OpenOptions, Receipt, Store};
use std::path::PathBuf;
use std::sync::Arc;

/// Origin of every test store; also the name of its checkpoint key.
pub const ORIGIN: &str = "test.soxctl.example/ledger";
pub const START: &str = "2025-06-30T17:00:00Z";

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

/// One test's store location plus its temp dir (SQLite data, key files).
pub struct Env {
    pub backend: Backend,
    pub location: Location,
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub failpoints: FailPoints,
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
        let clock = Arc::new(ManualClock::new(ts(START)));
        Env {
            backend,
            location,
            dir,
            clock,
            failpoints: FailPoints::default(),
        }
    }

    pub fn options(&self, create: bool) -> OpenOptions {
        OpenOptions {
            location: self.location.clone(),
            create,
            clock: self.clock.clone(),
            failpoints: self.failpoints.clone(),
        }
    }

    /// Another handle on the same store (a second process or replica).
    pub async fn open(&self) -> Store {
        Store::open(self.options(true)).await.expect("open store")
    }

    /// A new handle, initialised with [`ORIGIN`].
    pub async fn store(&self) -> Store {
        let store = self.open().await;
        store
            .initialise(Some(ORIGIN.into()), false)
            .await
            .expect("initialise");
        store
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("signing.key")
    }

    /// The store's checkpoint key (created on first use, outside the database).
    pub fn key(&self) -> SigningKey {
        soxctl_store::signing::load_or_create(&self.key_path(), ORIGIN).expect("signing key")
    }

    /// SQL literal for bytes, in this backend's syntax.
    pub fn blob(&self, bytes: &[u8]) -> String {
        match self.backend {
            Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
            Backend::Postgres => format!("'\\x{}'::bytea", hex::encode(bytes)),
        }
    }
}

/// SQL literal for text.
pub fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("timestamp")
}

pub fn actor() -> Principal {
    Principal::system("test")
}

pub fn token_id(i: u64) -> TokenId {
    TokenId::parse(format!("tok{i:05}")).expect("token id")
}

/// A distinct token per `i`: the cheapest event with its own state row.
pub fn token(i: u64) -> Event {
    Event::TokenCreated(TokenCreated {
        token_id: token_id(i),
        secret_sha256: format!("{i:064x}"),
        scopes: vec![Scope::Read],
        system_id: None,
        person_id: None,
        expires_at: None,
        description: Some(format!("token {i:05}")),
        repo: None,
        environments: Vec::new(),
    })
}

pub fn revoke(i: u64) -> Event {
    Event::TokenRevoked(TokenRevoked {
        token_id: token_id(i),
    })
}

/// Appends tokens `range` in transactions of at most `batch` entries.
pub async fn append_tokens(store: &Store, range: std::ops::Range<u64>, batch: u64) -> Receipt {
    let mut last = None;
    let mut next = range.start;
    while next < range.end {
        let end = (next + batch).min(range.end);
        let mut tx = store.begin_write().await.expect("begin");
        for i in next..end {
            tx.append(&actor(), &token(i)).await.expect("append");
        }
        last = Some(tx.commit().await.expect("commit"));
        next = end;
    }
    last.expect("empty range")
}

/// Grows the ledger to exactly `size` entries with token events.
pub async fn grow_to(store: &Store, size: u64) {
    let head = store.head().await.expect("head").size;
    assert!(head <= size, "ledger already has {head} entries");
    if head < size {
        append_tokens(store, 1_000_000 + head..1_000_000 + size, 500).await;
    }
    assert_eq!(store.head().await.expect("head").size, size);
}

pub fn person(id: &str, name: &str, email: &str) -> Person {
    Person {
        person_id: PersonId::parse(id).expect("person id"),
        name: Some(name.into()),
        email: Some(email.into()),
        manager_id: None,
        department: Some("Finance".into()),
        title: Some("Controller".into()),
        status: PersonStatus::Active,
        hire_date: None,
        termination_date: None,
    }
}

/// A person, a system with an entitlement, an account holding it, a role and
/// two tokens (one revoked): one row in most state tables.
pub async fn seed_inventory(store: &Store) -> Receipt {
    let sys = SystemId::parse("erp").expect("id");
    let ent = EntitlementId::parse("VENDOR_CREATE").expect("id");
    let acc = AccountId::parse("ada").expect("id");
    let p1 = PersonId::parse("p1").expect("id");
    let origin = Origin::default();
    let mut tx = store.begin_write().await.expect("begin");
    let sealed = tx
        .seal_person(&person("p1", "Ada Lovelace", "ada@example.com"))
        .await
        .expect("seal");
    let events = vec![
        Event::PersonAdded(PersonFact {
            origin: origin.clone(),
            changed: None,
            person: sealed,
        }),
        Event::SystemAdded(SystemFact {
            origin: origin.clone(),
            changed: None,
            system: System {
                system_id: sys.clone(),
                name: "ERP".into(),
                kind: Some("erp".into()),
                owner_id: Some(p1.clone()),
                sox_in_scope: true,
            },
        }),
        Event::EntitlementAdded(EntitlementFact {
            origin: origin.clone(),
            changed: None,
            entitlement: Entitlement {
                system_id: sys.clone(),
                entitlement_id: ent.clone(),
                name: Some("Create vendors".into()),
                privileged: true,
                owner_id: Some(p1.clone()),
                description: None,
            },
        }),
        Event::AccountAdded(AccountFact {
            origin: origin.clone(),
            changed: None,
            account: Account {
                system_id: sys.clone(),
                account_id: acc.clone(),
                person_id: Some(p1.clone()),
                kind: AccountKind::Human,
                status: AccountStatus::Active,
                last_login: Some(ts("2025-06-01T09:00:00Z")),
                mfa: Some(true),
                owner_id: None,
                credential_rotated_at: None,
            },
        }),
        Event::RoleAdded(RoleFact {
            origin: origin.clone(),
            changed: None,
            role: Role {
                role_id: RoleId::parse("AP_CLERK").expect("id"),
                name: None,
                owner_id: Some(p1),
            },
        }),
        Event::GrantAdded(GrantFact {
            origin,
            changed: None,
            grant: Grant {
                system_id: sys,
                account_id: acc,
                entitlement_id: ent,
                granted_at: Some(ts("2024-01-01T00:00:00Z")),
                source: GrantSource::Role(RoleId::parse("AP_CLERK").expect("id")),
            },
        }),
        token(1),
        token(2),
        revoke(2),
    ];
    for event in &events {
        tx.append(&actor(), event).await.expect("append");
    }
    tx.commit().await.expect("commit")
}

/// Runs `verify` with the env's key and an optional trusted checkpoint note.
pub async fn run_verify(
    env: &Env,
    store: &Store,
    trusted: Option<&str>,
) -> Result<Report, VerifyError> {
    let key: VerifierKey = env.key().verifier();
    verify::verify(
        store,
        Options {
            key: &key,
            trusted_checkpoint: trusted,
        },
        |_, _| {},
    )
    .await
}

/// Signs a checkpoint first, as every command that writes does before it
/// returns, then verifies; nothing may be left unsigned.
pub async fn assert_verifies(env: &Env, store: &Store) -> Report {
    store
        .sign_checkpoint(&env.key())
        .await
        .expect("sign a checkpoint");
    match run_verify(env, store, None).await {
        Ok(report) => {
            assert_eq!(report.unsigned_entries, 0);
            report
        }
        Err(e) => panic!("verify should pass on {:?}: {e}", env.backend),
    }
}

/// The `Failure` verify reports; panics if it passes or fails otherwise.
pub async fn verify_failure(env: &Env, store: &Store, trusted: Option<&str>) -> Failure {
    match run_verify(env, store, trusted).await {
        Err(VerifyError::Failed(failure)) => failure,
        Err(VerifyError::Store(e)) => {
            panic!("verify hit a store error instead of reporting tampering: {e}")
        }
        Ok(report) => panic!(
            "tampering went undetected: verify passed over {} entries",
            report.entries
        ),
    }
}

/// The stored entries, whole: (seq, leaf hash, bytes).
pub async fn all_entries(store: &Store) -> Vec<(u64, Hash, Vec<u8>)> {
    store.entries(0, 1 << 40).await.expect("entries")
}

/// The parsed JSON of an entry's bytes.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("entry is JSON")
}

/// A tiny deterministic PRNG (xorshift64*), so tests need no `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}
