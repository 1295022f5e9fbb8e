//! SoD mitigations as a use case: the rules no caller may skip (the
//! approver is a known, active person other than the identity; the
//! exception ends in the future, within a year), then one ledger event.

use crate::error::{Result, StoreError};
use crate::{Store, WriteTx};
use soxctl_model::event::Event;
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::PersonStatus;
use soxctl_model::mitigation::{MitigationGranted, MitigationRevoked, MitigationRow};
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;

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

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Invalid(message.into())
}

impl WriteTx {
    pub async fn mitigations(&mut self) -> Result<Vec<MitigationRow>> {
        each!(self, WriteTx, |tx, m| m::mitigations::all(tx.conn().await?)
            .await)
    }

    /// Records an exception; the reason the request is refused otherwise.
    pub async fn grant_mitigation(
        &mut self,
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
        let inventory = self.inventory().await?;
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
        let seq = self
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

    pub async fn revoke_mitigation(
        &mut self,
        actor: &Principal,
        mitigation_id: &str,
        reason: &str,
    ) -> Result<u64> {
        if reason.trim().is_empty() {
            return Err(invalid("say why the mitigation is revoked (--reason)"));
        }
        let known = self
            .mitigations()
            .await?
            .into_iter()
            .find(|m| m.mitigation_id == mitigation_id)
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no mitigation '{mitigation_id}'; `soxctl sod mitigations` lists them"
                ))
            })?;
        if known.revoked_at.is_some() {
            return Err(invalid(format!(
                "mitigation '{mitigation_id}' is revoked already"
            )));
        }
        self.append(
            actor,
            &Event::MitigationRevoked(MitigationRevoked {
                mitigation_id: mitigation_id.to_owned(),
                reason: reason.to_owned(),
            }),
        )
        .await
    }
}

impl Store {
    pub async fn mitigations(&self) -> Result<Vec<MitigationRow>> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::mitigations::all(&mut conn).await
        })
    }
}
