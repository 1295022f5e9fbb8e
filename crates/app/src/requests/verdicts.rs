//! Gate verdicts remembered between checks. A pipeline asks the same
//! question (commit, environment, deployer) many times while it waits, and
//! a verdict is a function of the store and the clock alone: every state
//! change comes with a ledger entry, so a verdict computed at ledger size S
//! is the answer while the size is still S, and an allowed one only until
//! its approval runs out. One read of the size replaces the request, its
//! decisions and the authors' identities.

use crate::error::Result;
use crate::gate::{Verdict, Who, check_as, normalise_commit};
use soxctl_store::Store;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept; past it the cache starts again empty (pipelines ask about
/// a few commits at a time).
const CAPACITY: usize = 4_096;

type Key = (String, String, String);

#[derive(Debug, Default)]
pub struct VerdictCache {
    entries: Mutex<HashMap<Key, (u64, Verdict)>>,
}

impl VerdictCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// [`check`], answered from memory when nothing has changed since.
    pub async fn check(
        &self,
        store: &Store,
        commit: &str,
        env: &str,
        deployer: &str,
    ) -> Result<Verdict> {
        self.check_as(store, None, commit, env, &Who::Named(deployer.to_owned()))
            .await
    }

    /// [`VerdictCache::check`] for a deployer named or signed by a CI run.
    pub async fn check_as(
        &self,
        store: &Store,
        repo: Option<&str>,
        commit: &str,
        env: &str,
        who: &Who,
    ) -> Result<Verdict> {
        // Read before computing: a write in between makes the entry stale
        // at once rather than wrongly fresh.
        let size = store.ledger_size().await?;
        let key = (
            normalise_commit(commit)?,
            env.to_owned(),
            format!("{}\n{}", repo.unwrap_or(""), who.key()),
        );
        let now = store.context().clock.now();
        if let Some((at, verdict)) = self.lock().get(&key)
            && *at == size
            && verdict.valid_until.is_none_or(|until| now < until)
            && (!verdict.allowed || verdict.valid_until.is_some())
        {
            return Ok(verdict.clone());
        }
        let verdict = check_as(store, repo, commit, env, who).await?;
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (size, verdict.clone()));
        Ok(verdict)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, Verdict)>> {
        // A panic while holding the lock leaves a map of whole entries.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
