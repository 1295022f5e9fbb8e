//! The job runner: each occurrence runs once across replicas, even with two
//! leaders; a successor takes over, and a failed run is recorded, not retried.

use super::*;
use soxctl_store::JobRunner;
use soxctl_store::jobs::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};

on_both_backends!(
    jobs_one_leader_runs_each_occurrence_once,
    jobs_two_leaders_by_mistake_still_run_an_occurrence_once,
    jobs_successor_takes_over_when_the_leader_stops_or_dies,
    jobs_spawned_runners_hand_over,
    jobs_failing_job_records_error_and_advances,
);

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
