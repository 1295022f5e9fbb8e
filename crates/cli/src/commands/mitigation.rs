//! `soxctl sod mitigate|mitigations|unmitigate`: exceptions for a (risk,
//! identity) with a compensating control, recorded in the ledger.

use super::cli_actor;
use super::sod::SodMitigateArgs;
use crate::config::Config;
use crate::exit::{CmdResult, Exit, failed};
use crate::output::{Format, print_records};
use crate::store_args::StoreArgs;
use serde_json::json;
use soxctl_app::mitigations::{self, MitigationError, MitigationRequest};
use soxctl_model::ids::PersonId;

fn person(option: &str, value: &str) -> Result<PersonId, crate::exit::Failure> {
    PersonId::parse(value).map_err(|e| failed(Exit::Usage, anyhow::anyhow!("{option}: {e}")))
}

/// A refusal is a usage error (exit 2); the store failing is not.
fn refused(error: MitigationError) -> crate::exit::Failure {
    match error {
        MitigationError::Store(e) => e.into(),
        refused => failed(Exit::Usage, refused),
    }
}

pub async fn mitigate(config: &Config, args: SodMitigateArgs) -> CmdResult {
    let expires_at = super::query::instant("--expires", &args.expires)?;
    let request = MitigationRequest {
        risk_id: args.risk,
        identity: args.identity,
        control: args.control,
        owner_id: person("--owner", &args.owner)?,
        approver_id: person("--approver", &args.approver)?,
        reason: args.reason,
        expires_at,
    };
    let opened = args.store.open_signing(config, false).await?;
    let key = opened.store_signing_key().await?;
    let mut tx = opened.store.begin_write().await?;
    let (id, seq) = mitigations::mitigate(&mut tx, &cli_actor(), request, &config.hygiene.policy())
        .await
        .map_err(refused)?;
    tx.commit().await?;
    opened.checkpoint(&key).await?;
    eprintln!(
        "mitigation {id} recorded by ledger entry {seq}; the violation is reported as mitigated until it expires"
    );
    println!("{id}");
    Ok(Exit::Ok)
}

pub async fn unmitigate(
    config: &Config,
    id: String,
    reason: String,
    store: StoreArgs,
) -> CmdResult {
    let opened = store.open_signing(config, false).await?;
    let key = opened.store_signing_key().await?;
    let mut tx = opened.store.begin_write().await?;
    let seq = mitigations::unmitigate(
        &mut tx,
        &cli_actor(),
        &id,
        &reason,
        &config.hygiene.policy(),
    )
    .await
    .map_err(refused)?;
    tx.commit().await?;
    opened.checkpoint(&key).await?;
    eprintln!("mitigation {id} revoked by ledger entry {seq}; the violation is open again");
    Ok(Exit::Ok)
}

pub async fn list(
    config: &Config,
    all: bool,
    store: StoreArgs,
    format: Option<Format>,
) -> CmdResult {
    let opened = store.open(config, false).await?;
    let now = opened.store.context().clock.now();
    let records: Vec<serde_json::Value> = opened
        .store
        .mitigations()
        .await?
        .into_iter()
        .filter(|m| all || m.active_at(now))
        .map(|m| {
            json!({
                "mitigation_id": m.mitigation_id,
                "risk_id": m.risk_id,
                "identity": m.identity,
                "control": m.control,
                "owner_id": m.owner_id.as_str(),
                "approver_id": m.approver_id.as_str(),
                "reason": m.reason,
                "granted_at": m.granted_at.to_canonical(),
                "expires_at": m.expires_at.to_canonical(),
                "revoked_at": m.revoked_at.map(|t| t.to_canonical()),
                "state": if m.active_at(now) { "active" } else if m.revoked_at.is_some() { "revoked" } else { "expired" },
            })
        })
        .collect();
    print_records(
        Format::resolve(format),
        &[
            "mitigation_id",
            "risk_id",
            "identity",
            "state",
            "control",
            "approver_id",
            "expires_at",
        ],
        &records,
    )?;
    Ok(Exit::Ok)
}
