//! The state tables and their columns, key columns first.

#![allow(unused_imports)]
use super::*;

/// A state table and its columns, key columns first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    Store,
    People,
    Systems,
    Baselines,
    Entitlements,
    Accounts,
    Grants,
    Roles,
    RoleEntitlements,
    Imports,
    Tokens,
    GrantHistory,
    AccountHistory,
    Findings,
    Documents,
    Mitigations,
    Requests,
    Decisions,
    AccessGrants,
    Delegations,
    ExecutionTokens,
    Deployments,
    BreakGlass,
}

impl Table {
    pub(super) fn of_row(row: &Row) -> Self {
        match row {
            Row::Store(_) => Self::Store,
            Row::Person(_) => Self::People,
            Row::System(_) => Self::Systems,
            Row::Baseline(_) => Self::Baselines,
            Row::Entitlement(_) => Self::Entitlements,
            Row::Account(_) => Self::Accounts,
            Row::Grant(_) => Self::Grants,
            Row::Role(_) => Self::Roles,
            Row::RoleEntitlement(_) => Self::RoleEntitlements,
            Row::Import(_) => Self::Imports,
            Row::Token(_) => Self::Tokens,
            Row::GrantInterval(_) => Self::GrantHistory,
            Row::AccountInterval(_) => Self::AccountHistory,
            Row::Finding(_) => Self::Findings,
            Row::Document(_) => Self::Documents,
            Row::Mitigation(_) => Self::Mitigations,
            Row::Request(_) => Self::Requests,
            Row::Decision(_) => Self::Decisions,
            Row::AccessGrant(_) => Self::AccessGrants,
            Row::Delegation(_) => Self::Delegations,
            Row::ExecutionToken(_) => Self::ExecutionTokens,
            Row::Deployment(_) => Self::Deployments,
            Row::BreakGlass(_) => Self::BreakGlass,
        }
    }

    pub(super) fn of_key(key: &RowKey) -> Self {
        match key {
            RowKey::Store => Self::Store,
            RowKey::Person(_) => Self::People,
            RowKey::System(_) => Self::Systems,
            RowKey::Baseline(_) => Self::Baselines,
            RowKey::Entitlement(..) => Self::Entitlements,
            RowKey::Account(..) => Self::Accounts,
            RowKey::Grant(..) => Self::Grants,
            RowKey::Role(_) => Self::Roles,
            RowKey::RoleEntitlement(..) => Self::RoleEntitlements,
            RowKey::Import(_) => Self::Imports,
            RowKey::Token(_) => Self::Tokens,
            RowKey::GrantInterval(..) => Self::GrantHistory,
            RowKey::AccountInterval(..) => Self::AccountHistory,
            RowKey::Finding(_) => Self::Findings,
            RowKey::Document(..) => Self::Documents,
            RowKey::Mitigation(_) => Self::Mitigations,
            RowKey::Request(_) => Self::Requests,
            RowKey::Decision(..) => Self::Decisions,
            RowKey::AccessGrant(_) => Self::AccessGrants,
            RowKey::Delegation(_) => Self::Delegations,
            RowKey::ExecutionToken(_) => Self::ExecutionTokens,
            RowKey::Deployment(_) => Self::Deployments,
            RowKey::BreakGlass(_) => Self::BreakGlass,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Store => "store_meta",
            Self::People => "people",
            Self::Systems => "systems",
            Self::Baselines => "baselines",
            Self::Entitlements => "entitlements",
            Self::Accounts => "accounts",
            Self::Grants => "grants",
            Self::Roles => "roles",
            Self::RoleEntitlements => "role_entitlements",
            Self::Imports => "imports",
            Self::Tokens => "tokens",
            Self::GrantHistory => "grant_history",
            Self::AccountHistory => "account_history",
            Self::Findings => "findings",
            Self::Documents => "documents",
            Self::Mitigations => "sod_mitigations",
            Self::Requests => "requests",
            Self::Decisions => "request_decisions",
            Self::AccessGrants => "access_grants",
            Self::Delegations => "delegations",
            Self::ExecutionTokens => "execution_tokens",
            Self::Deployments => "deployments",
            Self::BreakGlass => "breakglass_uses",
        }
    }

    /// The columns, in the order `bind_row` binds them; the first
    /// `key_len` are the primary key.
    pub(super) fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Store => &["id", "store_id", "origin", "demo", "initialised_at"],
            Self::People => &[
                "person_id",
                "name",
                "email",
                "manager_id",
                "department",
                "title",
                "status",
                "hire_date",
                "termination_date",
                "erased",
            ],
            Self::Systems => &["system_id", "name", "kind", "owner_id", "sox_in_scope"],
            Self::Baselines => &["system_id", "import_id", "as_of", "certified"],
            Self::Entitlements => &[
                "system_id",
                "entitlement_id",
                "name",
                "privileged",
                "owner_id",
                "description",
            ],
            Self::Accounts => &[
                "system_id",
                "account_id",
                "person_id",
                "kind",
                "status",
                "last_login",
                "mfa",
                "owner_id",
                "credential_rotated_at",
            ],
            Self::Grants => &[
                "system_id",
                "account_id",
                "entitlement_id",
                "granted_at",
                "source",
            ],
            Self::Roles => &["role_id", "name", "owner_id"],
            Self::RoleEntitlements => &["role_id", "system_id", "entitlement_id"],
            Self::Imports => &[
                "import_id",
                "source",
                "extracted_at",
                "systems",
                "events",
                "completed_at",
                "actor",
            ],
            Self::Tokens => &[
                "token_id",
                "secret_sha256",
                "scopes",
                "system_id",
                "person_id",
                "expires_at",
                "description",
                "created_at",
                "created_by",
                "revoked_at",
                "repo",
                "environments",
            ],
            Self::GrantHistory => &GRANT_HISTORY_COLUMNS,
            Self::AccountHistory => &ACCOUNT_HISTORY_COLUMNS,
            Self::Findings => &super::super::findings::COLUMNS,
            Self::Documents => &super::super::documents::COLUMNS,
            Self::Mitigations => &super::super::mitigations::COLUMNS,
            Self::Requests => &super::super::requests::REQUEST_COLUMNS,
            Self::Decisions => &super::super::requests::DECISION_COLUMNS,
            Self::AccessGrants => &super::super::requests::GRANT_COLUMNS,
            Self::Delegations => &super::super::requests::DELEGATION_COLUMNS,
            Self::ExecutionTokens => &super::super::requests::TOKEN_COLUMNS,
            Self::Deployments => &super::super::requests::DEPLOYMENT_COLUMNS,
            Self::BreakGlass => &super::super::requests::BREAKGLASS_COLUMNS,
        }
    }

    pub(super) fn key_len(self) -> usize {
        match self {
            Self::Entitlements | Self::Accounts => 2,
            Self::Grants | Self::RoleEntitlements | Self::AccountHistory => 3,
            Self::Documents | Self::Decisions => 2,
            Self::GrantHistory => 4,
            _ => 1,
        }
    }
}

pub(super) const GRANT_HISTORY_COLUMNS: [&str; 11] = [
    "system_id",
    "account_id",
    "entitlement_id",
    "opened_seq",
    "valid_from",
    "valid_to",
    "closed_seq",
    "source",
    "opened_by",
    "closed_by",
    "import_id",
];

pub(super) const ACCOUNT_HISTORY_COLUMNS: [&str; 11] = [
    "system_id",
    "account_id",
    "opened_seq",
    "valid_from",
    "valid_to",
    "closed_seq",
    "person_id",
    "kind",
    "status",
    "opened_by",
    "closed_by",
];

pub(crate) fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;
