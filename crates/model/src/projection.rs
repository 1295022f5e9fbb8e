//! How an event changes the state tables.
//!
//! `project` is the single definition of that mapping: the store applies its
//! output in SQL inside the append transaction, and `verify` applies it to an
//! in-memory [`State`] while replaying the ledger, then compares. A state row
//! changed without an entry therefore shows up as a difference.

use crate::document::{DocumentKind, DocumentRow};
use crate::event::{Event, SealedPerson};
use crate::finding::{FindingRow, FindingStatus, FindingUpdate};
use crate::ids::{
    AccessGrantId, AccountId, DelegationId, EntitlementId, ExecutionTokenId, FindingId, PersonId,
    RequestId, RoleId, SystemId, TokenId,
};
use crate::inventory::{Account, Entitlement, Grant, Person, Role, RoleEntitlement, System};
use crate::mitigation::MitigationRow;
use crate::principal::{Principal, Scope};
use crate::request::{
    AccessEnd, AccessGrantRow, BreakGlassRow, Decision, DecisionRow, DelegationRow, DeploymentRow,
    ExecutionTokenRow, RequestRow, RequestStatus, RequestUpdate,
};
use crate::sealed::{self, KeyId, PersonKey, SealError};
use crate::time::Timestamp;
use std::collections::BTreeMap;

mod history;
mod rows;
mod seal;
mod state;
pub use history::{AccountIntervalRow, Close, GrantIntervalRow};
pub use rows::*;
use seal::unseal_person;
pub use seal::*;
pub use state::*;

/// What the projection needs to know about the entry besides its event.
#[derive(Debug, Clone)]
pub struct EntryContext<'a> {
    pub seq: u64,
    pub time: Timestamp,
    pub actor: &'a Principal,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("person {person}: sealed {field} does not open with the person's key: {source}")]
    Sealed {
        person: PersonId,
        field: &'static str,
        source: SealError,
    },
}

pub fn project(
    ctx: &EntryContext<'_>,
    event: &Event,
    keys: &dyn KeyRing,
) -> Result<Vec<RowChange>, ProjectionError> {
    use RowChange::{Delete, Upsert};
    let change = match event {
        Event::StoreInitialised(e) => Upsert(Row::Store(StoreRow {
            store_id: e.store_id.clone(),
            origin: e.origin.clone(),
            demo: e.demo,
            initialised_at: ctx.time,
        })),
        Event::PersonAdded(f) | Event::PersonChanged(f) => {
            Upsert(Row::Person(unseal_person(&f.person, keys)?))
        }
        Event::PersonErased(e) => RowChange::ErasePerson {
            person_id: e.person_id.clone(),
        },
        Event::SystemAdded(f) | Event::SystemChanged(f) => Upsert(Row::System(f.system.clone())),
        Event::SystemBaselined(b) => Upsert(Row::Baseline(BaselineRow {
            system_id: b.system_id.clone(),
            import_id: b.import_id.clone(),
            as_of: b.as_of,
            certified: false,
        })),
        Event::EntitlementAdded(f) | Event::EntitlementChanged(f) => {
            Upsert(Row::Entitlement(f.entitlement.clone()))
        }
        Event::EntitlementRemoved(f) => Delete(Row::Entitlement(f.entitlement.clone()).key()),
        Event::AccountAdded(f) => {
            return Ok(vec![
                Upsert(Row::Account(f.account.clone())),
                history::account_opened(ctx, f),
            ]);
        }
        Event::AccountChanged(f) => {
            let mut changes = vec![Upsert(Row::Account(f.account.clone()))];
            if history::account_version_changes(f) {
                changes.push(history::account_closed(ctx, f));
                changes.push(history::account_opened(ctx, f));
            }
            return Ok(changes);
        }
        Event::AccountRemoved(f) => {
            return Ok(vec![
                Delete(Row::Account(f.account.clone()).key()),
                history::account_closed(ctx, f),
            ]);
        }
        Event::GrantAdded(f) => {
            return Ok(vec![
                Upsert(Row::Grant(f.grant.clone())),
                history::grant_opened(ctx, f),
            ]);
        }
        Event::GrantChanged(f) => Upsert(Row::Grant(f.grant.clone())),
        Event::GrantRemoved(f) => {
            return Ok(vec![
                Delete(Row::Grant(f.grant.clone()).key()),
                history::grant_closed(ctx, f),
            ]);
        }
        Event::RoleAdded(f) | Event::RoleChanged(f) => Upsert(Row::Role(f.role.clone())),
        Event::RoleRemoved(f) => Delete(RowKey::Role(f.role.role_id.clone())),
        Event::RoleEntitlementAdded(f) => Upsert(Row::RoleEntitlement(f.role_entitlement.clone())),
        Event::RoleEntitlementRemoved(f) => {
            Delete(Row::RoleEntitlement(f.role_entitlement.clone()).key())
        }
        Event::ImportCompleted(i) => Upsert(Row::Import(ImportRow {
            import_id: i.import_id.clone(),
            source: i.source.clone(),
            extracted_at: i.extracted_at,
            systems: i
                .systems
                .iter()
                .map(SystemId::as_str)
                .collect::<Vec<_>>()
                .join(","),
            events: i.events,
            completed_at: ctx.time,
            actor: ctx.actor.to_string(),
        })),
        Event::TokenCreated(t) => {
            let mut scopes: Vec<&str> = t.scopes.iter().map(|s| s.as_str()).collect();
            scopes.sort_unstable();
            scopes.dedup();
            Upsert(Row::Token(TokenRow {
                token_id: t.token_id.clone(),
                secret_sha256: t.secret_sha256.clone(),
                scopes: scopes.join(","),
                system_id: t.system_id.clone(),
                person_id: t.person_id.clone(),
                expires_at: t.expires_at,
                description: t.description.clone(),
                created_at: ctx.time,
                created_by: ctx.actor.to_string(),
                revoked_at: None,
                repo: t.repo.clone(),
                environments: t.environments.clone(),
            }))
        }
        Event::DocumentLoaded(d) => Upsert(Row::Document(DocumentRow {
            kind: d.kind,
            version: d.version,
            name: d.name.clone(),
            sha256: d.sha256.clone(),
            content: d.content.clone(),
            loaded_at: ctx.time,
            loaded_by: ctx.actor.to_string(),
        })),
        Event::MitigationGranted(m) => Upsert(Row::Mitigation(MitigationRow {
            mitigation_id: m.mitigation_id.clone(),
            risk_id: m.risk_id.clone(),
            identity: m.identity.clone(),
            control: m.control.clone(),
            owner_id: m.owner_id.clone(),
            approver_id: m.approver_id.clone(),
            reason: m.reason.clone(),
            expires_at: m.expires_at,
            granted_at: ctx.time,
            granted_by: ctx.actor.to_string(),
            revoked_at: None,
        })),
        Event::MitigationRevoked(m) => RowChange::RevokeMitigation {
            mitigation_id: m.mitigation_id.clone(),
            at: ctx.time,
        },
        Event::FindingOpened(f) => Upsert(Row::Finding(FindingRow {
            finding_id: f.finding_id.clone(),
            kind: f.kind.clone(),
            subject: f.subject.clone(),
            severity: f.severity,
            control_ids: f.control_ids.clone(),
            status: FindingStatus::Open,
            first_seen: f.first_seen,
            opened_at: ctx.time,
            resolved_at: None,
            owner_id: f.owner_id.clone(),
            due: f.due,
            summary: f.summary.clone(),
            detail: f.detail.clone(),
            resolution: None,
            accepted_until: None,
        })),
        Event::FindingResolved(f) => RowChange::UpdateFinding {
            finding_id: f.finding_id.clone(),
            update: FindingUpdate::Resolved {
                at: ctx.time,
                reason: f.reason.clone(),
            },
        },
        Event::FindingAccepted(f) => RowChange::UpdateFinding {
            finding_id: f.finding_id.clone(),
            update: FindingUpdate::Accepted {
                reason: f.reason.clone(),
                until: f.until,
            },
        },
        Event::FindingAssigned(f) => RowChange::UpdateFinding {
            finding_id: f.finding_id.clone(),
            update: FindingUpdate::Assigned {
                owner_id: f.owner_id.clone(),
                due: f.due,
            },
        },
        Event::RequestCreated(r) => Upsert(Row::Request(Box::new(RequestRow {
            request_id: r.request_id.clone(),
            requester_id: r.requester_id.clone(),
            ask: r.ask.clone(),
            justification: r.justification.clone(),
            ticket: r.ticket.clone(),
            policy_version: r.policy_version,
            policy_rule: r.policy_rule.clone(),
            required_approvals: r.required_approvals,
            approvers: r.approvers.clone(),
            mfa_required: r.mfa_required,
            sod: r.sod.clone(),
            created_at: ctx.time,
            expires_at: r.expires_at,
            approval_window_secs: r.approval_window_secs,
            reminder_after_secs: r.reminder_after_secs,
            escalate_after_secs: r.escalate_after_secs,
            reminded_at: None,
            escalated_at: None,
            status: RequestStatus::Pending,
            approvals: 0,
            decided_at: None,
            valid_until: None,
            activated_at: None,
            closed_reason: None,
        }))),
        Event::RequestApproved(a) => {
            return Ok(vec![
                Upsert(Row::Decision(DecisionRow {
                    request_id: a.request_id.clone(),
                    approver_id: a.approver_id.clone(),
                    decision: Decision::Approve,
                    on_behalf_of: a.on_behalf_of.clone(),
                    mfa: a.mfa,
                    comment: a.comment.clone(),
                    decided_at: ctx.time,
                    seq: ctx.seq,
                    actor: ctx.actor.to_string(),
                })),
                RowChange::UpdateRequest {
                    request_id: a.request_id.clone(),
                    update: RequestUpdate::Approval {
                        approvals: a.approvals,
                        required: a.required_approvals,
                        approved_at: a.approved.then_some(ctx.time),
                        valid_until: a.valid_until,
                    },
                },
            ]);
        }
        Event::RequestDenied(d) => {
            return Ok(vec![
                Upsert(Row::Decision(DecisionRow {
                    request_id: d.request_id.clone(),
                    approver_id: d.approver_id.clone(),
                    decision: Decision::Deny,
                    on_behalf_of: d.on_behalf_of.clone(),
                    mfa: d.mfa,
                    comment: Some(d.reason.clone()),
                    decided_at: ctx.time,
                    seq: ctx.seq,
                    actor: ctx.actor.to_string(),
                })),
                RowChange::UpdateRequest {
                    request_id: d.request_id.clone(),
                    update: RequestUpdate::Closed {
                        status: RequestStatus::Denied,
                        at: ctx.time,
                        reason: Some(d.reason.clone()),
                    },
                },
            ]);
        }
        Event::RequestCancelled(c) => RowChange::UpdateRequest {
            request_id: c.request_id.clone(),
            update: RequestUpdate::Closed {
                status: RequestStatus::Cancelled,
                at: ctx.time,
                reason: Some(c.reason.clone()),
            },
        },
        Event::RequestExpired(e) => RowChange::UpdateRequest {
            request_id: e.request_id.clone(),
            update: RequestUpdate::Closed {
                status: RequestStatus::Expired,
                at: ctx.time,
                reason: None,
            },
        },
        Event::RequestReminded(r) => RowChange::UpdateRequest {
            request_id: r.request_id.clone(),
            update: RequestUpdate::Reminded {
                at: ctx.time,
                escalation: r.escalation,
            },
        },
        Event::AccessGranted(g) => {
            let mut changes = vec![Upsert(Row::AccessGrant(AccessGrantRow {
                grant_id: g.grant_id.clone(),
                request_id: g.request_id.clone(),
                person_id: g.person_id.clone(),
                system_id: g.item.system_id.clone(),
                account_id: g.item.account_id.clone(),
                entitlement_id: g.item.entitlement_id.clone(),
                starts_at: g.starts_at,
                ends_at: g.ends_at,
                ended_at: None,
                end: None,
            }))];
            if !g.emergency {
                changes.push(RowChange::UpdateRequest {
                    request_id: g.request_id.clone(),
                    update: RequestUpdate::Activated { at: ctx.time },
                });
            }
            return Ok(changes);
        }
        Event::AccessRevoked(r) => RowChange::EndAccessGrant {
            grant_id: r.grant_id.clone(),
            at: ctx.time,
            end: r.end,
        },
        Event::DelegationCreated(d) => Upsert(Row::Delegation(DelegationRow {
            delegation_id: d.delegation_id.clone(),
            delegator_id: d.delegator_id.clone(),
            delegate_id: d.delegate_id.clone(),
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            reason: d.reason.clone(),
            created_at: ctx.time,
            created_by: ctx.actor.to_string(),
            revoked_at: None,
        })),
        Event::DelegationRevoked(d) => RowChange::RevokeDelegation {
            delegation_id: d.delegation_id.clone(),
            at: ctx.time,
        },
        Event::ExecutionTokenIssued(t) => Upsert(Row::ExecutionToken(ExecutionTokenRow {
            token_id: t.token_id.clone(),
            request_id: t.request_id.clone(),
            executor: t.executor.clone(),
            env: t.env.clone(),
            digest: t.digest.clone(),
            issued_at: ctx.time,
            expires_at: t.expires_at,
            used_at: None,
        })),
        Event::ActionExecuted(a) => {
            return Ok(vec![
                RowChange::UseExecutionToken {
                    token_id: a.token_id.clone(),
                    at: ctx.time,
                },
                RowChange::UpdateRequest {
                    request_id: a.request_id.clone(),
                    update: RequestUpdate::Closed {
                        status: RequestStatus::Consumed,
                        at: ctx.time,
                        reason: Some(a.outcome.clone()),
                    },
                },
            ]);
        }
        Event::ChangeDeployed(d) => {
            let mut changes = vec![Upsert(Row::Deployment(DeploymentRow {
                deployment_id: d.deployment_id.clone(),
                env: d.env.clone(),
                commit: d.commit.clone(),
                repo: d.repo.clone(),
                deployer: d.deployer.clone(),
                request_id: d.request_id.clone(),
                deployed_at: ctx.time,
                seq: ctx.seq,
            }))];
            if let Some(request_id) = &d.request_id {
                changes.push(RowChange::UpdateRequest {
                    request_id: request_id.clone(),
                    update: RequestUpdate::Closed {
                        status: RequestStatus::Consumed,
                        at: ctx.time,
                        reason: Some(format!("deployed {} to {}", d.commit, d.env)),
                    },
                });
            }
            return Ok(changes);
        }
        Event::BreakGlassUsed(b) => Upsert(Row::BreakGlass(BreakGlassRow {
            use_id: b.use_id.clone(),
            person_id: b.person_id.clone(),
            items: b.items.clone(),
            reason: b.reason.clone(),
            evidence: b.evidence.clone(),
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            reviewer_id: b.reviewer_id.clone(),
            reviewed_at: None,
            outcome: None,
            review_notes: None,
        })),
        Event::BreakGlassReviewed(r) => RowChange::ReviewBreakGlass {
            use_id: r.use_id.clone(),
            at: ctx.time,
            outcome: r.outcome,
            notes: r.notes.clone(),
            evidence: r.evidence.clone(),
        },
        Event::TokenRevoked(t) => RowChange::RevokeToken {
            token_id: t.token_id.clone(),
            at: ctx.time,
        },
    };
    Ok(vec![change])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{PersonErased, PersonFact};
    use crate::inventory::PersonStatus;

    fn ada() -> Person {
        Person {
            person_id: PersonId::parse("p1").unwrap(),
            name: Some("Ada Lovelace".into()),
            email: Some("ada@example.com".into()),
            manager_id: None,
            department: Some("Finance".into()),
            title: None,
            status: PersonStatus::Active,
            hire_date: None,
            termination_date: None,
        }
    }

    fn added(person: &Person, kid: KeyId, key: &PersonKey) -> Event {
        Event::PersonAdded(PersonFact {
            origin: Default::default(),
            changed: None,
            person: seal_person(person, kid, key, || [9; sealed::NONCE_LEN]).unwrap(),
        })
    }

    fn replay(events: &[Event], keys: &PersonKeys) -> Result<State, String> {
        let actor = Principal::system("test");
        let ctx = EntryContext {
            seq: 0,
            time: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
            actor: &actor,
        };
        let mut state = State::default();
        for event in events {
            let changes = project(&ctx, event, keys).map_err(|e| e.to_string())?;
            state.apply(changes).map_err(|e| e.to_string())?;
        }
        Ok(state)
    }

    fn row(state: &State) -> PersonRow {
        match state.rows.get(&RowKey::Person(ada().person_id)) {
            Some(Row::Person(p)) => p.clone(),
            other => panic!("no person row: {other:?}"),
        }
    }

    #[test]
    fn erasure_and_reappearance_replay_under_key_generations() {
        let (old, new) = ([1u8; sealed::KEY_LEN], [2u8; sealed::KEY_LEN]);
        let erased = Event::PersonErased(PersonErased {
            person_id: ada().person_id,
            reason: "ticket 42".into(),
        });
        let renamed = Person {
            name: Some("Ada King".into()),
            ..ada()
        };
        let events = vec![added(&ada(), 1, &old), erased, added(&renamed, 7, &new)];

        // Before the erasure, with the old key: the data is there, then gone.
        let keys: PersonKeys = [((ada().person_id, 1), old)].into();
        let before = row(&replay(&events[..1], &keys).unwrap());
        assert_eq!(before.person.name.as_deref(), Some("Ada Lovelace"));
        assert!(!before.erased);
        let after = row(&replay(&events[..2], &keys).unwrap());
        assert_eq!((&after.person.name, &after.person.email), (&None, &None));
        assert!(after.erased);
        assert_eq!(after.person.department.as_deref(), Some("Finance"));

        // The old key shredded: the same rows by replay, without it.
        let shredded = PersonKeys::new();
        let first = row(&replay(&events[..1], &shredded).unwrap());
        assert_eq!((first.person.name, first.erased), (None, true));
        assert_eq!(row(&replay(&events[..2], &shredded).unwrap()), after);

        // Reappeared under a new key: earlier entries stay erased, the new
        // one opens.
        let keys: PersonKeys = [((ada().person_id, 7), new)].into();
        let back = row(&replay(&events, &keys).unwrap());
        assert_eq!(back.person.name.as_deref(), Some("Ada King"));
        assert!(!back.erased);

        // A key that exists but does not open its field is tampering.
        let wrong: PersonKeys = [((ada().person_id, 7), old)].into();
        let error = replay(&events, &wrong).unwrap_err();
        assert!(error.contains("does not open"), "{error}");
    }

    #[test]
    fn erasing_an_unknown_person_does_not_replay() {
        let event = Event::PersonErased(PersonErased {
            person_id: ada().person_id,
            reason: "ticket 42".into(),
        });
        let error = replay(&[event], &PersonKeys::new()).unwrap_err();
        assert!(error.contains("never added"), "{error}");
    }
}
