//! Transactional outbox: messages to the outside world (webhooks, tickets,
//! mail) that exist if and only if the ledger entry that caused them exists.
//!
//! Why this shape:
//!
//! - A message is written by [`WriteTx::enqueue`] in the write transaction,
//!   after an append. Rolled back with the entry, committed with it: no
//!   message about a change that did not happen, and no change whose message
//!   is lost in a crash between "commit" and "send". Each row records the
//!   `seq` of its cause, so a receiver can fetch the entry and its proof.
//! - Delivery happens after commit, never inside a transaction: a slow or
//!   hanging receiver must not hold the ledger's writer lock. A worker first
//!   *claims* due rows (one short statement setting `claimed_until`; on
//!   PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas claim disjoint
//!   rows without waiting on each other), then calls the deliverer, then
//!   settles each row with one more statement.
//! - Delivery is at least once. A claim is a lease in store-clock time: a
//!   worker that dies mid-delivery leaves rows that become claimable again
//!   when their claim expires. Deliveries are bounded by
//!   [`OutboxPolicy::delivery_timeout`] and a pass stops starting deliveries
//!   that could outlive its claim, so two workers only overlap on a row after
//!   a crash. Receivers deduplicate by [`OutboxMessage::id`].
//! - Failures back off exponentially ([`OutboxPolicy::backoff`]) so a broken
//!   receiver is not hammered, and after [`OutboxPolicy::max_attempts`] the
//!   row becomes a dead letter: kept (it is evidence that a notification was
//!   owed), no longer retried, counted in [`OutboxStatus::dead`], and made due
//!   again by [`Store::outbox_requeue_dead`] once the receiver is fixed.
//!   A dead letter is marked by parking `next_attempt_at` at [`PARKED`], a
//!   time that is never due, so the claim query needs no extra condition and
//!   the mark does not depend on the current policy.
//! - Outbox rows are operational bookkeeping, not audit state: `verify` does
//!   not replay them, and delivery never appends to the ledger.

use crate::error::{Result, StoreError};
use crate::{Store, WriteTx};
use soxctl_model::time::Timestamp;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `next_attempt_at` of a dead letter: sorts after every real time, so it is
/// never due.
pub const PARKED: &str = "9999-12-31T23:59:59.999999Z";

/// The longest topic accepted.
pub const MAX_TOPIC_LEN: usize = 200;

/// Stored `last_error` is cut to this many bytes: a receiver's error page
/// must not bloat the table.
const MAX_ERROR_LEN: usize = 2000;

/// A message as handed to a [`Deliver`]er.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Unique and stable across retries: the receiver's deduplication key.
    pub id: u64,
    /// The ledger entry that caused the message.
    pub seq: u64,
    pub topic: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    /// 1 on the first try.
    pub attempt: u64,
}

/// A row as stored, for operators and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    pub id: u64,
    pub seq: u64,
    pub topic: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    /// Attempts made so far (the successful one included).
    pub attempts: u64,
    /// None for a dead letter.
    pub next_attempt_at: Option<Timestamp>,
    pub claimed_until: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub dead: bool,
}

/// Counts for metrics and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    /// Undelivered and still being retried (or not yet tried).
    pub pending: u64,
    /// Undelivered after `max_attempts`; waiting for an operator.
    pub dead: u64,
    pub delivered: u64,
    /// Creation time of the oldest pending message: the delivery lag.
    pub oldest_pending: Option<Timestamp>,
}

/// What one [`Store::deliver_due`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Rows this pass claimed.
    pub claimed: usize,
    pub delivered: usize,
    /// Attempts that failed (dead letters included).
    pub failed: usize,
    /// Claimed rows given back untried because the claim could have expired
    /// during their delivery; the next pass takes them.
    pub released: usize,
    /// Ids that failed their last allowed attempt in this pass.
    pub dead_letters: Vec<u64>,
}

/// How deliveries are timed and retried.
#[derive(Debug, Clone)]
pub struct OutboxPolicy {
    /// How long a claim keeps other workers off a row (store-clock time).
    pub lease: Duration,
    /// Longest a single delivery may take before it counts as failed.
    pub delivery_timeout: Duration,
    /// Delay after the first failure; doubles with each further failure.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Failed attempts after which a message becomes a dead letter.
    pub max_attempts: u64,
}

impl Default for OutboxPolicy {
    /// 1 s doubling to 1 h: about 15 h of retries over 25 attempts.
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            delivery_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(3600),
            max_attempts: 25,
        }
    }
}

impl OutboxPolicy {
    /// The wait after a message's `failures`-th failure (1-based).
    pub fn backoff(&self, failures: u64) -> Duration {
        let doublings = u32::try_from(failures.saturating_sub(1)).unwrap_or(u32::MAX);
        let factor = 2u32.checked_pow(doublings).unwrap_or(u32::MAX);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_cap)
    }

    fn check(&self) -> Result<()> {
        if self.delivery_timeout >= self.lease {
            return Err(StoreError::Invalid(format!(
                "outbox delivery timeout ({:?}) must be shorter than the claim lease ({:?})",
                self.delivery_timeout, self.lease
            )));
        }
        if self.max_attempts == 0 {
            return Err(StoreError::Invalid(
                "outbox max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Sends one message. `Err` is recorded as the row's `last_error` and retried.
///
/// Implementations must tolerate a repeat of a message they already
/// accepted (at-least-once; deduplicate by [`OutboxMessage::id`]).
pub trait Deliver: Send + Sync {
    fn deliver(&self, msg: &OutboxMessage) -> impl Future<Output = Result<(), String>> + Send;
}

impl<T: Deliver> Deliver for Arc<T> {
    fn deliver(&self, msg: &OutboxMessage) -> impl Future<Output = Result<(), String>> + Send {
        (**self).deliver(msg)
    }
}

/// A claimed row, before its payload is parsed.
pub(crate) struct Claimed {
    pub id: u64,
    pub seq: u64,
    pub topic: String,
    pub payload: String,
    pub created_at: Timestamp,
    pub attempts: u64,
}

impl Claimed {
    fn message(&self) -> Result<OutboxMessage, String> {
        let payload = serde_json::from_str(&self.payload)
            .map_err(|e| format!("stored payload is not JSON: {e}"))?;
        Ok(OutboxMessage {
            id: self.id,
            seq: self.seq,
            topic: self.topic.clone(),
            payload,
            created_at: self.created_at,
            attempt: self.attempts + 1,
        })
    }
}

/// `t + by`, saturating at the end of representable time.
pub(crate) fn later(t: Timestamp, by: Duration) -> Timestamp {
    let by = chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::MAX);
    Timestamp::from_datetime(
        t.as_datetime()
            .checked_add_signed(by)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
    )
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl WriteTx {
    /// Queues a message caused by the last entry appended in this
    /// transaction; it is delivered only if the transaction commits.
    ///
    /// Fails when nothing was appended yet: every message must point at the
    /// entry that justifies it, so side effects stay traceable to the ledger.
    pub async fn enqueue(&mut self, topic: &str, payload: &serde_json::Value) -> Result<()> {
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
            return Err(StoreError::Invalid(format!(
                "an outbox topic has 1 to {MAX_TOPIC_LEN} bytes, this one {}",
                topic.len()
            )));
        }
        let payload = serde_json::to_string(payload)
            .map_err(|e| StoreError::Invalid(format!("outbox payload: {e}")))?;
        each!(self, WriteTx, |tx, m| {
            let Some(seq) = tx.last_appended()? else {
                return Err(StoreError::Invalid(
                    "an outbox message must follow the ledger entry that causes it: append before enqueue"
                        .into(),
                ));
            };
            let now = tx.now();
            m::outbox::insert(tx.conn().await?, seq, topic, &payload, now).await
        })
    }
}

impl Store {
    /// One delivery pass with the default [`OutboxPolicy`].
    pub async fn deliver_due<D: Deliver>(
        &self,
        deliverer: &D,
        limit: u32,
    ) -> Result<DeliveryReport> {
        self.deliver_due_with(deliverer, limit, &OutboxPolicy::default())
            .await
    }

    /// Claims up to `limit` due messages, delivers them in id order outside
    /// any transaction, and settles each. Safe to run from any number of
    /// processes at once.
    pub async fn deliver_due_with<D: Deliver>(
        &self,
        deliverer: &D,
        limit: u32,
        policy: &OutboxPolicy,
    ) -> Result<DeliveryReport> {
        policy.check()?;
        let clock = self.context().clock.clone();
        let now = clock.now();
        let claim = later(now, policy.lease).to_canonical();
        let claimed = with_conn!(self, |conn, m| m::outbox::claim(conn, now, &claim, limit)
            .await)?;
        // The claim runs in store-clock time, deliveries in real time: the
        // pass measures its own elapsed time so it never starts a delivery
        // that could still be running when the claim lapses.
        let started = Instant::now();
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            ..DeliveryReport::default()
        };
        let mut rows = claimed.into_iter();
        while let Some(row) = rows.next() {
            if started.elapsed() + policy.delivery_timeout >= policy.lease {
                for row in std::iter::once(row).chain(rows.by_ref()) {
                    with_conn!(self, |conn, m| m::outbox::release(conn, row.id, &claim)
                        .await)?;
                    report.released += 1;
                }
                break;
            }
            let outcome = match row.message() {
                Ok(msg) => {
                    match tokio::time::timeout(policy.delivery_timeout, deliverer.deliver(&msg))
                        .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(format!(
                            "delivery timed out after {:?}",
                            policy.delivery_timeout
                        )),
                    }
                }
                Err(e) => Err(e),
            };
            let now = clock.now();
            match outcome {
                Ok(()) => {
                    with_conn!(self, |conn, m| m::outbox::mark_delivered(conn, row.id, now)
                        .await)?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let failures = row.attempts + 1;
                    let dead = failures >= policy.max_attempts;
                    let next = if dead {
                        PARKED.to_owned()
                    } else {
                        later(now, policy.backoff(failures)).to_canonical()
                    };
                    let error = truncate(error, MAX_ERROR_LEN);
                    let recorded = with_conn!(self, |conn, m| m::outbox::record_failure(
                        conn, row.id, &claim, &error, &next
                    )
                    .await)?;
                    report.failed += 1;
                    if dead && recorded {
                        tracing::warn!(id = row.id, seq = row.seq, topic = %row.topic, %error,
                            "outbox message is a dead letter after {failures} attempts");
                        report.dead_letters.push(row.id);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Messages still to deliver (dead letters excluded).
    pub async fn outbox_pending(&self) -> Result<u64> {
        Ok(self.outbox_status().await?.pending)
    }

    pub async fn outbox_status(&self) -> Result<OutboxStatus> {
        with_conn!(self, |conn, m| m::outbox::status(conn).await)
    }

    /// Stored rows with `id > after`, oldest first (page with the last id).
    pub async fn outbox_records(&self, after: u64, limit: u32) -> Result<Vec<OutboxRecord>> {
        with_conn!(self, |conn, m| m::outbox::records(conn, after, limit).await)
    }

    /// The channels message `id` already reached (see [`Store::outbox_channel_sent`]).
    pub async fn outbox_channels_sent(&self, id: u64) -> Result<BTreeSet<String>> {
        let channels = with_conn!(self, |conn, m| m::outbox::channels_sent(conn, id).await)?;
        Ok(channels.into_iter().collect())
    }

    /// Records that message `id` reached `channel`.
    ///
    /// A message is one row however many receivers it fans out to, and the
    /// row is settled as a whole: a deliverer that sends to several channels
    /// records each success here, so the retry that follows a partial failure
    /// skips the channels already reached. A crash between a send and this
    /// record repeats that one send (delivery stays at least once).
    pub async fn outbox_channel_sent(&self, id: u64, channel: &str) -> Result<()> {
        if channel.is_empty() || channel.len() > MAX_TOPIC_LEN {
            return Err(StoreError::Invalid(format!(
                "an outbox channel name has 1 to {MAX_TOPIC_LEN} bytes, this one {}",
                channel.len()
            )));
        }
        let now = self.context().clock.now();
        with_conn!(self, |conn, m| m::outbox::channel_sent(
            conn, id, channel, now
        )
        .await)
    }

    /// Makes every dead letter due now; returns how many. Their attempt
    /// counts are kept, so one more failure parks them again.
    pub async fn outbox_requeue_dead(&self) -> Result<u64> {
        let now = self.context().clock.now();
        with_conn!(self, |conn, m| m::outbox::requeue_dead(conn, now).await)
    }
}

/// Rows claimed per pass: small enough that a pass ends well within a claim.
const BATCH: u32 = 64;

/// Delivers in the background until stopped.
///
/// It wakes on every commit made through this process's store (so a message
/// usually leaves right after its transaction) and otherwise every
/// `poll_interval` — which is what finds messages committed by other
/// replicas, retries whose backoff has passed, and expired claims.
pub struct OutboxWorker {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl OutboxWorker {
    pub fn spawn<D: Deliver + 'static>(
        store: Store,
        deliverer: D,
        poll_interval: Duration,
    ) -> Self {
        Self::spawn_with(store, deliverer, poll_interval, OutboxPolicy::default())
    }

    pub fn spawn_with<D: Deliver + 'static>(
        store: Store,
        deliverer: D,
        poll_interval: Duration,
        policy: OutboxPolicy,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                let ctx = store.context().clone();
                // Registered before the pass, so a commit during the pass
                // still wakes the wait below (`notify_waiters` keeps no permit).
                let woken = ctx.wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let more = match store.deliver_due_with(&deliverer, BATCH, &policy).await {
                    Ok(report) => report.claimed == BATCH as usize,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox delivery pass failed");
                        false
                    }
                };
                if more {
                    continue;
                }
                tokio::select! {
                    () = &mut woken => {}
                    () = tokio::time::sleep(poll_interval) => {}
                    _ = stopped.changed() => {}
                }
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Lets the current pass finish (its deliveries settle) and ends the worker.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "outbox worker ended abnormally");
        }
    }
}

impl Drop for OutboxWorker {
    /// Like a crash: an interrupted delivery's claim simply expires.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
