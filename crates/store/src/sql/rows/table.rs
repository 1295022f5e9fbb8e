//! The state tables and their columns, key columns first.

#![allow(unused_imports)]
use super::*;

/// Declares the state tables once, a row each: the table, the projection's
/// row and key variants it holds, its SQL name, its columns (in the order
/// `bind_row` binds them) and how many of the first columns are its primary
/// key. The `Table` enum and its lookups are generated from the rows.
macro_rules! tables {
    ($($table:ident: $row:ident / $key:ident = $name:literal, $columns:expr, key $key_len:literal;)+) => {
        /// A state table and its columns, key columns first.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Table {
            $($table,)+
        }

        impl Table {
            pub(super) fn of_row(row: &Row) -> Self {
                match row {
                    $(Row::$row(..) => Self::$table,)+
                }
            }

            pub(super) fn of_key(key: &RowKey) -> Self {
                match key {
                    $(RowKey::$key { .. } => Self::$table,)+
                }
            }

            pub(super) fn name(self) -> &'static str {
                match self {
                    $(Self::$table => $name,)+
                }
            }

            /// The columns, in the order `bind_row` binds them; the first
            /// `key_len` are the primary key.
            pub(super) fn columns(self) -> &'static [&'static str] {
                match self {
                    $(Self::$table => $columns,)+
                }
            }

            pub(super) fn key_len(self) -> usize {
                match self {
                    $(Self::$table => $key_len,)+
                }
            }
        }
    };
}

use super::super::{documents, findings, mitigations, requests};

tables! {
    Store: Store / Store = "store_meta",
        &["id", "store_id", "origin", "demo", "initialised_at"], key 1;
    People: Person / Person = "people",
        &["person_id", "name", "email", "manager_id", "department", "title", "status",
          "hire_date", "termination_date", "erased"], key 1;
    Systems: System / System = "systems",
        &["system_id", "name", "kind", "owner_id", "sox_in_scope"], key 1;
    Baselines: Baseline / Baseline = "baselines",
        &["system_id", "import_id", "as_of", "certified"], key 1;
    Entitlements: Entitlement / Entitlement = "entitlements",
        &["system_id", "entitlement_id", "name", "privileged", "owner_id", "description"], key 2;
    Accounts: Account / Account = "accounts",
        &["system_id", "account_id", "person_id", "kind", "status", "last_login", "mfa",
          "owner_id", "credential_rotated_at"], key 2;
    Grants: Grant / Grant = "grants",
        &["system_id", "account_id", "entitlement_id", "granted_at", "source"], key 3;
    Roles: Role / Role = "roles", &["role_id", "name", "owner_id"], key 1;
    RoleEntitlements: RoleEntitlement / RoleEntitlement = "role_entitlements",
        &["role_id", "system_id", "entitlement_id"], key 3;
    Imports: Import / Import = "imports",
        &["import_id", "source", "extracted_at", "systems", "events", "completed_at", "actor"], key 1;
    Tokens: Token / Token = "tokens",
        &["token_id", "secret_sha256", "scopes", "system_id", "person_id", "expires_at",
          "description", "created_at", "created_by", "revoked_at", "repo", "environments"], key 1;
    GrantHistory: GrantInterval / GrantInterval = "grant_history", &GRANT_HISTORY_COLUMNS, key 4;
    AccountHistory: AccountInterval / AccountInterval = "account_history", &ACCOUNT_HISTORY_COLUMNS, key 3;
    Findings: Finding / Finding = "findings", &findings::COLUMNS, key 1;
    Documents: Document / Document = "documents", &documents::COLUMNS, key 2;
    Mitigations: Mitigation / Mitigation = "sod_mitigations", &mitigations::COLUMNS, key 1;
    Requests: Request / Request = "requests", &requests::REQUEST_COLUMNS, key 1;
    Decisions: Decision / Decision = "request_decisions", &requests::DECISION_COLUMNS, key 2;
    AccessGrants: AccessGrant / AccessGrant = "access_grants", &requests::GRANT_COLUMNS, key 1;
    Delegations: Delegation / Delegation = "delegations", &requests::DELEGATION_COLUMNS, key 1;
    ExecutionTokens: ExecutionToken / ExecutionToken = "execution_tokens", &requests::TOKEN_COLUMNS, key 1;
    Deployments: Deployment / Deployment = "deployments", &requests::DEPLOYMENT_COLUMNS, key 1;
    BreakGlass: BreakGlass / BreakGlass = "breakglass_uses", &requests::BREAKGLASS_COLUMNS, key 1;
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
