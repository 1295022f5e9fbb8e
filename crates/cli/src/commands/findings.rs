//! `soxctl findings`: what the detectors found, filtered.

use crate::cli::{FindingsAction, FindingsArgs};
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_views};
use soxctl_api::findings::FindingView;
use soxctl_store::findings::Filter;

pub async fn run(config: &Config, args: FindingsArgs) -> CmdResult {
    match args.action {
        None => list(config, args).await,
        Some(FindingsAction::Accept {
            finding_id,
            reason,
            until,
            store,
        }) => {
            let until = super::query::instant("--until", &until)?;
            let opened = store.open_signing(config, false).await?;
            let key = opened.store_signing_key().await?;
            let now = opened.store.context().clock.now();
            let mut tx = opened.store.begin_write().await?;
            let seq = tx
                .accept_finding(&super::cli_actor(), &finding_id, &reason, until, now)
                .await
                .map_err(|e| failed(Exit::Usage, e))?;
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
            let seq = tx
                .assign_finding(&super::cli_actor(), &finding_id, owner, due)
                .await
                .map_err(|e| failed(Exit::Usage, e))?;
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
    let findings = opened.store.findings(&filter).await?;
    // The API's shape (`GET /api/v1/findings`).
    let views: Vec<FindingView> = findings.iter().map(Into::into).collect();
    let columns = [
        "severity",
        "kind",
        "subject",
        "status",
        "first_seen",
        "owner_id",
        "due",
        "summary",
    ];
    print_views(Format::resolve(args.format), &columns, &views)?;
    Ok(Exit::Ok)
}
