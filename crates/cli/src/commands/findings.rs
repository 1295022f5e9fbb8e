//! `soxctl findings`: what the detectors found, filtered.

use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_views};
use crate::store_args::StoreArgs;
use clap::Args;
use clap::Subcommand;
use soxctl_app::findings::triage::{self, TriageError};
use soxctl_model::ids::FindingId;
use soxctl_store::findings::Filter;

#[derive(Debug, Subcommand)]
pub enum FindingsAction {
    /// Accept an open finding's risk until a time (at most a year); it opens again afterwards.
    Accept {
        finding_id: String,
        #[arg(long)]
        reason: String,
        /// RFC 3339 time, or a date meaning its end.
        #[arg(long, value_name = "WHEN")]
        until: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give a finding an owner and/or a due date.
    Assign {
        finding_id: String,
        #[arg(long, value_name = "PERSON")]
        owner: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        due: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub action: Option<FindingsAction>,
    /// Only this kind (leaver_access, orphan_account, shared_privileged, privileged_without_mfa,
    /// dormant_account, drift, nhi_without_owner, nhi_owner_left, nhi_stale_credential, …).
    #[arg(long)]
    pub kind: Option<String>,
    /// open, accepted, resolved or all.
    #[arg(long, default_value = "open")]
    pub status: Option<String>,
    /// This severity or worse: low, medium, high, critical.
    #[arg(long)]
    pub severity: Option<String>,
    /// Subjects starting with this, e.g. account:erp: or grant:.
    #[arg(long, value_name = "PREFIX")]
    pub subject: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// A refusal is a usage error (exit 2); the store failing is not.
fn refused(error: TriageError) -> crate::exit::Failure {
    match error {
        TriageError::Store(e) => e.into(),
        refused => failed(Exit::Usage, refused),
    }
}

pub async fn run(config: &Config, args: FindingsArgs) -> CmdResult {
    match args.action {
        None => list(config, args).await,
        Some(FindingsAction::Accept {
            finding_id,
            reason,
            until,
            store,
        }) => {
            let finding_id = FindingId::parse(finding_id)?;
            let until = super::query::instant("--until", &until)?;
            let opened = store.open_signing(config, false).await?;
            let key = opened.store_signing_key().await?;
            let mut tx = opened.store.begin_write().await?;
            let seq = triage::accept(&mut tx, &super::cli_actor(), &finding_id, &reason, until)
                .await
                .map_err(refused)?;
            tx.commit().await?;
            opened.checkpoint(&key).await?;
            eprintln!("finding {finding_id} accepted until {until} by ledger entry {seq}");
            Ok(Exit::Ok)
        }
        Some(FindingsAction::Assign {
            finding_id,
            owner,
            due,
            store,
        }) => {
            if owner.is_none() && due.is_none() {
                return Err(failed(
                    Exit::Usage,
                    anyhow::anyhow!("give --owner, --due or both"),
                ));
            }
            let finding_id = FindingId::parse(finding_id)?;
            let owner = owner
                .map(soxctl_model::ids::PersonId::parse)
                .transpose()
                .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("--owner: {e}")))?;
            let due = due
                .as_deref()
                .map(soxctl_model::time::Date::parse)
                .transpose()
                .map_err(|e| failed(Exit::Usage, anyhow::anyhow!("--due: {e}")))?;
            let opened = store.open_signing(config, false).await?;
            let key = opened.store_signing_key().await?;
            let mut tx = opened.store.begin_write().await?;
            let seq = triage::assign(&mut tx, &super::cli_actor(), &finding_id, owner, due)
                .await
                .map_err(refused)?;
            tx.commit().await?;
            opened.checkpoint(&key).await?;
            eprintln!("finding {finding_id} assigned by ledger entry {seq}");
            Ok(Exit::Ok)
        }
    }
}

async fn list(config: &Config, args: FindingsArgs) -> CmdResult {
    let status =
        match args.status.as_deref() {
            None | Some("all") => None,
            Some(s) => Some(s.parse().map_err(|e: String| {
                failed(Exit::Usage, anyhow::anyhow!("--status: {e}, or all"))
            })?),
        };
    let min_severity = args
        .severity
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| failed(Exit::Usage, anyhow::anyhow!("--severity: {e}")))?;
    let filter = Filter {
        kind: args.kind.clone(),
        status,
        min_severity,
        subject_prefix: args.subject.clone(),
    };
    let opened = args.store.open(config, false).await?;
    // The API's answer (`GET /api/v1/findings`).
    let views = soxctl_app::findings::listed(&opened.store, &filter).await?;
    let columns = [
        "severity",
        "kind",
        "subject",
        "status",
        "first_seen",
        "owner_id",
        "owner_name",
        "due",
        "summary",
    ];
    print_views(Format::resolve(args.format), &columns, &views)?;
    Ok(Exit::Ok)
}
