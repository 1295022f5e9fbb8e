//! The checkpoint signing key lives in a file outside the database (threat
//! model: an attacker who can write the database must not be able to sign).

use crate::error::{Result, StoreError};
use soxctl_ledger::note::SigningKey;
use std::io::Write;
use std::path::Path;

pub const DEFAULT_FILE_NAME: &str = "signing.key";

pub fn load(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    SigningKey::parse(text.trim())
        .map_err(|e| StoreError::SigningKey(format!("{}: {e}", path.display())))
}

/// Loads the key, creating it (mode 0600, never overwriting) when missing.
pub fn load_or_create(path: &Path, name: &str) -> Result<SigningKey> {
    if path.exists() {
        return load(path);
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| StoreError::Random(e.to_string()))?;
    let key =
        SigningKey::generate(name, seed).map_err(|e| StoreError::SigningKey(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", key.to_string()).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}
