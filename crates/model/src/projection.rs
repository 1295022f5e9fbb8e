//! How an event changes the state tables.
//!
//! `project` is the single definition of that mapping: the store applies its
//! output in SQL inside the append transaction, and `verify` applies it to an
//! in-memory [`State`] while replaying the ledger, then compares. A state row
//! changed without an entry therefore shows up as a difference.

use crate::document::{DocumentKind, DocumentRow};
use crate::event::{Event, SealedPerson};
use crate::finding::{FindingRow, FindingStatus, FindingUpdate};
use crate::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
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
pub use history::{AccountIntervalRow, Close, GrantIntervalRow};

/// Per-person keys for sealed fields, by the key id each sealed field names;
/// a missing key means the data sealed under it was erased.
pub trait KeyRing {
    fn person_key(&self, person: &PersonId, kid: KeyId) -> Option<PersonKey>;
}

/// Every key of every person, as the `person_keys` table holds them.
pub type PersonKeys = BTreeMap<(PersonId, KeyId), PersonKey>;

impl KeyRing for PersonKeys {
    fn person_key(&self, person: &PersonId, kid: KeyId) -> Option<PersonKey> {
        self.get(&(person.clone(), kid)).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRow {
    pub store_id: String,
    pub origin: String,
    pub demo: bool,
    pub initialised_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub person: Person,
    /// The person's personal data was erased (`person.erased`, or a sealed
    /// field whose key was shredded): name and email are gone for good.
    /// A later entry sealed under a new key (the person reappeared) shows
    /// its fields again and clears this.
    pub erased: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRow {
    pub system_id: SystemId,
    pub import_id: String,
    pub as_of: Timestamp,
    pub certified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub import_id: String,
    pub source: Option<String>,
    pub extracted_at: Timestamp,
    /// Comma-separated system ids of the reconciliation scope.
    pub systems: String,
    pub events: u64,
    pub completed_at: Timestamp,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub token_id: TokenId,
    pub secret_sha256: String,
    /// Comma-separated scopes, sorted.
    pub scopes: String,
    pub system_id: Option<SystemId>,
    pub person_id: Option<PersonId>,
    pub expires_at: Option<Timestamp>,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
    /// The repository a gate token registers and deploys changes of.
    pub repo: Option<String>,
    /// The environments a gate token may act in (patterns).
    pub environments: Vec<String>,
}

impl TokenRow {
    pub fn scope_list(&self) -> Vec<Scope> {
        self.scopes
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Store(StoreRow),
    Person(PersonRow),
    System(System),
    Baseline(BaselineRow),
    Entitlement(Entitlement),
    Account(Account),
    Grant(Grant),
    Role(Role),
    RoleEntitlement(RoleEntitlement),
    Import(ImportRow),
    Token(TokenRow),
    GrantInterval(GrantIntervalRow),
    AccountInterval(AccountIntervalRow),
    Finding(FindingRow),
    Document(DocumentRow),
    Mitigation(MitigationRow),
    Request(Box<RequestRow>),
    Decision(DecisionRow),
    AccessGrant(AccessGrantRow),
    Delegation(DelegationRow),
    ExecutionToken(ExecutionTokenRow),
    Deployment(DeploymentRow),
    BreakGlass(BreakGlassRow),
}

/// Primary keys of the state tables; the variant names the table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    Store,
    Person(PersonId),
    System(SystemId),
    Baseline(SystemId),
    Entitlement(SystemId, EntitlementId),
    Account(SystemId, AccountId),
    Grant(SystemId, AccountId, EntitlementId),
    Role(RoleId),
    RoleEntitlement(RoleId, SystemId, EntitlementId),
    Import(String),
    Token(TokenId),
    GrantInterval(SystemId, AccountId, EntitlementId, u64),
    AccountInterval(SystemId, AccountId, u64),
    Finding(String),
    Document(DocumentKind, u64),
    Mitigation(String),
    Request(String),
    Decision(String, PersonId),
    AccessGrant(String),
    Delegation(String),
    ExecutionToken(String),
    Deployment(String),
    BreakGlass(String),
}

impl RowKey {
    pub fn table(&self) -> &'static str {
        match self {
            Self::Store => "store_meta",
            Self::Person(_) => "people",
            Self::System(_) => "systems",
            Self::Baseline(_) => "baselines",
            Self::Entitlement(..) => "entitlements",
            Self::Account(..) => "accounts",
            Self::Grant(..) => "grants",
            Self::Role(_) => "roles",
            Self::RoleEntitlement(..) => "role_entitlements",
            Self::Import(_) => "imports",
            Self::Token(_) => "tokens",
            Self::GrantInterval(..) => "grant_history",
            Self::AccountInterval(..) => "account_history",
            Self::Finding(_) => "findings",
            Self::Document(..) => "documents",
            Self::Mitigation(_) => "sod_mitigations",
            Self::Request(_) => "requests",
            Self::Decision(..) => "request_decisions",
            Self::AccessGrant(_) => "access_grants",
            Self::Delegation(_) => "delegations",
            Self::ExecutionToken(_) => "execution_tokens",
            Self::Deployment(_) => "deployments",
            Self::BreakGlass(_) => "breakglass_uses",
        }
    }
}

impl Row {
    pub fn key(&self) -> RowKey {
        match self {
            Self::Store(_) => RowKey::Store,
            Self::Person(p) => RowKey::Person(p.person.person_id.clone()),
            Self::System(s) => RowKey::System(s.system_id.clone()),
            Self::Baseline(b) => RowKey::Baseline(b.system_id.clone()),
            Self::Entitlement(e) => {
                RowKey::Entitlement(e.system_id.clone(), e.entitlement_id.clone())
            }
            Self::Account(a) => RowKey::Account(a.system_id.clone(), a.account_id.clone()),
            Self::Grant(g) => RowKey::Grant(
                g.system_id.clone(),
                g.account_id.clone(),
                g.entitlement_id.clone(),
            ),
            Self::Role(r) => RowKey::Role(r.role_id.clone()),
            Self::RoleEntitlement(r) => RowKey::RoleEntitlement(
                r.role_id.clone(),
                r.system_id.clone(),
                r.entitlement_id.clone(),
            ),
            Self::Import(i) => RowKey::Import(i.import_id.clone()),
            Self::Token(t) => RowKey::Token(t.token_id.clone()),
            Self::GrantInterval(g) => RowKey::GrantInterval(
                g.system_id.clone(),
                g.account_id.clone(),
                g.entitlement_id.clone(),
                g.opened_seq,
            ),
            Self::AccountInterval(a) => {
                RowKey::AccountInterval(a.system_id.clone(), a.account_id.clone(), a.opened_seq)
            }
            Self::Finding(f) => RowKey::Finding(f.finding_id.clone()),
            Self::Document(d) => RowKey::Document(d.kind, d.version),
            Self::Mitigation(m) => RowKey::Mitigation(m.mitigation_id.clone()),
            Self::Request(r) => RowKey::Request(r.request_id.clone()),
            Self::Decision(d) => RowKey::Decision(d.request_id.clone(), d.approver_id.clone()),
            Self::AccessGrant(g) => RowKey::AccessGrant(g.grant_id.clone()),
            Self::Delegation(d) => RowKey::Delegation(d.delegation_id.clone()),
            Self::ExecutionToken(t) => RowKey::ExecutionToken(t.token_id.clone()),
            Self::Deployment(d) => RowKey::Deployment(d.deployment_id.clone()),
            Self::BreakGlass(b) => RowKey::BreakGlass(b.use_id.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    Upsert(Row),
    Delete(RowKey),
    RevokeToken {
        token_id: TokenId,
        at: Timestamp,
    },
    /// `name` and `email` to NULL and `erased` set, on an existing `people` row.
    ErasePerson {
        person_id: PersonId,
    },
    /// Ends the open `grant_history` interval of this grant.
    CloseGrantInterval {
        system_id: SystemId,
        account_id: AccountId,
        entitlement_id: EntitlementId,
        close: Close,
    },
    /// Ends an SoD mitigation before its expiry.
    RevokeMitigation {
        mitigation_id: String,
        at: Timestamp,
    },
    /// A status, owner or due-date change of an existing finding.
    UpdateFinding {
        finding_id: String,
        update: FindingUpdate,
    },
    /// Ends the open `account_history` interval of this account.
    CloseAccountInterval {
        system_id: SystemId,
        account_id: AccountId,
        close: Close,
    },
    /// A decision, expiry or activation of an existing request.
    UpdateRequest {
        request_id: String,
        update: RequestUpdate,
    },
    /// Ends a time-bound grant.
    EndAccessGrant {
        grant_id: String,
        at: Timestamp,
        end: AccessEnd,
    },
    /// Ends a delegation early.
    RevokeDelegation {
        delegation_id: String,
        at: Timestamp,
    },
    /// Records the after-review of a break-glass use.
    ReviewBreakGlass {
        use_id: String,
        at: Timestamp,
        outcome: crate::request::ReviewOutcome,
        notes: String,
        evidence: Option<String>,
    },
    /// Marks an execution token used.
    UseExecutionToken {
        token_id: String,
        at: Timestamp,
    },
}

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

/// Opens the sealed fields with the keys they name. A field whose key is
/// gone (shredded) opens to `None` and marks the row erased; a field whose
/// key exists but does not open it is an error (tampering).
fn unseal_person(p: &SealedPerson, keys: &dyn KeyRing) -> Result<PersonRow, ProjectionError> {
    let mut erased = false;
    let mut open = |field: &'static str,
                    value: &Option<sealed::Sealed>|
     -> Result<Option<String>, ProjectionError> {
        let Some(s) = value else {
            return Ok(None);
        };
        let Some(key) = keys.person_key(&p.person_id, s.kid) else {
            erased = true;
            return Ok(None);
        };
        sealed::open(&key, &seal_context(&p.person_id, field), s)
            .map(Some)
            .map_err(|source| ProjectionError::Sealed {
                person: p.person_id.clone(),
                field,
                source,
            })
    };
    let name = open("name", &p.name)?;
    let email = open("email", &p.email)?;
    Ok(PersonRow {
        person: Person {
            person_id: p.person_id.clone(),
            name,
            email,
            manager_id: p.manager_id.clone(),
            department: p.department.clone(),
            title: p.title.clone(),
            status: p.status,
            hire_date: p.hire_date,
            termination_date: p.termination_date,
        },
        erased,
    })
}

/// The authenticated context of a sealed person field.
pub fn seal_context(person: &PersonId, field: &str) -> String {
    format!("person:{person}:{field}")
}

/// Seals a person's personal fields for the ledger under their key `kid`.
pub fn seal_person(
    person: &Person,
    kid: KeyId,
    key: &PersonKey,
    mut nonce: impl FnMut() -> [u8; sealed::NONCE_LEN],
) -> Result<SealedPerson, SealError> {
    let mut seal =
        |field: &str, value: &Option<String>| -> Result<Option<sealed::Sealed>, SealError> {
            value
                .as_deref()
                .map(|v| {
                    let context = seal_context(&person.person_id, field);
                    sealed::seal(key, kid, nonce(), &context, v)
                })
                .transpose()
        };
    Ok(SealedPerson {
        person_id: person.person_id.clone(),
        name: seal("name", &person.name)?,
        email: seal("email", &person.email)?,
        manager_id: person.manager_id.clone(),
        department: person.department.clone(),
        title: person.title.clone(),
        status: person.status,
        hire_date: person.hire_date,
        termination_date: person.termination_date,
    })
}

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
    UnknownFinding(String),
    #[error("sod.mitigation.revoked names mitigation '{0}', which was never granted")]
    UnknownMitigation(String),
    #[error("a request event names request '{0}', which was never created")]
    UnknownRequest(String),
    #[error("access.revoked names grant '{0}', which was never granted")]
    UnknownAccessGrant(String),
    #[error("delegation.revoked names delegation '{0}', which was never created")]
    UnknownDelegation(String),
    #[error("breakglass.reviewed names use '{0}', which was never recorded")]
    UnknownBreakGlass(String),
    #[error("action.executed names execution token '{0}', which was never issued")]
    UnknownExecutionToken(String),
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
