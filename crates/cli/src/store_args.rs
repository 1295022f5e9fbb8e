//! Naming a store: `--data DIR` (SQLite) or `--database URL` (PostgreSQL),
//! with the signing key file outside the database.

use crate::config::Config;
use anyhow::{Context, bail};
use clap::Args;
use soxctl_ledger::note::SigningKey;
use soxctl_model::clock::SystemClock;
use soxctl_store::{Location, OpenOptions, Store, signing};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// SQLite store directory [default: ./soxctl-data].
    #[arg(
        long,
        env = "SOXCTL_DATA",
        value_name = "DIR",
        conflicts_with = "database"
    )]
    pub data: Option<PathBuf>,
    /// PostgreSQL store URL (postgres://user@host/db); needs --signing-key.
    #[arg(long, env = "SOXCTL_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// Checkpoint signing key [default: DIR/signing.key for SQLite].
    #[arg(long, env = "SOXCTL_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
}

pub struct Opened {
    pub store: Store,
    pub location: Location,
    pub key_path: Option<PathBuf>,
}

impl StoreArgs {
    pub fn location(&self, config: &Config) -> Location {
        if let Some(url) = self.database.clone().or_else(|| config.database.clone()) {
            return Location::Postgres(url);
        }
        Location::Sqlite(
            self.data
                .clone()
                .or_else(|| config.data.clone())
                .unwrap_or_else(|| "./soxctl-data".into()),
        )
    }

    fn key_path(&self, config: &Config, location: &Location) -> Option<PathBuf> {
        self.signing_key
            .clone()
            .or_else(|| config.signing_key.clone())
            .or_else(|| match location {
                Location::Sqlite(dir) => Some(dir.join(signing::DEFAULT_FILE_NAME)),
                Location::Postgres(_) => None,
            })
    }

    /// Opens the store; `create` for the commands allowed to create one.
    pub async fn open(&self, config: &Config, create: bool) -> anyhow::Result<Opened> {
        let location = self.location(config);
        let key_path = self.key_path(config, &location);
        if matches!(location, Location::Postgres(_)) && key_path.is_none() {
            bail!(
                "a PostgreSQL store needs --signing-key FILE (shared by all replicas, kept outside the database)"
            );
        }
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
        })
    }
}

impl Opened {
    /// Initialises an empty store and loads (or creates) its signing key.
    pub async fn initialise(&self, config: &Config, demo: bool) -> anyhow::Result<SigningKey> {
        let meta = self
            .store
            .initialise(config.ledger.origin.clone(), demo)
            .await?;
        self.signing_key_or_create(&meta.origin)
    }

    fn signing_key_or_create(&self, origin: &str) -> anyhow::Result<SigningKey> {
        let path = self
            .key_path
            .as_ref()
            .context("no signing key: pass --signing-key FILE")?;
        Ok(signing::load_or_create(path, origin)?)
    }

    /// The existing signing key (read-only commands never create one).
    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
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
