//! Layered configuration: defaults, then a TOML file, then SOXCTL_*
//! variables and options (clap applies those two, except SOXCTL_ORIGIN,
//! which has no option and is applied here).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The variable that sets `ledger.origin` (and beats the file).
pub const ORIGIN_ENV: &str = "SOXCTL_ORIGIN";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// SQLite data directory.
    pub data: Option<PathBuf>,
    /// PostgreSQL URL.
    pub database: Option<String>,
    pub signing_key: Option<PathBuf>,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default)]
    pub hygiene: HygieneConfig,
    /// Refused: the change gate's settings live in the approval-policy
    /// document, where each change is a ledger event.
    pub gate: Option<toml::Value>,
    /// Correlation rules for accounts pushed over SCIM (`[[correlate]]`
    /// tables, as `import --correlation` reads them); none: by email.
    #[serde(default)]
    pub correlate: Vec<soxctl_connectors::correlate::Rule>,
    /// Where `serve` delivers outbox messages (email, webhooks); none: they
    /// wait in the outbox.
    pub notify: Option<soxctl_connectors::notify::NotifyConfig>,
}

/// Thresholds of the hygiene detectors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HygieneConfig {
    /// An active account not used for this many days is dormant.
    #[serde(default = "ninety")]
    pub unused_days: i64,
    /// A service or shared credential older than this many days must be rotated.
    #[serde(default = "ninety")]
    pub rotation_days: i64,
}

fn ninety() -> i64 {
    90
}

impl Default for HygieneConfig {
    fn default() -> Self {
        Self {
            unused_days: 90,
            rotation_days: 90,
        }
    }
}

impl HygieneConfig {
    pub fn policy(&self) -> soxctl_detect::hygiene::Policy {
        soxctl_detect::hygiene::Policy {
            unused_days: self.unused_days,
            rotation_days: self.rotation_days,
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: Option<SocketAddr>,
    #[serde(default)]
    pub metrics_public: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// Checkpoint origin line (default `soxctl/<store-uuid>`); set before the store is created.
    pub origin: Option<String>,
}

impl Config {
    /// The SCIM correlation rules: the configured ones, else the default.
    pub fn scim_correlation(&self) -> soxctl_connectors::correlate::Rules {
        if self.correlate.is_empty() {
            soxctl_connectors::correlate::Rules::default()
        } else {
            soxctl_connectors::correlate::Rules {
                rules: self.correlate.clone(),
            }
        }
    }

    /// The file (if any), then SOXCTL_ORIGIN; the result is checked.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config {}", path.display()))?;
                let config: Config = toml::from_str(&text)
                    .with_context(|| format!("config {} is not valid", path.display()))?;
                config
                    .check()
                    .with_context(|| format!("config {} is not valid", path.display()))?;
                config
            }
        };
        // Like clap's variables: an empty value is no value.
        if let Some(origin) = std::env::var_os(ORIGIN_ENV).filter(|v| !v.is_empty()) {
            let origin = origin
                .into_string()
                .map_err(|_| anyhow::anyhow!("{ORIGIN_ENV} is not valid UTF-8"))?;
            check_origin(&origin).with_context(|| format!("{ORIGIN_ENV} is not valid"))?;
            config.ledger.origin = Some(origin);
        }
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.data.is_some() && self.database.is_some() {
            bail!(
                "it sets both data (an SQLite store) and database (a PostgreSQL store): keep the one you use"
            );
        }
        if let Some(origin) = &self.ledger.origin {
            check_origin(origin).context("[ledger] origin")?;
        }
        if self.gate.is_some() {
            bail!(
                "[gate] is no longer read from the config file: the change gate's settings are part of the \
                 approval policies, so that every change to them is a ledger event. Move them to the [gate] \
                 table of your policies document (author_may_deploy = [...]; require_attributed_authors is \
                 now the default everywhere, and allow_unattributed_authors = [...] opts an environment out) \
                 and load it with `soxctl policies load FILE`; then remove [gate] here"
            );
        }
        if self.hygiene.unused_days < 1 || self.hygiene.rotation_days < 1 {
            bail!("[hygiene] unused_days and rotation_days must be at least 1 (days)");
        }
        if let Some(notify) = &self.notify {
            notify.check()?;
        }
        Ok(())
    }
}

/// A checkpoint origin is one line of a signed note and the signing key's
/// name: printable ASCII without spaces or '+' (e.g. `audit.example.com/soxctl`).
pub fn check_origin(origin: &str) -> anyhow::Result<()> {
    if origin.is_empty() {
        bail!("the checkpoint origin is empty: use a name like audit.example.com/soxctl");
    }
    if let Some(c) = origin.chars().find(|c| !c.is_ascii_graphic() || *c == '+') {
        bail!(
            "the checkpoint origin {origin:?} contains {c:?}: use printable ASCII without spaces or '+', like audit.example.com/soxctl"
        );
    }
    Ok(())
}
