//! Periodic jobs (checkpoint signing, access reviews, evidence exports) run
//! by exactly one process, however many replicas serve the store.
//!
//! Why this shape:
//!
//! - **One leader.** Every replica runs a [`JobRunner`], but only the leader
//!   runs jobs, so work is not multiplied by the replica count. On
//!   PostgreSQL leadership is a session-level advisory lock held on a
//!   dedicated connection for the runner's lifetime: it needs no clock and
//!   no renewal, and when the process dies the server ends the session and
//!   frees the lock, so a successor never waits for a timeout. SQLite has no
//!   sessions shared between processes, so there a lease row in `leases`
//!   (holder = a random runner id, `until` in store-clock time) is taken when
//!   absent, expired or already ours, and renewed on every tick; a crashed
//!   leader is replaced once its lease expires.
//! - **No double runs even with two leaders.** Leadership can be wrong for a
//!   moment (a lease that expired during a long job, a lock lost with its
//!   connection). An occurrence therefore runs only after a compare-and-set
//!   that moves `next_run_at` from the value read to the next occurrence has
//!   changed exactly one row: of any number of runners, one wins each
//!   occurrence. The move commits before the job runs, because a job writes
//!   through its own `begin_write` and on SQLite a transaction held open
//!   around it would deadlock with it. The consequence is at-most-once per
//!   occurrence: a crash mid-job skips that occurrence, and the next one
//!   catches up — which periodic jobs tolerate and double effects do not.
//! - **Missed occurrences coalesce.** After downtime the next run is the
//!   first occurrence of the original cadence that is still in the future;
//!   a backlog is not replayed as a burst.
//! - **The runner writes only `jobs` and `leases`**, operational tables that
//!   `verify` does not replay. A job that changes state does so through the
//!   ledger like any other writer.

use crate::Store;
use crate::error::{Result, StoreError};
use crate::outbox::later;
use soxctl_model::time::Timestamp;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type JobFn = Arc<dyn Fn(Store) -> BoxFuture<Result<(), String>> + Send + Sync>;

/// Advisory lock key of the job runner's leadership (7170001 guards migrations).
const LEADER_LOCK: i64 = 7_170_002;

/// The lease row's name in `leases`.
const LEASE_NAME: &str = "job-runner";

/// Take the lease when free, expired or already ours; renew it in the same
/// statement. Zero rows changed means someone else holds it.
const LEASE_TAKE: &str = "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
    WHERE leases.holder = excluded.holder OR leases.until <= $3";

/// A job's row in `jobs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub name: String,
    pub last_run_at: Option<Timestamp>,
    pub next_run_at: Timestamp,
    /// The last run's error; cleared by a successful run.
    pub last_error: Option<String>,
    pub runs: u64,
}

/// What one [`JobRunner::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Whether this runner led (at the end of) the tick.
    pub leader: bool,
    /// Jobs run, in order, failed ones included.
    pub ran: Vec<String>,
    /// (job, error) of the runs that failed.
    pub failed: Vec<(String, String)>,
}

struct Job {
    name: String,
    every: Duration,
    run: JobFn,
}

/// Runs registered jobs on their schedule while it is the leader.
///
/// On PostgreSQL the runner keeps one pooled connection checked out for its
/// whole life; stop or drop it before [`Store::close`], which waits for
/// checked-out connections.
pub struct JobRunner {
    store: Store,
    id: String,
    lease: Duration,
    jobs: Vec<Job>,
    /// Rows for `jobs` exist (made by the first tick that leads).
    ensured: bool,
    leader: bool,
    /// PostgreSQL: the runner's own session, which holds the lock when
    /// leading. It is closed, never returned to the pool, when the runner
    /// goes: a pooled session would keep the lock alive for nobody.
    session: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl JobRunner {
    /// A runner with a random id and a 60 s SQLite lease.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            id: uuid::Uuid::new_v4().to_string(),
            lease: Duration::from_secs(60),
            jobs: Vec::new(),
            ensured: false,
            leader: false,
            session: None,
        }
    }

    /// How long an SQLite leader stays leader without a tick: the delay
    /// before a crashed leader is replaced. Tick well within it.
    /// (PostgreSQL leadership does not expire.)
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// This runner's holder id in `leases`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the last tick found this runner leading.
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// Adds a job run every `every`, first on the first tick of any leader
    /// after the job is new to the store. Names are the jobs' identity
    /// across replicas and restarts.
    pub fn register<F>(&mut self, name: &str, every: Duration, job: F) -> Result<&mut Self>
    where
        F: Fn(Store) -> BoxFuture<Result<(), String>> + Send + Sync + 'static,
    {
        if name.is_empty() {
            return Err(StoreError::Invalid("a job needs a name".into()));
        }
        if every.is_zero() {
            return Err(StoreError::Invalid(format!(
                "job {name}: the interval must be positive"
            )));
        }
        if self.jobs.iter().any(|j| j.name == name) {
            return Err(StoreError::Invalid(format!(
                "job {name} is registered twice"
            )));
        }
        self.jobs.push(Job {
            name: name.to_owned(),
            every,
            run: Arc::new(job),
        });
        self.ensured = false;
        Ok(self)
    }

    /// Takes or confirms leadership, then runs the jobs that are due.
    pub async fn tick(&mut self) -> Result<TickReport> {
        if !self.lead().await? {
            return Ok(TickReport::default());
        }
        self.run_due(true).await
    }

    /// Runs due jobs without asking for leadership: only for tests that
    /// simulate two leaders at once.
    #[doc(hidden)]
    pub async fn tick_ignoring_leadership(&mut self) -> Result<TickReport> {
        self.run_due(false).await
    }

    /// Gives up leadership at once (the successor does not wait for a lease
    /// to expire). Dropping the runner instead behaves like a crash.
    pub async fn stop(mut self) -> Result<()> {
        match &self.store {
            Store::Sqlite(inner) => {
                sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                    .bind(LEASE_NAME)
                    .bind(&self.id)
                    .execute(&inner.pool)
                    .await?;
            }
            Store::Postgres(_) => {
                if let Some(mut session) = self.session.take() {
                    if self.leader {
                        // Explicit, so the successor can lock right away
                        // rather than when the server notices the close.
                        sqlx::query("SELECT pg_advisory_unlock($1)")
                            .bind(LEADER_LOCK)
                            .execute(&mut *session)
                            .await?;
                    }
                    session.close().await?;
                }
            }
        }
        self.leader = false;
        Ok(())
    }

    /// Ticks every `interval` in the background until stopped.
    pub fn spawn(mut self, interval: Duration) -> JobRunnerHandle {
        if matches!(self.store, Store::Sqlite(_)) && interval >= self.lease {
            tracing::warn!(
                ?interval,
                lease = ?self.lease,
                "job runner ticks less often than its lease lasts: leadership will flap"
            );
        }
        let (stop, mut stopped) = watch::channel(false);
        let leader = Arc::new(AtomicBool::new(false));
        let flag = leader.clone();
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "job runner tick failed");
                }
                flag.store(self.leader, Ordering::Relaxed);
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => {}
                }
            }
            self
        });
        JobRunnerHandle {
            stop,
            task: Some(task),
            leader,
        }
    }

    async fn lead(&mut self) -> Result<bool> {
        let was = self.leader;
        let leading = match &self.store {
            Store::Sqlite(inner) => {
                let now = inner.ctx.clock.now();
                let until = later(now, self.lease);
                let done = sqlx::query(LEASE_TAKE)
                    .bind(LEASE_NAME)
                    .bind(&self.id)
                    .bind(now.to_canonical())
                    .bind(until.to_canonical())
                    .execute(&inner.pool)
                    .await?;
                done.rows_affected() == 1
            }
            Store::Postgres(inner) => {
                let session = match &mut self.session {
                    Some(session) => session,
                    None => {
                        let mut session = inner.pool.acquire().await?;
                        session.close_on_drop();
                        self.session.insert(session)
                    }
                };
                // A leader only checks its session is alive: a live session
                // still holds the lock (and taking it again would nest it).
                let query = if was {
                    sqlx::query_as("SELECT true")
                } else {
                    sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(LEADER_LOCK)
                };
                let result: std::result::Result<(bool,), sqlx::Error> =
                    query.fetch_one(&mut **session).await;
                match result {
                    Ok((leading,)) => leading,
                    Err(e) => {
                        // The session (and with it any lock) is gone or
                        // unusable: drop it, and start over next tick.
                        self.session = None;
                        self.leader = false;
                        if was {
                            tracing::warn!(runner = %self.id, "job runner lost leadership with its session");
                        }
                        return Err(e.into());
                    }
                }
            }
        };
        if leading != was {
            tracing::info!(runner = %self.id, leading, "job runner leadership changed");
        }
        self.leader = leading;
        Ok(leading)
    }

    async fn run_due(&mut self, check_leadership: bool) -> Result<TickReport> {
        let clock = self.store.context().clock.clone();
        if !self.ensured {
            let now = clock.now();
            for job in &self.jobs {
                with_conn!(&self.store, |conn, m| m::jobs::ensure(conn, &job.name, now)
                    .await)?;
            }
            self.ensured = true;
        }
        let now = clock.now();
        let due = with_conn!(&self.store, |conn, m| m::jobs::due(conn, now).await)?;
        let mut report = TickReport {
            leader: true,
            ..TickReport::default()
        };
        for (name, old) in due {
            // Rows of jobs this binary does not have (another version's) are
            // left to a runner that has them.
            let Some(job) = self.jobs.iter().find(|j| j.name == name) else {
                continue;
            };
            let (every, run) = (job.every, job.run.clone());
            // Jobs can be long: confirm leadership before each further one.
            if check_leadership && !report.ran.is_empty() && !self.lead().await? {
                report.leader = false;
                break;
            }
            let started = clock.now();
            let previous = Timestamp::parse(&old)
                .map_err(|e| crate::error::row_error("jobs", &name, format!("next_run_at: {e}")))?;
            let next = next_occurrence(previous, every, started);
            if !with_conn!(&self.store, |conn, m| m::jobs::claim(
                conn, &name, &old, next
            )
            .await)?
            {
                continue;
            }
            let outcome = run_job(&run, self.store.clone()).await;
            let error = outcome.as_ref().err().map(String::as_str);
            with_conn!(&self.store, |conn, m| m::jobs::finish(
                conn, &name, started, error
            )
            .await)?;
            if let Err(e) = outcome {
                tracing::warn!(job = %name, error = %e, "job failed");
                report.failed.push((name.clone(), e));
            }
            report.ran.push(name);
        }
        Ok(report)
    }
}

/// A spawned [`JobRunner`].
pub struct JobRunnerHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<JobRunner>>,
    leader: Arc<AtomicBool>,
}

impl JobRunnerHandle {
    /// Whether the last tick found the runner leading.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    /// Lets a running job finish, then gives up leadership ([`JobRunner::stop`]).
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        let runner = task
            .await
            .map_err(|e| StoreError::Invalid(format!("job runner task failed: {e}")))?;
        runner.stop().await
    }
}

impl Drop for JobRunnerHandle {
    /// Like a crash: the PostgreSQL session is closed (freeing the lock), an
    /// SQLite lease is left to expire.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Store {
    /// The schedule and outcome of every job any runner registered.
    pub async fn jobs(&self) -> Result<Vec<JobStatus>> {
        with_conn!(self, |conn, m| m::jobs::all(conn).await)
    }
}

/// The first occurrence of `previous + k·every` after `now`.
fn next_occurrence(previous: Timestamp, every: Duration, now: Timestamp) -> Timestamp {
    let every_us = i64::try_from(every.as_micros()).unwrap_or(i64::MAX).max(1);
    let behind = now.micros().saturating_sub(previous.micros()).max(0);
    let steps = behind / every_us + 1;
    previous
        .micros()
        .checked_add(steps.saturating_mul(every_us))
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map_or_else(|| later(now, every), Timestamp::from_datetime)
}

/// Runs the job on its own task, so a panic becomes its `last_error` instead
/// of ending the runner; aborted with the runner.
async fn run_job(run: &JobFn, store: Store) -> Result<(), String> {
    struct AbortOnDrop(JoinHandle<Result<(), String>>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(run(store)));
    match (&mut task.0).await {
        Ok(outcome) => outcome,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-text panic".to_owned());
                Err(format!("job panicked: {message}"))
            }
            Err(e) => Err(format!("job did not finish: {e}")),
        },
    }
}
