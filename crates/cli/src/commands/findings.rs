//! `soxctl findings`: what the detectors found, filtered.

use crate::cli::FindingsArgs;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_records};
use serde_json::{Value, json};
use soxctl_model::finding::FindingRow;
use soxctl_store::findings::Filter;

pub fn record(f: &FindingRow) -> Value {
    json!({
        "finding_id": f.finding_id,
        "kind": f.kind,
        "subject": f.subject,
        "severity": f.severity.as_str(),
        "status": f.status.as_str(),
        "summary": f.summary,
        "control_ids": f.control_ids,
        "first_seen": f.first_seen.to_canonical(),
        "opened_at": f.opened_at.to_canonical(),
        "resolved_at": f.resolved_at.map(|t| t.to_canonical()),
        "owner_id": f.owner_id.as_ref().map(|p| p.as_str()),
        "due": f.due.map(|d| d.to_string()),
        "resolution": f.resolution,
        "accepted_until": f.accepted_until.map(|t| t.to_canonical()),
        "detail": f.detail,
    })
}

pub async fn list(config: &Config, args: FindingsArgs) -> CmdResult {
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
    let records: Vec<Value> = findings.iter().map(record).collect();
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
    print_records(Format::resolve(args.format), &columns, &records)?;
    Ok(Exit::Ok)
}
