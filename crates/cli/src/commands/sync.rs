//! `soxctl sync ldap`: read a directory, make a snapshot of one system, and
//! reconcile it like `soxctl import` (one transaction, idempotent, dry runs,
//! the removal guard, a baseline on the first sync).

use super::cli_actor;
use super::import::{Input, apply};
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed, usage};
use crate::output::Format;
use crate::store_args::StoreArgs;
use clap::Args;
use clap::Subcommand;
use soxctl_app::ingest::ImportOptions;
use soxctl_connectors::ldap::{self, Connection, Mapping, Preset, Secret};
use soxctl_model::clock::{Clock, SystemClock};
use soxctl_model::ids::{AccountId, SystemId};
use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Read users and groups from LDAP or Active Directory and reconcile them as one system's
    /// accounts, entitlements and grants (docs/ldap.md). The bind password comes from
    /// --bind-password-file or the SOXCTL_LDAP_PASSWORD variable, never from the command line.
    Ldap(SyncLdapArgs),
}

#[derive(Debug, Args)]
pub struct SyncLdapArgs {
    /// Directory server: ldap://HOST[:PORT] or ldaps://HOST[:PORT] [default: the mapping's directory.url].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// DN to bind as; without one (and without directory.bind_dn) the bind is anonymous.
    #[arg(long, value_name = "DN")]
    pub bind_dn: Option<String>,
    /// File holding the bind password (one line); or set SOXCTL_LDAP_PASSWORD.
    #[arg(long, value_name = "FILE")]
    pub bind_password_file: Option<PathBuf>,
    /// Search base, e.g. dc=example,dc=com [default: the mapping's directory.base].
    #[arg(long, value_name = "DN")]
    pub base: Option<String>,
    /// Upgrade an ldap:// connection with StartTLS (rustls) before binding.
    #[arg(long)]
    pub starttls: bool,
    /// PEM file of the CA certificates to trust for ldaps:// and StartTLS [default: the system's].
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Built-in mapping: openldap or ad [default: openldap, unless --mapping].
    #[arg(long, value_name = "NAME", conflicts_with = "mapping")]
    pub preset: Option<String>,
    /// Mapping file (TOML; start from `--preset NAME --show-mapping`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The system the accounts and groups belong to [default: the mapping's system.id].
    #[arg(long, value_name = "ID")]
    pub system: Option<String>,
    /// Print the mapping in use (a preset's full text) and exit without connecting.
    #[arg(long)]
    pub show_mapping: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Print the changes without recording them.
    #[arg(long)]
    pub dry_run: bool,
    /// Refuse a sync that removes more than this percentage of the system's grants.
    #[arg(long, value_name = "PCT", default_value_t = 20)]
    pub max_removals: u32,
    /// Output of the summary (and of the diff with --dry-run).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// The variable holding the bind password when no file is given.
pub const PASSWORD_VAR: &str = "SOXCTL_LDAP_PASSWORD";

/// Most orphans named in the report.
const ORPHANS_SHOWN: usize = 10;

pub async fn ldap(config: &Config, args: SyncLdapArgs) -> CmdResult {
    let (mapping, text) = load_mapping(&args)?;
    if args.show_mapping {
        print!("{text}");
        return Ok(Exit::Ok);
    }
    let system = match &args.system {
        Some(id) => SystemId::parse_new(id.as_str()).map_err(|e| failed(Exit::Usage, e))?,
        None => mapping.system.id.clone(),
    };
    let dir = &mapping.directory;
    let Some(url) = args.url.clone().or_else(|| dir.url.clone()) else {
        usage!(
            "no directory to read: pass --url ldap://HOST[:PORT] (or ldaps://), or set directory.url in the mapping"
        );
    };
    let Some(base) = args.base.clone().or_else(|| dir.base.clone()) else {
        usage!(
            "no search base: pass --base DN (e.g. dc=example,dc=com), or set directory.base in the mapping"
        );
    };
    let starttls = args.starttls || dir.starttls;
    if starttls && url.starts_with("ldaps://") {
        usage!("--starttls upgrades an ldap:// connection; {url} is TLS already: drop --starttls");
    }
    let bind = match (
        args.bind_dn.clone().or_else(|| dir.bind_dn.clone()),
        password(args.bind_password_file.as_deref())?,
    ) {
        (Some(dn), Some(password)) => Some((dn, password)),
        (Some(dn), None) => usage!(
            "binding as '{dn}' needs its password: put it in a file and pass --bind-password-file FILE, or set {PASSWORD_VAR}"
        ),
        (None, Some(_)) => usage!(
            "a bind password is given but no DN to bind as: pass --bind-dn DN, or give no password for an anonymous bind"
        ),
        (None, None) => None,
    };
    // Refuse two stores before reading a whole directory.
    args.store.check()?;
    let connection = Connection {
        url: url.clone(),
        bind,
        starttls,
        ca_file: args.ca_file.clone().or_else(|| dir.ca_file.clone()),
        timeout: Duration::from_secs(dir.timeout_seconds),
    };

    // When the data was true: when the read began.
    let extracted_at = SystemClock.now();
    let directory = ldap::read(&connection, &mapping, &base, &mut |what, n| {
        eprintln!("read {n} {}…", what.as_str());
    })
    .await
    .map_err(|e| failed(Exit::Usage, e))?;
    eprintln!(
        "read {} users and {} groups from {url}",
        directory.users.len(),
        directory.groups.len()
    );
    let source = format!("{}/{base}", url.trim_end_matches('/'));
    let converted = ldap::to_snapshot(&directory, &mapping, &system, source.clone(), extracted_at)
        .map_err(|e| failed(Exit::Usage, e))?;
    for warning in &converted.warnings {
        eprintln!("warning: {warning}");
    }

    let options = ImportOptions {
        actor: cli_actor(),
        dry_run: args.dry_run,
        max_removals_percent: args.max_removals,
        correlation: mapping.correlation(),
        hygiene: config.hygiene.policy(),
    };
    let input = Input {
        key: "source",
        shown: source,
        verb: "synced",
    };
    let format = Format::resolve(args.format);
    let outcome = apply(
        config,
        &args.store,
        &converted.snapshot,
        &options,
        format,
        &input,
    )
    .await?;
    if outcome.is_some() {
        report_orphans(config, &args.store, &system, &converted.display_names).await?;
    }
    Ok(Exit::Ok)
}

/// The mapping and its text: `--mapping FILE`, or a preset (openldap by default).
fn load_mapping(args: &SyncLdapArgs) -> Result<(Mapping, String), crate::exit::Failure> {
    if let Some(path) = &args.mapping {
        let text = std::fs::read_to_string(path).map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!(
                    "cannot read the mapping {}: {e}; give a TOML mapping file, or --preset openldap|ad",
                    path.display()
                ),
            )
        })?;
        let mapping = Mapping::parse(&text, &path.display().to_string())
            .map_err(|e| failed(Exit::Usage, e))?;
        return Ok((mapping, text));
    }
    let name = args.preset.as_deref().unwrap_or("openldap");
    let Some(preset) = Preset::parse(name) else {
        usage!(
            "unknown preset '{name}': use {} or a mapping file (--mapping FILE)",
            Preset::NAMES.join(" or ")
        );
    };
    let mapping = preset.mapping().map_err(|e| failed(Exit::Usage, e))?;
    Ok((mapping, preset.text().to_owned()))
}

/// The bind password: from `file` (its first line), else from the
/// environment; `None` when neither gives one.
fn password(file: Option<&Path>) -> Result<Option<Secret>, crate::exit::Failure> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            failed(
                Exit::Usage,
                anyhow::anyhow!("cannot read the bind password file {}: {e}", path.display()),
            )
        })?;
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            usage!(
                "the bind password file {} is empty: write the password on its first line",
                path.display()
            );
        }
        return Ok(Some(Secret::new(line.to_owned())));
    }
    match std::env::var(PASSWORD_VAR) {
        Ok(value) if value.is_empty() => usage!(
            "{PASSWORD_VAR} is set but empty: set it to the bind password, or unset it for an anonymous bind"
        ),
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            usage!("{PASSWORD_VAR} is not valid UTF-8")
        }
    }
}

/// Names the human accounts of `system` that no rule linked to a person.
async fn report_orphans(
    config: &Config,
    store: &StoreArgs,
    system: &SystemId,
    names: &BTreeMap<AccountId, String>,
) -> anyhow::Result<()> {
    let opened = store.open(config, false).await?;
    let found = soxctl_app::inventory::orphans(&opened.store, system).await?;
    opened.store.close().await;
    let orphans: Vec<String> = found
        .iter()
        .map(|a| match names.get(a) {
            Some(name) => format!("{a} ({name})"),
            None => a.to_string(),
        })
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    let more = if orphans.len() > ORPHANS_SHOWN {
        ", …"
    } else {
        ""
    };
    eprintln!(
        "note: {} human accounts of {system} link to no person (orphans): {}{more}; \
         import the people from HR, map them from the directory ([people]), or add [[correlate]] rules to the mapping (docs/ldap.md)",
        orphans.len(),
        orphans[..orphans.len().min(ORPHANS_SHOWN)].join(", ")
    );
    Ok(())
}
