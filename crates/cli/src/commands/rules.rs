//! `soxctl rules load|show|history`: SoD rule sets as versioned documents
//! in the ledger (DESIGN A8).

use super::cli_actor;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_records};
use crate::store_args::StoreArgs;
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use soxctl_app::documents::{self, DocumentError};
use soxctl_model::document::DocumentKind;
use soxctl_sod::RuleSet;
use soxctl_store::documents::Loaded;
use std::path::Path;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Validate an approval policy file and record it as the next version in force.
    Load {
        /// The policy file (TOML with optional Cedar, see docs/policies.md).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a version's text (default: the one in force).
    Show {
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every version recorded, oldest first.
    History {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rule file and record it as the next version in force.
    Load {
        /// The rule file (TOML, see docs/sod.md).
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print a version's text (default: the one in force).
    Show {
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every version recorded, oldest first.
    History {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

/// Reads and validates a rule file; every error at once, with its place.
pub fn read_rules(path: &Path) -> Result<(String, RuleSet), crate::exit::Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the rule file {}", path.display()))?;
    let rules = RuleSet::parse(&text).map_err(|e| {
        failed(
            Exit::Usage,
            anyhow::anyhow!(
                "{}: {e}\nfix the rule file; docs/sod.md describes the format",
                path.display()
            ),
        )
    })?;
    Ok((text, rules))
}

fn read_document(path: &Path, kind: &str) -> Result<String, crate::exit::Failure> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {kind} file {}", path.display()))?)
}

/// The document's name in the ledger: the file's name.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A refused document names its file and where the format is described.
fn refused(path: &Path, error: DocumentError, what: &str, doc: &str) -> crate::exit::Failure {
    match error {
        DocumentError::Invalid(reason) => failed(
            Exit::Usage,
            anyhow::anyhow!(
                "{}: {reason}\nfix the {what}; {doc} describes the format",
                path.display()
            ),
        ),
        DocumentError::Store(e) => e.into(),
    }
}

pub async fn run(config: &Config, command: RulesCommand) -> CmdResult {
    match command {
        RulesCommand::Load { file, store } => {
            let text = read_document(&file, "rule")?;
            let opened = store.open_signing(config, false).await?;
            let key = opened.store_signing_key().await?;
            let name = file_name(&file);
            let mut tx = opened.store.begin_write().await?;
            let done = documents::load_rules(
                &mut tx,
                &cli_actor(),
                &name,
                &text,
                &config.hygiene.policy(),
            )
            .await
            .map_err(|e| refused(&file, e, "rule file", "docs/sod.md"))?;
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            match done.loaded {
                Loaded::Unchanged { version } => {
                    eprintln!(
                        "{name} is the rule set in force already (version {version}); nothing recorded"
                    );
                }
                Loaded::Recorded { version, seq } => {
                    tx.commit().await?;
                    let findings = done.findings;
                    if findings != Default::default() {
                        eprintln!(
                            "findings: {} opened, {} resolved, {} accepted (see `soxctl findings`)",
                            findings.opened, findings.resolved, findings.accepted
                        );
                    }
                    opened.checkpoint(&key).await?;
                    eprintln!(
                        "rule set version {version} ({} functions, {} risks) recorded by ledger entry {seq}; it is now in force",
                        done.functions, done.risks
                    );
                }
            }
            Ok(Exit::Ok)
        }
        RulesCommand::Show { version, store } => {
            show(config, DocumentKind::Rules, version, store).await
        }
        RulesCommand::History { store, format } => {
            history(config, DocumentKind::Rules, store, format).await
        }
    }
}

/// `soxctl policies load|show|history`: approval policies (routing in
/// TOML, who may request and approve in Cedar, break-glass) as versioned
/// documents.
pub async fn run_policies(config: &Config, command: PoliciesCommand) -> CmdResult {
    match command {
        PoliciesCommand::Load { file, store } => {
            let text = read_document(&file, "policy")?;
            let opened = store.open_signing(config, false).await?;
            let key = opened.store_signing_key().await?;
            let name = file_name(&file);
            let mut tx = opened.store.begin_write().await?;
            let done = documents::load_policies(&mut tx, &cli_actor(), &name, &text)
                .await
                .map_err(|e| refused(&file, e, "policy file", "docs/policies.md"))?;
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            match done.loaded {
                Loaded::Unchanged { version } => eprintln!(
                    "{name} is the policy in force already (version {version}); nothing recorded"
                ),
                Loaded::Recorded { version, seq } => {
                    tx.commit().await?;
                    opened.checkpoint(&key).await?;
                    eprintln!(
                        "approval policies version {version} recorded by ledger entry {seq}; new requests are routed by it"
                    );
                }
            }
            Ok(Exit::Ok)
        }
        PoliciesCommand::Show { version, store } => {
            show(config, DocumentKind::Policies, version, store).await
        }
        PoliciesCommand::History { store, format } => {
            history(config, DocumentKind::Policies, store, format).await
        }
    }
}

async fn show(
    config: &Config,
    kind: DocumentKind,
    version: Option<u64>,
    store: crate::store_args::StoreArgs,
) -> CmdResult {
    let opened = store.open(config, false).await?;
    let versions = opened.store.document_versions(kind).await?;
    let chosen = match version {
        Some(v) => versions.into_iter().find(|d| d.version == v),
        None => versions.into_iter().last(),
    };
    let Some(doc) = chosen else {
        return Err(failed(
            Exit::Usage,
            anyhow::anyhow!(
                "no such {kind} version in this store; `soxctl {kind} history` lists them, `soxctl {kind} load FILE` records one"
            ),
        ));
    };
    print!("{}", doc.content);
    Ok(Exit::Ok)
}

async fn history(
    config: &Config,
    kind: DocumentKind,
    store: crate::store_args::StoreArgs,
    format: Option<Format>,
) -> CmdResult {
    let opened = store.open(config, false).await?;
    let versions = opened.store.document_versions(kind).await?;
    let records: Vec<serde_json::Value> = versions
        .iter()
        .map(|d| {
            json!({
                "version": d.version,
                "name": d.name,
                "sha256": d.sha256,
                "loaded_at": d.loaded_at.to_canonical(),
                "loaded_by": d.loaded_by,
            })
        })
        .collect();
    print_records(
        Format::resolve(format),
        &["version", "name", "loaded_at", "loaded_by", "sha256"],
        &records,
    )?;
    Ok(Exit::Ok)
}
