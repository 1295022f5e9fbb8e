//! Scheduled upkeep run by the job runner: one replica (the leader) runs
//! each occurrence, whichever replica that is.

use soxctl_store::{JobRunner, JobRunnerHandle, Store};
use std::time::Duration;

/// Registers the upkeep jobs and starts the runner.
pub fn spawn(store: Store) -> Result<JobRunnerHandle, soxctl_store::StoreError> {
    let mut runner = JobRunner::new(store);
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
    Ok(runner.spawn(Duration::from_secs(5)))
}
