//! Delegation while away: an approver hands their seat to an eligible
//! delegate for a bounded time. The delegate still passes every built-in
//! rule when deciding, and the seat decides once.

use crate::error::{Result, WorkflowError, conflict, invalid, refused, text};
use soxctl_model::event::Event;
use soxctl_model::ids::{DelegationId, PersonId};
use soxctl_model::inventory::PersonStatus;
use soxctl_model::principal::Principal;
use soxctl_model::request::{DelegationCreated, DelegationRevoked};
use soxctl_model::time::Timestamp;
use soxctl_store::WriteTx;

/// The longest delegation: a holiday, not a standing arrangement.
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelegation {
    pub delegate_id: PersonId,
    /// Default: now.
    pub starts_at: Option<Timestamp>,
    pub ends_at: Timestamp,
    pub reason: String,
    /// Who issued the delegator's credential, when not the delegator: they
    /// may not be made the delegate through it.
    pub issued_by: Option<soxctl_model::access::Issuer>,
}

pub async fn delegate(
    tx: &mut WriteTx,
    actor: &Principal,
    delegator_id: &PersonId,
    input: NewDelegation,
) -> Result<(DelegationId, u64)> {
    text("reason", &input.reason, true)?;
    let now = tx.now();
    if &input.delegate_id == delegator_id {
        return Err(invalid("a delegation names someone else as delegate"));
    }
    if let Some(issuer) = &input.issued_by
        && issuer.person.as_ref() == Some(&input.delegate_id)
    {
        return Err(crate::error::refused(format!(
            "{delegator_id}'s credential was issued by {} ({}): it cannot make them {delegator_id}'s delegate",
            input.delegate_id, issuer.principal
        )));
    }
    let inventory = tx.inventory().await?;
    for (role, id) in [
        ("delegator", delegator_id),
        ("delegate", &input.delegate_id),
    ] {
        match inventory.people.get(id) {
            None => {
                return Err(invalid(format!(
                    "the {role} '{id}' is not a person in the store"
                )));
            }
            Some(p) if p.status != PersonStatus::Active && role == "delegate" => {
                return Err(refused(format!(
                    "the delegate '{id}' is not active and cannot approve"
                )));
            }
            Some(_) => {}
        }
    }
    let starts_at = input.starts_at.unwrap_or(now);
    // A delegation in the past would make decisions already taken look
    // delegated; a minute covers clocks that differ a little.
    if starts_at < crate::requests::decide::before(now, 60) {
        return Err(invalid(format!(
            "the delegation would start at {starts_at}, in the past: a delegation starts now or later"
        )));
    }
    if input.ends_at <= starts_at || input.ends_at <= now {
        return Err(invalid(
            "the delegation must end in the future and after it starts",
        ));
    }
    if input.ends_at.as_datetime() - starts_at.as_datetime() > chrono::Duration::days(MAX_DAYS) {
        return Err(invalid(format!(
            "a delegation lasts at most {MAX_DAYS} days; create a new one when it ends"
        )));
    }
    let delegation_id = DelegationId::mint(uuid::Uuid::new_v4().as_u128());
    let seq = tx
        .append(
            actor,
            &Event::DelegationCreated(DelegationCreated {
                delegation_id: delegation_id.clone(),
                delegator_id: delegator_id.clone(),
                delegate_id: input.delegate_id,
                starts_at,
                ends_at: input.ends_at,
                reason: input.reason,
                issued_by: input.issued_by.map(|i| i.principal),
            }),
        )
        .await?;
    Ok((delegation_id, seq))
}

/// Ends a delegation early; only its delegator (or an admin, `by = None`).
pub async fn revoke_delegation(
    tx: &mut WriteTx,
    actor: &Principal,
    by: Option<&PersonId>,
    delegation_id: &DelegationId,
) -> Result<u64> {
    let now = tx.now();
    let found = tx
        .delegations()
        .await?
        .into_iter()
        .find(|d| &d.delegation_id == delegation_id)
        .ok_or_else(|| WorkflowError::NotFound(format!("no delegation '{delegation_id}'")))?;
    if let Some(p) = by
        && &found.delegator_id != p
    {
        return Err(refused(format!(
            "only {} (the delegator) or an admin ends delegation {delegation_id}",
            found.delegator_id
        )));
    }
    if found.revoked_at.is_some() || found.ends_at <= now {
        return Err(conflict(format!(
            "delegation {delegation_id} has ended already"
        )));
    }
    Ok(tx
        .append(
            actor,
            &Event::DelegationRevoked(DelegationRevoked {
                delegation_id: delegation_id.clone(),
            }),
        )
        .await?)
}
