//! The transactional outbox: a message goes out once if and only if its
//! append committed, despite failures, replicas, restarts and crashed workers.

use super::*;
use serde_json::json;
use soxctl_store::failpoint::COMMIT_BEFORE_COMMIT;
use soxctl_store::{Deliver, OutboxMessage, OutboxPolicy, OutboxStatus, OutboxWorker, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

on_both_backends!(
    outbox_commit_delivers_once,
    outbox_rollback_is_never_delivered,
    outbox_enqueue_requires_an_append,
    outbox_failures_back_off_then_succeed,
    outbox_dead_letters_park_until_requeued,
    outbox_two_replicas_deliver_each_message_once,
    outbox_survives_reopen_and_a_new_worker_delivers,
    outbox_claim_of_a_crashed_worker_expires,
);

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
