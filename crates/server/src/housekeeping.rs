//! Scheduled upkeep run by the job runner: one replica (the leader) runs
//! each occurrence, whichever replica that is. And the outbox worker, which
//! every replica runs: the outbox claim hands each message to one of them.

use soxctl_app::sod::monitor::SodMonitor;
use soxctl_connectors::notify::Notifier;
use soxctl_detect::hygiene::Policy;
use soxctl_store::{JobRunner, JobRunnerHandle, OutboxWorker, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often the SoD monitor reads the ledger's new entries.
pub const SOD_EVERY: Duration = Duration::from_secs(1);

/// How often the job runner looks for due jobs.
pub const TICK: Duration = Duration::from_secs(1);

/// How often expiries of requests, approvals and time-bound grants are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// How often the hygiene detectors look for changes to re-evaluate.
pub const HYGIENE_EVERY: Duration = Duration::from_secs(60);

/// How often the outbox worker looks for messages it was not woken for:
/// those committed by other replicas or processes, and retries whose
/// backoff has passed. A commit through this process wakes it at once.
pub const OUTBOX_POLL: Duration = Duration::from_secs(2);

/// The longest the detectors go without a run, for conditions that change
/// with time alone (dormant accounts, credential age).
const HYGIENE_AT_LEAST_EVERY_MICROS: u64 = 24 * 3600 * 1_000_000;

/// Registers the upkeep jobs and starts the runner.
pub fn spawn(
    store: Store,
    hygiene: Policy,
    sod: Arc<SodMonitor>,
) -> Result<JobRunnerHandle, StoreError> {
    let mut runner = JobRunner::new(store);
    runner.register("sod-monitor", SOD_EVERY, move |store| {
        let sod = sod.clone();
        Box::pin(async move {
            let done = sod.catch_up(&store).await.map_err(|e| e.to_string())?;
            if done.opened + done.resolved > 0 {
                tracing::info!(
                    opened = done.opened,
                    resolved = done.resolved,
                    entries = done.entries,
                    "SoD findings updated"
                );
            }
            Ok(())
        })
    })?;
    // (ledger size, time in µs) of this replica's last evaluation.
    let last = Arc::new((AtomicU64::new(u64::MAX), AtomicU64::new(0)));
    runner.register("hygiene", HYGIENE_EVERY, move |store| {
        let last = last.clone();
        Box::pin(async move {
            evaluate_hygiene(&store, &hygiene, &last)
                .await
                .map_err(|e| e.to_string())
        })
    })?;
    // Expiries are due to the second: an approval or a grant must not
    // outlive its window by more than one tick, and overdue ones (after a
    // restart) go on the first.
    runner.register("requests-sweep", SWEEP_EVERY, |store| {
        Box::pin(async move { sweep_requests(&store).await.map(|_| ()) })
    })?;
    runner.register(
        "prune-idempotency-keys",
        Duration::from_secs(3600),
        |store| {
            Box::pin(async move {
                let pruned = store
                    .prune_idempotency_keys()
                    .await
                    .map_err(|e| e.to_string())?;
                if pruned > 0 {
                    tracing::info!(pruned, "pruned expired idempotency keys");
                }
                Ok(())
            })
        },
    )?;
    Ok(runner.spawn(TICK))
}

/// Starts delivering the outbox to `notifier`'s channels on this replica.
pub fn spawn_outbox(store: Store, notifier: Notifier) -> OutboxWorker {
    let channels = notifier.channels();
    if channels.is_empty() {
        tracing::info!("notifications: no channel configured; messages are settled unsent");
    }
    for channel in channels.describe() {
        tracing::info!(%channel, "notifications");
    }
    OutboxWorker::spawn(store, notifier, OUTBOX_POLL)
}

/// Re-evaluates the hygiene detectors when the ledger grew (SCIM pushes,
/// API writes, another replica's import) or a day has passed, and records
/// the finding events in one transaction.
pub async fn evaluate_hygiene(
    store: &Store,
    policy: &Policy,
    last: &(AtomicU64, AtomicU64),
) -> Result<(), StoreError> {
    let now = store.context().clock.now();
    let now_micros = u64::try_from(now.micros()).unwrap_or(0);
    let size = store.head().await?.size;
    let stale =
        now_micros.saturating_sub(last.1.load(Ordering::Relaxed)) >= HYGIENE_AT_LEAST_EVERY_MICROS;
    if size == last.0.load(Ordering::Relaxed) && !stale {
        return Ok(());
    }
    let mut tx = store.begin_write().await?;
    let changes = soxctl_app::findings::evaluate(&mut tx, now, policy).await?;
    let size = if changes.opened + changes.resolved > 0 {
        let receipt = tx.commit().await?;
        tracing::info!(
            opened = changes.opened,
            resolved = changes.resolved,
            "hygiene findings updated"
        );
        receipt.size
    } else {
        tx.size()
    };
    last.0.store(size, Ordering::Relaxed);
    last.1.store(now_micros, Ordering::Relaxed);
    Ok(())
}

/// Records what has expired: undecided requests, unused approvals and
/// time-bound grants past their end (each revocation goes to the outbox for
/// the target system).
pub async fn sweep_requests(store: &Store) -> Result<soxctl_app::Sweep, String> {
    let mut tx = store.begin_write().await.map_err(|e| e.to_string())?;
    let swept = soxctl_app::sweep(&mut tx)
        .await
        .map_err(|e| e.to_string())?;
    if swept != soxctl_app::Sweep::default() {
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(
            requests_expired = swept.requests_expired,
            grants_expired = swept.grants_expired,
            "expiries recorded"
        );
    }
    Ok(swept)
}
