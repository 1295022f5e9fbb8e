//! What the benchmarks share: a throw-away store and key, seeded data, a
//! scratch directory.

use soxctl_model::clock::SystemClock;
use soxctl_store::{Location, OpenOptions, Store};
use std::sync::Arc;

pub async fn open(location: Location) -> anyhow::Result<(Store, soxctl_ledger::note::SigningKey)> {
    let store = Store::open(OpenOptions {
        location,
        create: true,
        clock: Arc::new(SystemClock),
        failpoints: Default::default(),
    })
    .await?;
    let meta = store.initialise(None, false).await?;
    // A throw-away key held in memory: the bench leaves no key file behind.
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let key = soxctl_ledger::note::SigningKey::generate(&meta.origin, seed)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((store, key))
}

/// Deterministic xorshift64*: seeded data for the benches, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

pub fn tempdir_path(prefix: &str) -> anyhow::Result<std::path::PathBuf> {
    let mut suffix = [0u8; 8];
    getrandom::getrandom(&mut suffix).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", hex::encode(suffix)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
