//! Signs checkpoints in the background, so that every entry is covered by a
//! signed tree head soon after it is written.
//!
//! It signs as soon as `max_entries` were appended through this process since
//! its last checkpoint, at most `max_interval` after an append otherwise, and
//! once more on stop. Independently it sweeps every `max_interval`: other
//! processes (replicas, `soxctl import`) append to the same store without
//! waking this one. Signing is a no-op when the latest checkpoint already
//! covers the head. Failures are logged and retried on the next round.

use soxctl_ledger::note::SigningKey;
use soxctl_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Longest time an entry waits for a checkpoint (and the sweep period).
    pub max_interval: Duration,
    /// Entries appended here that trigger a checkpoint right away.
    pub max_entries: u64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            max_interval: Duration::from_secs(10),
            max_entries: 1_000,
        }
    }
}

/// The running task; [`Checkpointer::stop`] ends it after a final checkpoint.
pub struct Checkpointer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Checkpointer {
    pub fn spawn(store: Store, key: Arc<SigningKey>, policy: CheckpointPolicy) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(store, key, policy, stopped));
        Self { stop, task }
    }

    /// Stops the task and waits for its final checkpoint.
    pub async fn stop(self) -> Result<(), tokio::task::JoinError> {
        // An error means the task is gone already; joining reports why.
        let _ = self.stop.send(true);
        self.task.await
    }
}

async fn sign(store: &Store, key: &SigningKey) {
    match store.sign_checkpoint(key).await {
        Ok(Some(checkpoint)) => tracing::debug!(size = checkpoint.size, "checkpoint current"),
        Ok(None) => {}
        Err(error) => {
            tracing::error!(error = %error, "cannot sign a checkpoint; retrying on the next round")
        }
    }
}

async fn run(
    store: Store,
    key: Arc<SigningKey>,
    policy: CheckpointPolicy,
    mut stopped: watch::Receiver<bool>,
) {
    // A zero interval would spin on the database.
    let max_interval = policy.max_interval.max(Duration::from_millis(10));
    let mut signed_through = store.appended_here();
    sign(&store, &key).await;
    let mut last_signed = Instant::now();
    loop {
        let appended = store.appended_here();
        let pending = appended.saturating_sub(signed_through);
        let due = last_signed + max_interval;
        if pending >= policy.max_entries || (pending > 0 && Instant::now() >= due) {
            sign(&store, &key).await;
            signed_through = appended;
            last_signed = Instant::now();
            continue;
        }
        // With nothing pending, `due` is the next sweep; the notification may
        // be missed between the check above and here, which the sweep bounds.
        tokio::select! {
            // The guard `wait_for` returns is not Send; drop it at once.
            () = async { let _ = stopped.wait_for(|stop| *stop).await; } => break,
            () = store.appended_notification() => {}
            () = tokio::time::sleep_until(due) => {
                if pending == 0 {
                    sign(&store, &key).await;
                    last_signed = Instant::now();
                }
            }
        }
    }
    sign(&store, &key).await;
}
