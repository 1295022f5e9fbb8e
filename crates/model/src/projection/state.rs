//! The state tables in memory, for replay and comparison.

#![allow(unused_imports)]
use super::*;

/// The state tables in memory, for replay and comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub rows: BTreeMap<RowKey, Row>,
}

/// A change that names a row the state does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("token.revoked names token '{0}', which was never created")]
    UnknownToken(TokenId),
    #[error("person.erased names person '{0}', who was never added")]
    UnknownPerson(PersonId),
    #[error("a finding event names finding '{0}', which was never opened")]
    UnknownFinding(FindingId),
    #[error("sod.mitigation.revoked names mitigation '{0}', which was never granted")]
    UnknownMitigation(String),
    #[error("a request event names request '{0}', which was never created")]
    UnknownRequest(RequestId),
    #[error("access.revoked names grant '{0}', which was never granted")]
    UnknownAccessGrant(AccessGrantId),
    #[error("delegation.revoked names delegation '{0}', which was never created")]
    UnknownDelegation(DelegationId),
    #[error("breakglass.reviewed names use '{0}', which was never recorded")]
    UnknownBreakGlass(RequestId),
    #[error("action.executed names execution token '{0}', which was never issued")]
    UnknownExecutionToken(ExecutionTokenId),
}

impl State {
    pub fn apply(&mut self, changes: Vec<RowChange>) -> Result<(), ApplyError> {
        for change in changes {
            match change {
                RowChange::Upsert(row) => {
                    self.rows.insert(row.key(), row);
                }
                RowChange::Delete(key) => {
                    self.rows.remove(&key);
                }
                RowChange::RevokeToken { token_id, at } => {
                    match self.rows.get_mut(&RowKey::Token(token_id.clone())) {
                        Some(Row::Token(t)) => t.revoked_at = Some(at),
                        _ => return Err(ApplyError::UnknownToken(token_id)),
                    }
                }
                RowChange::CloseGrantInterval {
                    system_id,
                    account_id,
                    entitlement_id,
                    close,
                } => {
                    let first = RowKey::GrantInterval(
                        system_id.clone(),
                        account_id.clone(),
                        entitlement_id.clone(),
                        0,
                    );
                    let last =
                        RowKey::GrantInterval(system_id, account_id, entitlement_id, u64::MAX);
                    history::close_open(self.rows.range_mut(first..=last), &close);
                }
                RowChange::RevokeMitigation { mitigation_id, at } => {
                    match self
                        .rows
                        .get_mut(&RowKey::Mitigation(mitigation_id.clone()))
                    {
                        Some(Row::Mitigation(m)) => m.revoked_at = Some(at),
                        _ => return Err(ApplyError::UnknownMitigation(mitigation_id)),
                    }
                }
                RowChange::UpdateFinding { finding_id, update } => {
                    match self.rows.get_mut(&RowKey::Finding(finding_id.clone())) {
                        Some(Row::Finding(f)) => update.apply(f),
                        _ => return Err(ApplyError::UnknownFinding(finding_id)),
                    }
                }
                RowChange::CloseAccountInterval {
                    system_id,
                    account_id,
                    close,
                } => {
                    let first = RowKey::AccountInterval(system_id.clone(), account_id.clone(), 0);
                    let last = RowKey::AccountInterval(system_id, account_id, u64::MAX);
                    history::close_open(self.rows.range_mut(first..=last), &close);
                }
                RowChange::UpdateRequest { request_id, update } => {
                    match self.rows.get_mut(&RowKey::Request(request_id.clone())) {
                        Some(Row::Request(r)) => update.apply(r),
                        _ => return Err(ApplyError::UnknownRequest(request_id)),
                    }
                }
                RowChange::EndAccessGrant { grant_id, at, end } => {
                    match self.rows.get_mut(&RowKey::AccessGrant(grant_id.clone())) {
                        Some(Row::AccessGrant(g)) => {
                            g.ended_at = Some(at);
                            g.end = Some(end);
                        }
                        _ => return Err(ApplyError::UnknownAccessGrant(grant_id)),
                    }
                }
                RowChange::RevokeDelegation { delegation_id, at } => {
                    match self
                        .rows
                        .get_mut(&RowKey::Delegation(delegation_id.clone()))
                    {
                        Some(Row::Delegation(d)) => d.revoked_at = Some(at),
                        _ => return Err(ApplyError::UnknownDelegation(delegation_id)),
                    }
                }
                RowChange::ReviewBreakGlass {
                    use_id,
                    at,
                    outcome,
                    notes,
                    evidence,
                } => match self.rows.get_mut(&RowKey::BreakGlass(use_id.clone())) {
                    Some(Row::BreakGlass(b)) => {
                        b.reviewed_at = Some(at);
                        b.outcome = Some(outcome);
                        b.review_notes = Some(notes);
                        if evidence.is_some() {
                            b.evidence = evidence;
                        }
                    }
                    _ => return Err(ApplyError::UnknownBreakGlass(use_id)),
                },
                RowChange::UseExecutionToken { token_id, at } => {
                    match self.rows.get_mut(&RowKey::ExecutionToken(token_id.clone())) {
                        Some(Row::ExecutionToken(t)) => t.used_at = Some(at),
                        _ => return Err(ApplyError::UnknownExecutionToken(token_id)),
                    }
                }
                RowChange::ErasePerson { person_id } => {
                    match self.rows.get_mut(&RowKey::Person(person_id.clone())) {
                        Some(Row::Person(p)) => {
                            p.person.name = None;
                            p.person.email = None;
                            p.erased = true;
                        }
                        _ => return Err(ApplyError::UnknownPerson(person_id)),
                    }
                }
            }
        }
        Ok(())
    }
}
