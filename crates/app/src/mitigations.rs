//! SoD mitigations: an exception for a (risk, identity) with a
//! compensating control. The rules no caller may skip (the approver is a
//! known, active person other than the identity; the exception ends in the
//! future, within a year), then one ledger event, and the findings judged
//! again in the same transaction (the violation reported as mitigated, or
//! open again).

use soxctl_detect::hygiene::Policy;
use soxctl_model::event::Event;
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::PersonStatus;
use soxctl_model::mitigation::{MitigationGranted, MitigationRevoked};
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;
use soxctl_store::{StoreError, WriteTx};

/// The longest an exception may last before it must be granted again.
pub const MAX_DAYS: i64 = 366;
pub const MAX_TEXT_LEN: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MitigationRequest {
    pub risk_id: String,
    pub identity: String,
    pub control: String,
    pub owner_id: PersonId,
    pub approver_id: PersonId,
    pub reason: String,
    pub expires_at: Timestamp,
}

/// Why a mitigation was refused.
#[derive(Debug, thiserror::Error)]
pub enum MitigationError {
    #[error("{0}")]
    Invalid(String),
    #[error("no mitigation '{0}'; `soxctl sod mitigations` lists them")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, MitigationError>;

fn invalid(message: impl Into<String>) -> MitigationError {
    MitigationError::Invalid(message.into())
}

/// Records an exception, then judges the findings again (the violation's
/// finding becomes accepted), all in `tx`; its id and ledger entry.
pub async fn mitigate(
    tx: &mut WriteTx,
    actor: &Principal,
    request: MitigationRequest,
    hygiene: &Policy,
) -> Result<(String, u64)> {
    let now = tx.now();
    let granted = grant(tx, actor, request, now).await?;
    // Judged after the grant's own time, when the mitigation is in force.
    let now = tx.now();
    crate::findings::evaluate(tx, now, hygiene).await?;
    Ok(granted)
}

/// Ends an exception, then judges the findings again (the violation's
/// finding opens again), all in `tx`; the ledger entry.
pub async fn unmitigate(
    tx: &mut WriteTx,
    actor: &Principal,
    mitigation_id: &str,
    reason: &str,
    hygiene: &Policy,
) -> Result<u64> {
    let seq = revoke(tx, actor, mitigation_id, reason).await?;
    let now = tx.now();
    crate::findings::evaluate(tx, now, hygiene).await?;
    Ok(seq)
}

/// Records an exception; the reason the request is refused otherwise.
/// The findings are not judged again: see [`mitigate`].
pub async fn grant(
    tx: &mut WriteTx,
    actor: &Principal,
    request: MitigationRequest,
    now: Timestamp,
) -> Result<(String, u64)> {
    for (name, text) in [
        ("risk", &request.risk_id),
        ("identity", &request.identity),
        ("control", &request.control),
        ("reason", &request.reason),
    ] {
        if text.trim().is_empty() {
            return Err(invalid(format!(
                "the {name} of a mitigation may not be empty"
            )));
        }
        if text.len() > MAX_TEXT_LEN {
            return Err(invalid(format!(
                "the {name} of a mitigation is longer than {MAX_TEXT_LEN} bytes"
            )));
        }
        soxctl_model::text::check_paragraph(name, text, MAX_TEXT_LEN)
            .map_err(|e| invalid(e.to_string()))?;
    }
    if request.approver_id.as_str() == request.identity {
        return Err(invalid(
            "nobody approves an exception for their own conflict: choose another approver",
        ));
    }
    if request.expires_at <= now {
        return Err(invalid("the mitigation's expiry must be in the future"));
    }
    let latest = chrono::Duration::days(MAX_DAYS);
    if request.expires_at.as_datetime() > now.as_datetime() + latest {
        return Err(invalid(format!(
            "a mitigation may last at most {MAX_DAYS} days; grant a new one when it ends"
        )));
    }
    let inventory = tx.inventory().await?;
    for (role, id) in [
        ("owner", &request.owner_id),
        ("approver", &request.approver_id),
    ] {
        match inventory.people.get(id) {
            None => {
                return Err(invalid(format!(
                    "the {role} '{id}' is not a person in the store"
                )));
            }
            Some(p) if role == "approver" && p.status == PersonStatus::Terminated => {
                return Err(invalid(format!(
                    "the approver '{id}' has left the company and cannot approve"
                )));
            }
            Some(_) => {}
        }
    }
    let mitigation_id = format!("mit_{}", uuid::Uuid::new_v4().simple());
    let seq = tx
        .append(
            actor,
            &Event::MitigationGranted(MitigationGranted {
                mitigation_id: mitigation_id.clone(),
                risk_id: request.risk_id,
                identity: request.identity,
                control: request.control,
                owner_id: request.owner_id,
                approver_id: request.approver_id,
                reason: request.reason,
                expires_at: request.expires_at,
            }),
        )
        .await?;
    Ok((mitigation_id, seq))
}

/// Ends an exception; see [`unmitigate`].
pub async fn revoke(
    tx: &mut WriteTx,
    actor: &Principal,
    mitigation_id: &str,
    reason: &str,
) -> Result<u64> {
    if reason.trim().is_empty() {
        return Err(invalid("say why the mitigation is revoked (--reason)"));
    }
    let known = tx
        .mitigations()
        .await?
        .into_iter()
        .find(|m| m.mitigation_id == mitigation_id)
        .ok_or_else(|| MitigationError::Unknown(mitigation_id.to_owned()))?;
    if known.revoked_at.is_some() {
        return Err(invalid(format!(
            "mitigation '{mitigation_id}' is revoked already"
        )));
    }
    tx.append(
        actor,
        &Event::MitigationRevoked(MitigationRevoked {
            mitigation_id: mitigation_id.to_owned(),
            reason: reason.to_owned(),
        }),
    )
    .await
    .map_err(Into::into)
}
