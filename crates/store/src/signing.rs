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
///
/// Only for a store that has just been created: a store whose ledger already
/// holds entries has a key somewhere, and a new one would sign checkpoints
/// its verifiers reject. Callers that can tell should use [`load`] and
/// [`create`] themselves.
pub fn load_or_create(path: &Path, name: &str) -> Result<SigningKey> {
    if path.exists() {
        return load(path);
    }
    match create(path, name) {
        // Another process created it meanwhile: use theirs.
        Err(StoreError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            load(path)
        }
        other => other,
    }
}

/// Creates a new key named `name` in `path`, mode 0600. An existing file is
/// never overwritten: that is an `Io` error of kind `AlreadyExists`.
pub fn create(path: &Path, name: &str) -> Result<SigningKey> {
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
    let written = file
        .write_all(format!("{}\n", key.to_string()).as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        // A torn key file would later fail to load; leave none behind.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(io(source));
    }
    Ok(key)
}
