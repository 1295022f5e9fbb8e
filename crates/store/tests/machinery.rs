#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
//! The transactional outbox and the job runner, each test on SQLite and on a
//! throw-away PostgreSQL (which must be available: the tests fail, never skip).
//! Time is a `ManualClock` shared by every store handle of a test, so
//! backoff, claims and leases are advanced by hand, not waited for.

use soxctl_model::clock::{Clock, ManualClock};
use soxctl_model::event::{Event, TokenCreated};
use soxctl_model::ids::TokenId;
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use soxctl_store::{FailPoints, Location, OpenOptions, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const START: &str = "2025-06-30T17:00:00Z";

/// `mod $name { sqlite, postgres }` test pairs for `async fn $name(env: Env)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::{Backend, Env};
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

/// Polls `$cond` (an async expression) until true, failing after `$secs` s.
macro_rules! wait_until {
    ($secs:expr, $what:expr, $cond:expr) => {{
        let deadline = Instant::now() + Duration::from_secs($secs);
        loop {
            if $cond {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Env {
    backend: Backend,
    location: Location,
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    failpoints: FailPoints,
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
        Env {
            backend,
            location,
            _dir: dir,
            clock: Arc::new(ManualClock::new(ts(START))),
            failpoints: FailPoints::default(),
        }
    }

    /// A new handle (its own pool): another process or replica.
    async fn open(&self) -> Store {
        Store::open(OpenOptions {
            location: self.location.clone(),
            create: true,
            clock: self.clock.clone(),
            failpoints: self.failpoints.clone(),
        })
        .await
        .expect("open store")
    }

    async fn store(&self) -> Store {
        let store = self.open().await;
        store.initialise(None, false).await.expect("initialise");
        store
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance(&self, by: Duration) {
        self.clock
            .advance(chrono::Duration::from_std(by).expect("duration"));
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("timestamp")
}

fn after(t: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_datetime(t.as_datetime() + chrono::Duration::from_std(by).expect("duration"))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn actor() -> Principal {
    Principal::system("test")
}

fn token(i: u64) -> Event {
    Event::TokenCreated(TokenCreated {
        token_id: TokenId::parse(format!("tok{i:05}")).expect("token id"),
        secret_sha256: format!("{i:064x}"),
        scopes: vec![Scope::Read],
        system_id: None,
        person_id: None,
        expires_at: None,
        description: None,
        repo: None,
        environments: Vec::new(),
    })
}

#[path = "machinery/jobs.rs"]
mod jobs;
#[path = "machinery/outbox.rs"]
mod outbox;
