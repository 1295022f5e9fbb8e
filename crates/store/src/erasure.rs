//! Erasing a person's personal data (crypto-shredding) as a use case, inside
//! a caller's write transaction, so the command line and a later HTTP
//! endpoint share one set of rules.
//!
//! Names and emails are in the ledger only sealed under a per-person key kept
//! in `person_keys`, outside the ledger. Erasing deletes the person's keys
//! and appends `person.erased` in one transaction: every field sealed for
//! them so far becomes unreadable for good, while every hash and signature
//! over the ledger still verifies. The `people` row keeps the person (id,
//! department, status…) with `name` and `email` NULL and `erased` set, which
//! is also what a replay without the keys yields.
//!
//! A person who reappears later (an import re-adds them) gets a new key with
//! a new id; entries sealed before the erasure stay unreadable.

use crate::WriteTx;
use crate::error::StoreError;
use soxctl_model::event::{Event, PersonErased};
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::Person;
use soxctl_model::principal::Principal;
use soxctl_model::projection::PersonRow;

/// The longest reason accepted, in characters.
pub const MAX_REASON_LEN: usize = 500;

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// Erased now, by ledger entry `seq`; `keys` keys were deleted.
    Erased { seq: u64, keys: u64 },
    /// Erased before (and not re-added since); nothing was recorded.
    AlreadyErased,
}

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("unknown person '{0}': check the id (people are listed in the inventory)")]
    UnknownPerson(PersonId),
    #[error(
        "an erasure needs a reason (a ticket number, \"GDPR Art. 17 request\"); it is kept in the ledger"
    )]
    NoReason,
    #[error("the reason has {0} characters, more than {MAX_REASON_LEN}: shorten it")]
    ReasonTooLong(usize),
    #[error(
        "the reason contains the person's name or email; it stays in the ledger in plain text for good: \
         give it without personal data (a ticket number, \"GDPR Art. 17 request\")"
    )]
    ReasonHasPersonalData,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The checks on a reason that need no store: not blank, at most
/// [`MAX_REASON_LEN`] characters.
pub fn check_reason(reason: &str) -> Result<(), ErasureError> {
    if reason.trim().is_empty() {
        return Err(ErasureError::NoReason);
    }
    let length = reason.chars().count();
    if length > MAX_REASON_LEN {
        return Err(ErasureError::ReasonTooLong(length));
    }
    Ok(())
}

/// Whether `reason` names the person: their email, their whole name, or a
/// word of their name of three letters or more (case-insensitive). The
/// reason is written in plain text into an append-only ledger, so a false
/// alarm (a rephrased reason) is the cheaper mistake.
fn mentions(reason: &str, person: &Person) -> bool {
    let reason = reason.to_lowercase();
    let words: Vec<&str> = reason
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let whole = [&person.name, &person.email]
        .into_iter()
        .flatten()
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|v| !v.is_empty())
        .any(|v| reason.contains(&v.to_lowercase()));
    let name_word = person.name.iter().any(|name| {
        name.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|part| part.chars().count() >= 3)
            .any(|part| words.contains(&part))
    });
    whole || name_word
}

/// Erases `person_id`'s personal data on behalf of `actor` inside `tx`: the
/// person's keys are deleted and `person.erased` is appended. Erasing an
/// erased person records nothing. Nothing is written unless every check
/// passes; the caller commits.
pub async fn erase_person(
    tx: &mut WriteTx,
    actor: &Principal,
    person_id: &PersonId,
    reason: &str,
) -> Result<Erasure, ErasureError> {
    check_reason(reason)?;
    let row = tx
        .person(person_id)
        .await?
        .ok_or_else(|| ErasureError::UnknownPerson(person_id.clone()))?;
    if row.erased {
        return Ok(Erasure::AlreadyErased);
    }
    if mentions(reason, &row.person) {
        return Err(ErasureError::ReasonHasPersonalData);
    }
    let keys = tx.shred_person_keys(person_id).await?;
    let seq = tx
        .append(
            actor,
            &Event::PersonErased(PersonErased {
                person_id: person_id.clone(),
                reason: reason.to_owned(),
            }),
        )
        .await?;
    // The SCIM documents of their accounts hold their name and email too.
    crate::scim::redact_person(tx, person_id).await?;
    match tx.person(person_id).await? {
        Some(PersonRow {
            person:
                Person {
                    name: None,
                    email: None,
                    ..
                },
            erased: true,
        }) => Ok(Erasure::Erased { seq, keys }),
        _ => Err(StoreError::Invalid(format!("person {person_id} not erased by its entry")).into()),
    }
}

impl WriteTx {
    /// Deletes every key of the person; see [`erase_person`], the only
    /// caller that also records why.
    async fn shred_person_keys(&mut self, id: &PersonId) -> Result<u64, StoreError> {
        each!(self, WriteTx, |tx, _m| tx.shred_person_keys(id).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soxctl_model::inventory::PersonStatus;

    #[test]
    fn reasons_are_checked() {
        assert!(matches!(check_reason(" \n"), Err(ErasureError::NoReason)));
        assert!(check_reason(&"é".repeat(MAX_REASON_LEN)).is_ok());
        assert!(matches!(
            check_reason(&"x".repeat(MAX_REASON_LEN + 1)),
            Err(ErasureError::ReasonTooLong(501))
        ));
        let ada = Person {
            person_id: PersonId::parse("p1").unwrap(),
            name: Some("Ada  Lovelace".into()),
            email: Some("ada@example.com".into()),
            manager_id: None,
            department: None,
            title: None,
            status: PersonStatus::Active,
            hire_date: None,
            termination_date: None,
        };
        for named in [
            "request by ADA@example.com",
            "request of ada lovelace",
            "Lovelace asked, ticket 7",
            "ada: GDPR",
        ] {
            assert!(mentions(named, &ada), "{named}");
        }
        for fine in ["GDPR Art. 17 request, ticket HR-4711", "adamant; lovelaces"] {
            assert!(!mentions(fine, &ada), "{fine}");
        }
    }
}
