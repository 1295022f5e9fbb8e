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

use serde_json::json;
use soxctl_model::clock::{Clock, ManualClock};
use soxctl_model::event::{Event, TokenCreated};
use soxctl_model::ids::TokenId;
use soxctl_model::principal::{Principal, Scope};
use soxctl_model::time::Timestamp;
use soxctl_store::failpoint::COMMIT_BEFORE_COMMIT;
use soxctl_store::jobs::BoxFuture;
use soxctl_store::{
    Deliver, FailPoints, JobRunner, Location, OpenOptions, OutboxMessage, OutboxPolicy,
    OutboxStatus, OutboxWorker, Store, StoreError,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

on_both_backends!(
    outbox_commit_delivers_once,
    outbox_rollback_is_never_delivered,
    outbox_enqueue_requires_an_append,
    outbox_failures_back_off_then_succeed,
    outbox_dead_letters_park_until_requeued,
    outbox_two_replicas_deliver_each_message_once,
    outbox_survives_reopen_and_a_new_worker_delivers,
    outbox_claim_of_a_crashed_worker_expires,
    jobs_one_leader_runs_each_occurrence_once,
    jobs_two_leaders_by_mistake_still_run_an_occurrence_once,
    jobs_successor_takes_over_when_the_leader_stops_or_dies,
    jobs_spawned_runners_hand_over,
    jobs_failing_job_records_error_and_advances,
);

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

/// Appends token `i` and enqueues a message about it, committed alone.
async fn append_and_enqueue(store: &Store, i: u64) -> u64 {
    let mut tx = store.begin_write().await.expect("begin");
    let seq = tx.append(&actor(), &token(i)).await.expect("append");
    tx.enqueue("token.created", &json!({ "token": i }))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    seq
}

/// Records what it accepts; fails the first `failures` calls.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<OutboxMessage>>,
    failures: AtomicU64,
    /// Per-delivery pause, so concurrent workers overlap.
    pause: Duration,
}

impl Recorder {
    fn failing(n: u64) -> Recorder {
        Recorder {
            failures: AtomicU64::new(n),
            ..Recorder::default()
        }
    }

    fn seen(&self) -> Vec<OutboxMessage> {
        self.seen.lock().unwrap().clone()
    }

    /// How often each message id was accepted.
    fn counts(&self) -> BTreeMap<u64, usize> {
        let mut counts = BTreeMap::new();
        for m in self.seen() {
            *counts.entry(m.id).or_default() += 1;
        }
        counts
    }
}

impl Deliver for Recorder {
    async fn deliver(&self, msg: &OutboxMessage) -> Result<(), String> {
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("downstream unavailable".into());
        }
        self.seen.lock().unwrap().push(msg.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------- outbox

async fn outbox_commit_delivers_once(env: Env) {
    let store = env.store().await;
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(1)).await.unwrap();
    let seq = tx.append(&actor(), &token(2)).await.unwrap();
    tx.enqueue("token.created", &json!({ "token": 2, "scopes": ["read"] }))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.outbox_pending().await.unwrap(), 1);

    let recorder = Recorder::default();
    let report = store.deliver_due(&recorder, 10).await.unwrap();
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 1, 0));
    let again = store.deliver_due(&recorder, 10).await.unwrap();
    assert_eq!(
        again.claimed, 0,
        "a delivered message is never claimed again"
    );

    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    // The message points at the entry that caused it: the last one appended.
    assert_eq!(seen[0].seq, seq);
    assert_eq!(seen[0].topic, "token.created");
    assert_eq!(seen[0].payload, json!({ "token": 2, "scopes": ["read"] }));
    assert_eq!(seen[0].attempt, 1);
    assert_eq!(seen[0].created_at, env.now());

    let status = store.outbox_status().await.unwrap();
    assert_eq!(
        status,
        OutboxStatus {
            pending: 0,
            dead: 0,
            delivered: 1,
            oldest_pending: None
        }
    );
    let records = store.outbox_records(0, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].attempts, 1);
    assert_eq!(records[0].delivered_at, Some(env.now()));
    assert_eq!(records[0].claimed_until, None);
    assert_eq!(records[0].last_error, None);
}

async fn outbox_rollback_is_never_delivered(env: Env) {
    let store = env.store().await;
    // Dropped without commit.
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(1)).await.unwrap();
    tx.enqueue("token.created", &json!({ "token": 1 }))
        .await
        .unwrap();
    drop(tx);
    // Failed at the last moment of commit.
    env.failpoints.arm(COMMIT_BEFORE_COMMIT);
    let mut tx = store.begin_write().await.unwrap();
    tx.append(&actor(), &token(2)).await.unwrap();
    tx.enqueue("token.created", &json!({ "token": 2 }))
        .await
        .unwrap();
    assert!(tx.commit().await.is_err());

    assert_eq!(
        store.outbox_status().await.unwrap(),
        OutboxStatus::default()
    );
    let recorder = Recorder::default();
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().claimed, 0);

    // The next committed message is the only one ever delivered.
    let seq = append_and_enqueue(&store, 3).await;
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().delivered, 1);
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].seq, &seen[0].payload),
        (seq, &json!({ "token": 3 }))
    );
}

async fn outbox_enqueue_requires_an_append(env: Env) {
    let store = env.store().await;
    let mut tx = store.begin_write().await.unwrap();
    let err = tx
        .enqueue("token.created", &json!({}))
        .await
        .expect_err("a message without an event");
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("append before enqueue")),
        "{err}"
    );
    // The refusal does not spoil the transaction.
    let seq = tx.append(&actor(), &token(1)).await.unwrap();
    tx.enqueue("token.created", &json!({ "token": 1 }))
        .await
        .unwrap();
    assert!(tx.enqueue("", &json!({})).await.is_err(), "empty topic");
    tx.commit().await.unwrap();

    // Entries committed earlier do not count for a new transaction.
    let mut tx = store.begin_write().await.unwrap();
    assert!(tx.enqueue("token.created", &json!({})).await.is_err());
    drop(tx);

    let records = store.outbox_records(0, 10).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].seq, seq);
}

async fn outbox_failures_back_off_then_succeed(env: Env) {
    let store = env.store().await;
    append_and_enqueue(&store, 1).await;
    let recorder = Recorder::failing(3);

    // Attempt 1 fails: retry in 1 s.
    let report = store.deliver_due(&recorder, 10).await.unwrap();
    assert_eq!((report.delivered, report.failed), (0, 1));
    let record = store.outbox_records(0, 1).await.unwrap().remove(0);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.last_error.as_deref(), Some("downstream unavailable"));
    assert_eq!(record.next_attempt_at, Some(after(env.now(), secs(1))));
    assert_eq!(record.claimed_until, None);
    assert_eq!(store.outbox_pending().await.unwrap(), 1);
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().claimed, 0);
    env.advance(Duration::from_millis(999));
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().claimed, 0);

    // Attempt 2 fails: retry in 2 s.
    env.advance(Duration::from_millis(1));
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().failed, 1);
    let record = store.outbox_records(0, 1).await.unwrap().remove(0);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.next_attempt_at, Some(after(env.now(), secs(2))));

    // Attempt 3 fails: retry in 4 s.
    env.advance(secs(2));
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().failed, 1);
    env.advance(secs(3));
    assert_eq!(store.deliver_due(&recorder, 10).await.unwrap().claimed, 0);

    // Attempt 4 succeeds.
    env.advance(secs(1));
    let report = store.deliver_due(&recorder, 10).await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 0));
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].attempt, 4);
    let record = store.outbox_records(0, 1).await.unwrap().remove(0);
    assert_eq!(record.attempts, 4);
    assert_eq!(record.last_error, None);
    assert_eq!(record.delivered_at, Some(env.now()));

    // The schedule itself: doubling from the base, capped.
    let policy = OutboxPolicy::default();
    assert_eq!(policy.backoff(1), secs(1));
    assert_eq!(policy.backoff(4), secs(8));
    assert_eq!(policy.backoff(12), secs(2048));
    assert_eq!(policy.backoff(13), secs(3600));
    assert_eq!(policy.backoff(1000), secs(3600));
}

async fn outbox_dead_letters_park_until_requeued(env: Env) {
    let store = env.store().await;
    append_and_enqueue(&store, 1).await;
    let policy = OutboxPolicy {
        max_attempts: 2,
        ..OutboxPolicy::default()
    };
    let recorder = Recorder::failing(u64::MAX);

    let first = store
        .deliver_due_with(&recorder, 10, &policy)
        .await
        .unwrap();
    assert_eq!((first.failed, first.dead_letters.len()), (1, 0));
    env.advance(secs(1));
    let second = store
        .deliver_due_with(&recorder, 10, &policy)
        .await
        .unwrap();
    assert_eq!(second.failed, 1);
    assert_eq!(second.dead_letters.len(), 1);
    let id = second.dead_letters[0];

    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.pending, status.dead, status.delivered), (0, 1, 0));
    let record = store.outbox_records(0, 1).await.unwrap().remove(0);
    assert_eq!(record.id, id);
    assert!(record.dead);
    assert_eq!(record.next_attempt_at, None);
    assert_eq!(
        record.delivered_at, None,
        "a dead letter is kept undelivered"
    );

    // Never retried on its own...
    env.advance(secs(10 * 24 * 3600));
    assert_eq!(
        store
            .deliver_due_with(&recorder, 10, &policy)
            .await
            .unwrap()
            .claimed,
        0
    );
    // ...until an operator requeues it.
    recorder.failures.store(0, Ordering::SeqCst);
    assert_eq!(store.outbox_requeue_dead().await.unwrap(), 1);
    let report = store
        .deliver_due_with(&recorder, 10, &policy)
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(recorder.seen()[0].attempt, 3);
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.pending, status.dead, status.delivered), (0, 0, 1));
}

async fn outbox_two_replicas_deliver_each_message_once(env: Env) {
    let a = env.store().await;
    let b = env.open().await;
    let recorder = Arc::new(Recorder {
        pause: Duration::from_millis(1),
        ..Recorder::default()
    });

    // Phase 1: a backlog, drained by both replicas at once in small passes.
    for i in 0..10u64 {
        let store = if i % 2 == 0 { &a } else { &b };
        let mut tx = store.begin_write().await.unwrap();
        for j in 0..10 {
            let n = i * 10 + j;
            tx.append(&actor(), &token(n)).await.unwrap();
            tx.enqueue("token.created", &json!({ "token": n }))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let drain = |store: Store, recorder: Arc<Recorder>| {
        tokio::spawn(async move {
            let mut delivered = 0;
            loop {
                let report = store.deliver_due(&recorder, 5).await.unwrap();
                delivered += report.delivered;
                if report.claimed == 0 && store.outbox_pending().await.unwrap() == 0 {
                    return delivered;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let (da, db) = tokio::join!(
        drain(a.clone(), recorder.clone()),
        drain(b.clone(), recorder.clone())
    );
    let (da, db) = (da.unwrap(), db.unwrap());
    assert_eq!(da + db, 100, "replica a delivered {da}, b {db}");

    // Phase 2: a worker per replica while both replicas keep committing.
    let wa = OutboxWorker::spawn(a.clone(), recorder.clone(), Duration::from_millis(20));
    let wb = OutboxWorker::spawn(b.clone(), recorder.clone(), Duration::from_millis(20));
    for i in 100..200u64 {
        let store = if i % 2 == 0 { &a } else { &b };
        append_and_enqueue(store, i).await;
    }
    wait_until!(
        60,
        "200 deliveries",
        a.outbox_status().await.unwrap().delivered == 200
    );
    wa.stop().await;
    wb.stop().await;

    let counts = recorder.counts();
    assert_eq!(counts.len(), 200);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let status = b.outbox_status().await.unwrap();
    assert_eq!((status.pending, status.delivered), (0, 200));
}

async fn outbox_survives_reopen_and_a_new_worker_delivers(env: Env) {
    let store = env.store().await;
    let seq = append_and_enqueue(&store, 7).await;
    store.close().await;
    drop(store);

    let reopened = env.open().await;
    assert_eq!(reopened.outbox_pending().await.unwrap(), 1);
    let recorder = Arc::new(Recorder::default());
    let worker = OutboxWorker::spawn(
        reopened.clone(),
        recorder.clone(),
        Duration::from_millis(20),
    );
    wait_until!(10, "the delivery", recorder.seen().len() == 1);
    // The worker also wakes on this process's own commits, well before its poll.
    append_and_enqueue(&reopened, 8).await;
    wait_until!(10, "the second delivery", recorder.seen().len() == 2);
    worker.stop().await;

    let seen = recorder.seen();
    assert_eq!(
        (seen[0].seq, &seen[0].payload),
        (seq, &json!({ "token": 7 }))
    );
    assert_eq!(seen[1].payload, json!({ "token": 8 }));
    assert_eq!(reopened.outbox_status().await.unwrap().delivered, 2);
}

/// Waits forever once it has a message: a worker that hangs, then "crashes".
#[derive(Default)]
struct Hang {
    started: tokio::sync::Notify,
}

impl Deliver for Hang {
    async fn deliver(&self, _msg: &OutboxMessage) -> Result<(), String> {
        self.started.notify_one();
        std::future::pending::<()>().await;
        Ok(())
    }
}

async fn outbox_claim_of_a_crashed_worker_expires(env: Env) {
    let a = env.store().await;
    let b = env.open().await;
    append_and_enqueue(&a, 1).await;

    // Replica a claims the message and dies while delivering it.
    let hang = Arc::new(Hang::default());
    let pass = {
        let (a, hang) = (a.clone(), hang.clone());
        tokio::spawn(async move { a.deliver_due(&hang, 10).await })
    };
    hang.started.notified().await;
    pass.abort();
    a.close().await;

    let recorder = Recorder::default();
    assert_eq!(
        b.deliver_due(&recorder, 10).await.unwrap().claimed,
        0,
        "claimed by a"
    );
    env.advance(OutboxPolicy::default().lease - secs(1));
    assert_eq!(b.deliver_due(&recorder, 10).await.unwrap().claimed, 0);
    env.advance(secs(2));
    assert_eq!(b.deliver_due(&recorder, 10).await.unwrap().delivered, 1);
    assert_eq!(recorder.seen().len(), 1);
}

// ------------------------------------------------------------------ jobs

const EVERY: Duration = Duration::from_secs(60);
const LEASE: Duration = Duration::from_secs(300);

/// A runner with job "count" (every minute), which bumps `counter`.
fn counting_runner(store: &Store, counter: &Arc<AtomicU64>) -> JobRunner {
    let mut runner = JobRunner::new(store.clone()).with_lease(LEASE);
    let counter = counter.clone();
    runner
        .register(
            "count",
            EVERY,
            move |_store| -> BoxFuture<Result<(), String>> {
                let counter = counter.clone();
                Box::pin(async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            },
        )
        .unwrap();
    runner
}

async fn job_row(store: &Store, name: &str) -> soxctl_store::JobStatus {
    store
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.name == name)
        .unwrap_or_else(|| panic!("no job row {name}"))
}

async fn jobs_one_leader_runs_each_occurrence_once(env: Env) {
    let s1 = env.store().await;
    let s2 = env.open().await;
    let counter = Arc::new(AtomicU64::new(0));
    let mut r1 = counting_runner(&s1, &counter);
    let mut r2 = counting_runner(&s2, &counter);

    for round in 0..4u32 {
        let t1 = r1.tick().await.unwrap();
        let t2 = r2.tick().await.unwrap();
        assert!(t1.leader, "round {round}: the first runner keeps leading");
        assert!(!t2.leader, "round {round}: only one leader");
        assert_eq!(t1.ran, vec!["count".to_owned()]);
        assert!(t2.ran.is_empty());
        // Ticking again within the same occurrence runs nothing.
        assert!(r1.tick().await.unwrap().ran.is_empty());
        env.advance(EVERY);
    }
    assert_eq!(counter.load(Ordering::SeqCst), 4);
    let row = job_row(&s1, "count").await;
    assert_eq!(row.runs, 4);
    assert_eq!(row.last_error, None);
    let start = ts(START);
    assert_eq!(row.last_run_at, Some(after(start, EVERY * 3)));
    assert_eq!(row.next_run_at, after(start, EVERY * 4));
    assert!(r1.is_leader() && !r2.is_leader());

    r1.stop().await.unwrap();
    r2.stop().await.unwrap();
}

async fn jobs_two_leaders_by_mistake_still_run_an_occurrence_once(env: Env) {
    let s1 = env.store().await;
    let s2 = env.open().await;
    let counter = Arc::new(AtomicU64::new(0));
    let job = |counter: &Arc<AtomicU64>, pause: Duration| {
        let counter = counter.clone();
        move |_store: Store| -> BoxFuture<Result<(), String>> {
            let counter = counter.clone();
            Box::pin(async move {
                tokio::time::sleep(pause).await;
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    };

    // Deterministic: r1 has read the due list (both jobs) and is busy with
    // its first job when r2 runs the shared one; r1 then reaches the shared
    // job with a stale view of its schedule and must not run it again.
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let mut r1 = JobRunner::new(s1.clone());
    let (st, rl) = (started.clone(), release.clone());
    r1.register(
        "a-blocking",
        EVERY,
        move |_store| -> BoxFuture<Result<(), String>> {
            let (st, rl) = (st.clone(), rl.clone());
            Box::pin(async move {
                st.notify_one();
                rl.notified().await;
                Ok(())
            })
        },
    )
    .unwrap()
    .register("b-shared", EVERY, job(&counter, Duration::ZERO))
    .unwrap();
    let mut r2 = JobRunner::new(s2.clone());
    r2.register("b-shared", EVERY, job(&counter, Duration::ZERO))
        .unwrap();
    let first = tokio::spawn(async move {
        let report = r1.tick_ignoring_leadership().await;
        (r1, report)
    });
    started.notified().await;
    let t2 = r2.tick_ignoring_leadership().await.unwrap();
    assert_eq!(t2.ran, vec!["b-shared".to_owned()]);
    release.notify_one();
    let (r1, t1) = first.await.unwrap();
    assert_eq!(
        t1.unwrap().ran,
        vec!["a-blocking".to_owned()],
        "r1 lost b-shared"
    );
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    assert_eq!(job_row(&s1, "b-shared").await.runs, 1);
    drop((r1, r2));

    // Racing for real: two runners tick at once, occurrence after occurrence.
    let counter = Arc::new(AtomicU64::new(0));
    let slow = |store: &Store| {
        let mut runner = JobRunner::new(store.clone());
        runner
            .register("slow", EVERY, job(&counter, Duration::from_millis(50)))
            .unwrap();
        runner
    };
    let (mut r1, mut r2) = (slow(&s1), slow(&s2));
    for occurrence in 1..=3u64 {
        let (t1, t2) = tokio::join!(r1.tick_ignoring_leadership(), r2.tick_ignoring_leadership());
        let ran = t1.unwrap().ran.len() + t2.unwrap().ran.len();
        assert_eq!(ran, 1, "occurrence {occurrence} ran {ran} times");
        assert_eq!(counter.load(Ordering::SeqCst), occurrence);
        env.advance(EVERY);
    }
    assert_eq!(job_row(&s1, "slow").await.runs, 3);
}

async fn jobs_successor_takes_over_when_the_leader_stops_or_dies(env: Env) {
    let s1 = env.store().await;
    let s2 = env.open().await;
    let s3 = env.open().await;
    let counter = Arc::new(AtomicU64::new(0));
    let mut r1 = counting_runner(&s1, &counter);
    let mut r2 = counting_runner(&s2, &counter);
    let mut r3 = counting_runner(&s3, &counter);
    assert!(r1.tick().await.unwrap().leader);
    assert!(!r2.tick().await.unwrap().leader);
    assert_eq!(counter.load(Ordering::SeqCst), 1);

    // A clean stop hands over at once, on both backends.
    r1.stop().await.unwrap();
    env.advance(EVERY);
    let t2 = r2.tick().await.unwrap();
    assert!(t2.leader, "r2 leads right after r1 stopped");
    assert_eq!(t2.ran, vec!["count".to_owned()]);
    assert!(!r3.tick().await.unwrap().leader);

    // A leader that dies without stopping (dropped, like a killed process).
    drop(r2);
    env.advance(EVERY);
    match env.backend {
        Backend::Postgres => {
            // Its session closes and the server frees the lock.
            wait_until!(10, "r3 to lead", r3.tick().await.unwrap().leader);
        }
        Backend::Sqlite => {
            // Its lease stays until it expires (it was renewed one EVERY ago).
            assert!(!r3.tick().await.unwrap().leader);
            env.advance(LEASE - EVERY - secs(1));
            assert!(!r3.tick().await.unwrap().leader);
            env.advance(secs(1));
            assert!(r3.tick().await.unwrap().leader);
        }
    }
    // Every occurrence that passed ran exactly once (missed ones coalesce).
    assert!(r3.tick().await.unwrap().ran.is_empty());
    assert_eq!(counter.load(Ordering::SeqCst), 3);
    assert_eq!(job_row(&s3, "count").await.runs, 3);
    r3.stop().await.unwrap();
}

async fn jobs_spawned_runners_hand_over(env: Env) {
    let s1 = env.store().await;
    let s2 = env.open().await;
    let counter = Arc::new(AtomicU64::new(0));
    let tick = Duration::from_millis(20);
    let h1 = counting_runner(&s1, &counter).spawn(tick);
    let h2 = counting_runner(&s2, &counter).spawn(tick);
    wait_until!(10, "a leader", h1.is_leader() || h2.is_leader());
    wait_until!(10, "the first run", counter.load(Ordering::SeqCst) == 1);
    tokio::time::sleep(tick * 5).await;
    assert!(h1.is_leader() != h2.is_leader(), "exactly one leader");
    assert_eq!(counter.load(Ordering::SeqCst), 1, "one run per occurrence");

    let (leader, follower) = if h1.is_leader() { (h1, h2) } else { (h2, h1) };
    leader.stop().await.unwrap();
    wait_until!(10, "the follower to lead", follower.is_leader());
    env.advance(EVERY);
    wait_until!(10, "the second run", counter.load(Ordering::SeqCst) == 2);
    follower.stop().await.unwrap();
    assert_eq!(job_row(&s1, "count").await.runs, 2);
}

async fn jobs_failing_job_records_error_and_advances(env: Env) {
    let store = env.store().await;
    let calls = Arc::new(AtomicU64::new(0));
    let mut runner = JobRunner::new(store.clone()).with_lease(LEASE);
    let c = calls.clone();
    runner
        .register(
            "flaky",
            EVERY,
            move |_store| -> BoxFuture<Result<(), String>> {
                let c = c.clone();
                Box::pin(async move {
                    match c.fetch_add(1, Ordering::SeqCst) {
                        0 => Err("boom".to_owned()),
                        _ => Ok(()),
                    }
                })
            },
        )
        .unwrap()
        .register("panics", EVERY, |_store| -> BoxFuture<Result<(), String>> {
            Box::pin(async { panic!("job bug") })
        })
        .unwrap();
    assert!(
        runner
            .register("flaky", EVERY, |_store| -> BoxFuture<Result<(), String>> {
                Box::pin(async { Ok(()) })
            })
            .is_err(),
        "duplicate name"
    );

    let start = ts(START);
    let t = runner.tick().await.unwrap();
    assert_eq!(t.ran, vec!["flaky".to_owned(), "panics".to_owned()]);
    assert_eq!(t.failed[0], ("flaky".to_owned(), "boom".to_owned()));
    let flaky = job_row(&store, "flaky").await;
    assert_eq!(flaky.last_error.as_deref(), Some("boom"));
    assert_eq!((flaky.runs, flaky.last_run_at), (1, Some(start)));
    assert_eq!(
        flaky.next_run_at,
        after(start, EVERY),
        "a failure still advances"
    );
    let panics = job_row(&store, "panics").await;
    assert_eq!(panics.last_error.as_deref(), Some("job panicked: job bug"));
    assert_eq!(panics.next_run_at, after(start, EVERY));

    // Not retried within the same occurrence.
    assert!(runner.tick().await.unwrap().ran.is_empty());
    env.advance(EVERY);
    let t = runner.tick().await.unwrap();
    assert_eq!(t.failed.len(), 1, "only the panicking job fails now");
    let flaky = job_row(&store, "flaky").await;
    assert_eq!((flaky.runs, flaky.last_error), (2, None));

    // After downtime the missed occurrences coalesce into one run, and the
    // cadence keeps its phase.
    env.advance(EVERY * 5 + secs(30));
    runner.tick().await.unwrap();
    let flaky = job_row(&store, "flaky").await;
    assert_eq!(flaky.runs, 3);
    assert_eq!(flaky.next_run_at, after(start, EVERY * 7));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    runner.stop().await.unwrap();
}
