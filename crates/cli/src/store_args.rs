//! Naming a store: `--data DIR` (SQLite) or `--database URL` (PostgreSQL),
//! with the signing key file outside the database.
//!
//! Precedence, for the store and for its key: the command line or a SOXCTL_*
//! variable (clap), then the configuration file, then the default
//! `./soxctl-data` (whose key is `./soxctl-data/signing.key`).
//!
//! Only commands that append entries or sign checkpoints need the private
//! signing key ([`StoreArgs::open_signing`]); reading commands never load it.

use crate::config::Config;
use anyhow::{Context, bail};
use clap::Args;
use soxctl_ledger::note::SigningKey;
use soxctl_model::clock::SystemClock;
use soxctl_model::projection::StoreRow;
use soxctl_store::{DB_FILE, Location, OpenOptions, Store, signing};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a store lives when nothing names one.
pub const DEFAULT_DATA: &str = "./soxctl-data";

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// SQLite store directory [default: ./soxctl-data].
    // Not `conflicts_with = "database"`: that would also refuse SOXCTL_DATA
    // with --database, where the command line should win (see `given`).
    #[arg(long, env = "SOXCTL_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// PostgreSQL store URL (postgres://user@host/db); commands that write need --signing-key.
    #[arg(
        long,
        env = "SOXCTL_DATABASE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Checkpoint signing key, the private one [default: DIR/signing.key for SQLite]; only commands that write entries or sign checkpoints read it.
    #[arg(
        long,
        env = "SOXCTL_SIGNING_KEY",
        value_name = "FILE",
        hide_env_values = true
    )]
    pub signing_key: Option<PathBuf>,
}

pub struct Opened {
    pub store: Store,
    pub location: Location,
    pub key_path: Option<PathBuf>,
    /// The key, when it was loaded before the store was opened.
    key: Option<SigningKey>,
}

fn needs_key() -> String {
    "a PostgreSQL store needs --signing-key FILE to write entries or sign checkpoints \
     (the private key, shared by all replicas, kept outside the database)"
        .to_owned()
}

fn key_missing(path: &Path) -> String {
    format!(
        "the store's signing key {} is missing; restore it from your secrets store, or pass --signing-key FILE",
        path.display()
    )
}

fn config_location(config: &Config) -> Option<Location> {
    match (&config.database, &config.data) {
        (Some(url), _) => Some(Location::Postgres(url.clone())),
        (None, Some(dir)) => Some(Location::Sqlite(dir.clone())),
        (None, None) => None,
    }
}

/// Loads the key in `path` if there is a file.
fn load_if_present(path: &Path) -> anyhow::Result<Option<SigningKey>> {
    if !path.exists() {
        return Ok(None);
    }
    let key = signing::load(path).with_context(|| {
        format!(
            "cannot load the checkpoint signing key {}; pass --signing-key FILE",
            path.display()
        )
    })?;
    Ok(Some(key))
}

/// A key only signs checkpoints of the ledger whose origin is its name.
fn check_key(path: &Path, key: &SigningKey, meta: &StoreRow) -> anyhow::Result<()> {
    if key.name() != meta.origin {
        bail!(
            "the signing key {} is for origin {:?}, but this store's origin is {:?}: \
             pass the store's own key with --signing-key FILE",
            path.display(),
            key.name(),
            meta.origin
        );
    }
    Ok(())
}

/// An existing key file is used for a new store only when `ledger.origin`
/// names it: one key never signs two ledgers.
fn check_key_for_new_store(path: &Path, key: &SigningKey, config: &Config) -> anyhow::Result<()> {
    if config.ledger.origin.as_deref() != Some(key.name()) {
        bail!(
            "{} holds the signing key of origin {:?}, but this store is new and a key signs one ledger only: \
             move that file away (a new key is then created), pass another --signing-key FILE, \
             or set ledger.origin (SOXCTL_ORIGIN) to {:?} if the key was made for this store",
            path.display(),
            key.name(),
            key.name()
        );
    }
    Ok(())
}

/// A key about to be created needs its directory.
fn check_key_directory(path: &Path) -> anyhow::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent
        && !parent.is_dir()
    {
        bail!(
            "cannot create the signing key {}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}

impl StoreArgs {
    /// The store named on the command line or by a SOXCTL_* variable; an
    /// option beats the other store's variable.
    fn given(&self) -> anyhow::Result<Option<Location>> {
        match (&self.data, &self.database) {
            (None, None) => Ok(None),
            (Some(dir), None) => Ok(Some(Location::Sqlite(dir.clone()))),
            (None, Some(url)) => Ok(Some(Location::Postgres(url.clone()))),
            (Some(dir), Some(url)) => {
                let from_env = |var: &str, value: &std::ffi::OsStr| {
                    std::env::var_os(var).is_some_and(|v| v == value)
                };
                match (
                    from_env("SOXCTL_DATA", dir.as_os_str()),
                    from_env("SOXCTL_DATABASE", url.as_ref()),
                ) {
                    (true, false) => Ok(Some(Location::Postgres(url.clone()))),
                    (false, true) => Ok(Some(Location::Sqlite(dir.clone()))),
                    _ => bail!(
                        "--data (SOXCTL_DATA) and --database (SOXCTL_DATABASE) name two stores: give one"
                    ),
                }
            }
        }
    }

    /// Refuses two stores named at once (a usage error).
    pub fn check(&self) -> anyhow::Result<()> {
        self.given().map(drop)
    }

    /// The store to use; two named at once are refused by [`StoreArgs::check`]
    /// (which `open` and `open_signing` call).
    pub fn location(&self, config: &Config) -> Location {
        self.given()
            .ok()
            .flatten()
            .or_else(|| config_location(config))
            .unwrap_or_else(|| Location::Sqlite(DEFAULT_DATA.into()))
    }

    fn key_path(&self, config: &Config, location: &Location) -> Option<PathBuf> {
        // The file's key goes with the file's store: not with another one
        // named on the command line.
        let config_key = config
            .signing_key
            .clone()
            .filter(|_| config_location(config).is_none_or(|named| named == *location));
        self.signing_key
            .clone()
            .or(config_key)
            .or_else(|| match location {
                Location::Sqlite(dir) => Some(dir.join(signing::DEFAULT_FILE_NAME)),
                Location::Postgres(_) => None,
            })
    }

    /// Whether the store named is an SQLite store that does not exist yet.
    pub fn is_new_sqlite(&self, config: &Config) -> bool {
        matches!(self.location(config), Location::Sqlite(dir) if !dir.join(DB_FILE).exists())
    }

    /// Opens the store for commands that only read (they need no key);
    /// `create` for the commands allowed to create one.
    pub async fn open(&self, config: &Config, create: bool) -> anyhow::Result<Opened> {
        self.check()?;
        let location = self.location(config);
        let key_path = self.key_path(config, &location);
        self.open_at(location, key_path, None, create).await
    }

    /// Opens the store for commands that append entries or sign checkpoints.
    /// Before the store is touched, the private key must be named and, if
    /// its file exists, load; whether it belongs to the store is checked by
    /// [`Opened::initialise`] or [`Opened::store_signing_key`].
    pub async fn open_signing(&self, config: &Config, create: bool) -> anyhow::Result<Opened> {
        self.check()?;
        let location = self.location(config);
        let key_path = self.key_path(config, &location).with_context(needs_key)?;
        let key = load_if_present(&key_path)?;
        // A new SQLite store: what `Opened::initialise` would refuse, refuse
        // before the database file is even created.
        if let Location::Sqlite(dir) = &location
            && create
            && !dir.join(DB_FILE).exists()
        {
            match &key {
                Some(key) => check_key_for_new_store(&key_path, key, config)?,
                None if key_path.parent() != Some(dir.as_path()) => {
                    check_key_directory(&key_path)?;
                }
                None => {}
            }
        }
        self.open_at(location, Some(key_path), key, create).await
    }

    async fn open_at(
        &self,
        location: Location,
        key_path: Option<PathBuf>,
        key: Option<SigningKey>,
        create: bool,
    ) -> anyhow::Result<Opened> {
        let store = Store::open(OpenOptions {
            location: location.clone(),
            create,
            clock: Arc::new(SystemClock),
            failpoints: Default::default(),
        })
        .await
        .with_context(|| format!("cannot open {}", location.describe()))?;
        Ok(Opened {
            store,
            location,
            key_path,
            key,
        })
    }
}

impl Opened {
    fn key_path(&self) -> anyhow::Result<&Path> {
        self.key_path.as_deref().with_context(needs_key)
    }

    fn loaded_key(&self) -> anyhow::Result<Option<SigningKey>> {
        match &self.key {
            Some(key) => Ok(Some(key.clone())),
            None => load_if_present(self.key_path()?),
        }
    }

    /// Initialises an empty store and returns its signing key, checked
    /// against the store's origin before anything else is written.
    ///
    /// A key is created only for a store this call created: a store that
    /// holds entries has a key somewhere, and a new one would sign
    /// checkpoints its verifiers reject. A key file that exists is used for
    /// a new store only when `ledger.origin` names it, so one key never signs
    /// two ledgers.
    pub async fn initialise(&self, config: &Config, demo: bool) -> anyhow::Result<SigningKey> {
        let path = self.key_path()?;
        let key = self.loaded_key()?;
        if let Some(meta) = self.store.meta().await? {
            if let Some(origin) = &config.ledger.origin
                && *origin != meta.origin
            {
                eprintln!(
                    "warning: ledger.origin {origin:?} is ignored: this store's origin is {:?}, fixed when it was created",
                    meta.origin
                );
            }
            let key = key.with_context(|| key_missing(path))?;
            check_key(path, &key, &meta)?;
            self.keep_witness(path, &key).await?;
            return Ok(key);
        }
        // A new store: nothing written yet.
        match &key {
            Some(key) => check_key_for_new_store(path, key, config)?,
            None => check_key_directory(path)?,
        }
        let meta = self
            .store
            .initialise(config.ledger.origin.clone(), demo)
            .await?;
        let key = match key {
            Some(key) => key,
            // Entry 0 alone: this call created the store (or another
            // process did, an instant ago, and then creates the same file).
            None if self.store.head().await?.size == 1 => {
                signing::load_or_create(path, &meta.origin)
                    .with_context(|| format!("cannot create the signing key {}", path.display()))?
            }
            None => bail!(key_missing(path)),
        };
        check_key(path, &key, &meta)?;
        self.keep_witness(path, &key).await?;
        Ok(key)
    }

    /// The signer trusts, and keeps, the newest checkpoint in a file beside
    /// its key, outside the database: it then refuses to sign a ledger that
    /// was rewritten or rolled back behind its back.
    /// Signing right away proves the store extends what the signer trusts
    /// before this command writes anything.
    async fn keep_witness(
        &self,
        key_path: &std::path::Path,
        key: &SigningKey,
    ) -> anyhow::Result<()> {
        let witness = soxctl_store::checkpoint::witness_path(key_path);
        self.store
            .set_checkpoint_witness(witness.clone(), key)
            .with_context(|| format!("the checkpoint witness {} is unusable", witness.display()))?;
        self.store.sign_checkpoint(key).await?;
        Ok(())
    }

    /// The signing key of an existing store, checked against its origin
    /// (commands that write to or sign for a store they never create).
    pub async fn store_signing_key(&self) -> anyhow::Result<SigningKey> {
        let path = self.key_path()?;
        let meta = self.store.meta().await?.with_context(|| {
            format!(
                "{} has no ledger yet: create it with `soxctl import SNAPSHOT`, `soxctl serve` or `soxctl token create --init --scope admin`",
                self.location.describe()
            )
        })?;
        let key = self.loaded_key()?.with_context(|| key_missing(path))?;
        check_key(path, &key, &meta)?;
        self.keep_witness(path, &key).await?;
        Ok(key)
    }

    /// The existing signing key, unchecked (read-only commands never create one).
    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
        if let Some(key) = &self.key {
            return Ok(key.clone());
        }
        let path = self
            .key_path
            .as_ref()
            .context("no signing key: pass --signing-key FILE")?;
        signing::load(path)
            .with_context(|| "cannot load the checkpoint signing key; pass --signing-key FILE")
    }

    /// Commands that wrote entries sign a checkpoint covering them before returning.
    pub async fn checkpoint(&self, key: &SigningKey) -> anyhow::Result<()> {
        self.store
            .sign_checkpoint(key)
            .await
            .context("cannot sign a checkpoint")?;
        Ok(())
    }
}
