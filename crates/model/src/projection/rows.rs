//! The state rows, their keys, and the changes the projection makes to them.

#![allow(unused_imports)]
use super::*;

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
    Finding(FindingId),
    Document(DocumentKind, u64),
    Mitigation(String),
    Request(RequestId),
    Decision(RequestId, PersonId),
    AccessGrant(AccessGrantId),
    Delegation(DelegationId),
    ExecutionToken(ExecutionTokenId),
    Deployment(String),
    BreakGlass(RequestId),
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
        finding_id: FindingId,
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
        request_id: RequestId,
        update: RequestUpdate,
    },
    /// Ends a time-bound grant.
    EndAccessGrant {
        grant_id: AccessGrantId,
        at: Timestamp,
        end: AccessEnd,
    },
    /// Ends a delegation early.
    RevokeDelegation {
        delegation_id: DelegationId,
        at: Timestamp,
    },
    /// Records the after-review of a break-glass use.
    ReviewBreakGlass {
        use_id: RequestId,
        at: Timestamp,
        outcome: crate::request::ReviewOutcome,
        notes: String,
        evidence: Option<String>,
    },
    /// Marks an execution token used.
    UseExecutionToken {
        token_id: ExecutionTokenId,
        at: Timestamp,
    },
}
