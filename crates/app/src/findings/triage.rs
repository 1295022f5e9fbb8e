//! A person's answer to a finding: accept its risk for a while, or give it
//! an owner and a due date. Detectors open and resolve findings; these are
//! the only steps people take on them.

use soxctl_model::event::Event;
use soxctl_model::finding::{FindingAccepted, FindingAssigned, FindingRow, FindingStatus};
use soxctl_model::ids::{FindingId, PersonId};
use soxctl_model::principal::Principal;
use soxctl_model::time::{Date, Timestamp};
use soxctl_store::{StoreError, WriteTx};

/// The longest a risk acceptance may run before it must be renewed.
pub const MAX_ACCEPT_DAYS: i64 = 366;

/// Why a finding was not accepted or assigned; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no finding '{0}'; `soxctl findings --status all` lists them")]
    Unknown(FindingId),
    #[error("finding '{id}' is {status}, not open: only an open finding can be accepted")]
    NotOpen { id: FindingId, status: &'static str },
    #[error("say why the risk is accepted (--reason)")]
    NoReason,
    #[error("an acceptance ends in the future and within {MAX_ACCEPT_DAYS} days (--until)")]
    Until,
    #[error("the owner '{0}' is not a person in the store")]
    UnknownOwner(PersonId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn finding(tx: &mut WriteTx, id: &FindingId) -> Result<FindingRow, TriageError> {
    tx.finding(id)
        .await?
        .ok_or_else(|| TriageError::Unknown(id.clone()))
}

/// Accepts an open finding's risk, with a reason, until a time at most
/// [`MAX_ACCEPT_DAYS`] ahead: it counts as open again afterwards.
pub async fn accept(
    tx: &mut WriteTx,
    actor: &Principal,
    id: &FindingId,
    reason: &str,
    until: Timestamp,
) -> Result<u64, TriageError> {
    let now = tx.now();
    let found = finding(tx, id).await?;
    if found.status != FindingStatus::Open {
        return Err(TriageError::NotOpen {
            id: id.clone(),
            status: found.status.as_str(),
        });
    }
    if reason.trim().is_empty() {
        return Err(TriageError::NoReason);
    }
    if until <= now
        || until.as_datetime() > now.as_datetime() + chrono::Duration::days(MAX_ACCEPT_DAYS)
    {
        return Err(TriageError::Until);
    }
    let event = Event::FindingAccepted(FindingAccepted {
        finding_id: id.clone(),
        reason: reason.to_owned(),
        until: Some(until),
    });
    Ok(tx.append(actor, &event).await?)
}

/// Gives a finding a new owner and/or due date (what is not given stays).
pub async fn assign(
    tx: &mut WriteTx,
    actor: &Principal,
    id: &FindingId,
    owner_id: Option<PersonId>,
    due: Option<Date>,
) -> Result<u64, TriageError> {
    let found = finding(tx, id).await?;
    if let Some(owner) = &owner_id
        && !tx.person_exists(owner).await?
    {
        return Err(TriageError::UnknownOwner(owner.clone()));
    }
    let event = Event::FindingAssigned(FindingAssigned {
        finding_id: found.finding_id,
        owner_id: owner_id.or(found.owner_id),
        due: due.or(found.due),
    });
    Ok(tx.append(actor, &event).await?)
}
