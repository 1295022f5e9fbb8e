//! Reads written once. Each line below becomes a method of [`Store`] (on a
//! pooled connection) and of [`WriteTx`] (inside the transaction, seeing
//! its own writes): the two can never disagree on what a read returns.

use crate::error::Result;
use crate::requests::{IdentityCandidate, RequestFilter, TokensOf};
use crate::scim::{GrantsOf, ScimDocument};
use crate::{Store, WriteTx};
use soxctl_model::document::{DocumentKind, DocumentRow};
use soxctl_model::finding::FindingRow;
use soxctl_model::ids::{FindingId, PersonId, RequestId, SystemId, TokenId};
use soxctl_model::inventory::{Entitlement, Grant, Inventory, System};
use soxctl_model::mitigation::MitigationRow;
use soxctl_model::projection::{PersonRow, TokenRow};
use soxctl_model::request::{
    AccessGrantRow, BreakGlassRow, DecisionRow, DelegationRow, DeploymentRow, ExecutionTokenRow,
    RequestRow,
};
use soxctl_model::time::Timestamp;

/// `$(doc)* fn name(args) -> T = module::function;` reads with
/// `m::module::function(conn, args)` on both backends, for the pool and
/// for a transaction.
macro_rules! reads {
    ($($(#[doc = $doc:literal])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $module:ident::$function:ident;)+) => {
        impl Store {
            $(
                $(#[doc = $doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                    with_conn!(self, |conn, m| m::$module::$function(conn $(, $arg)*).await)
                }
            )+
        }

        impl WriteTx {
            $(
                $(#[doc = $doc])*
                pub async fn $name(&mut self $(, $arg: $ty)*) -> Result<$ret> {
                    each!(self, WriteTx, |tx, m| m::$module::$function(tx.conn().await? $(, $arg)*).await)
                }
            )+
        }
    };
}

reads! {
    /// The `people` row of `id`.
    fn person(id: &PersonId) -> Option<PersonRow> = rows::person;
    /// People whose id, name or email matches `pattern` (a lowercase LIKE
    /// pattern, escape `\\`; none: everyone), by id, at most `limit`.
    fn people_matching(pattern: Option<&str>, limit: u64) -> Vec<PersonRow> = rows::people_matching;
    /// The rows of these people (those that exist), by id.
    fn people_by_id(ids: &[PersonId]) -> Vec<PersonRow> = rows::people_by_id;
    /// Every system, by id.
    fn systems() -> Vec<System> = rows::systems;
    /// Every entitlement, by system and id.
    fn entitlements() -> Vec<Entitlement> = rows::entitlements;
    /// The whole inventory as the state tables hold it (reads in a
    /// transaction see its own appends).
    fn inventory() -> Inventory = rows::inventory;
    /// The answer remembered for `(principal, key)`, if any. In a write
    /// transaction it is read under the writer lock: every transaction that
    /// could have stored one has committed or rolled back, so a miss there
    /// is final for that transaction.
    fn idempotent_response(principal: &soxctl_model::principal::Principal, key: &str) -> Option<crate::idempotency::StoredResponse> = idempotency::lookup;
    /// Every API token, revoked or not.
    fn tokens() -> Vec<TokenRow> = rows::tokens;
    /// The `tokens` row of `id`.
    fn token(id: &TokenId) -> Option<TokenRow> = rows::token;
    /// The people whose accounts in `system` are called `account_id`
    /// (without case): who a CI platform's login names.
    fn account_owners(system: &SystemId, account_id: &str) -> Vec<PersonId> = rows::account_owners;
    /// People whose email, person id or account id may be the identity
    /// sought: `pattern` a lowercase LIKE pattern (escape `\\`) over emails
    /// and account ids, `exact` a person id or (without case) account id.
    /// The caller folds each candidate and keeps the exact matches.
    fn identity_candidates(pattern: Option<&str>, exact: Option<&str>) -> Vec<IdentityCandidate> = rows::identity_candidates;
    /// The version in force of a document kind.
    fn latest_document(kind: DocumentKind) -> Option<DocumentRow> = documents::latest;
    /// The finding `id`, in any status.
    fn finding(id: &FindingId) -> Option<FindingRow> = findings::one;
    /// Every mitigation, in force or not.
    fn mitigations() -> Vec<MitigationRow> = mitigations::all;
    /// The request `id`.
    fn request(id: &RequestId) -> Option<RequestRow> = requests::one;
    /// Requests matching `filter`.
    fn requests(filter: &RequestFilter) -> Vec<RequestRow> = requests::requests;
    /// Decisions, of one request or all.
    fn decisions(request_id: Option<&RequestId>) -> Vec<DecisionRow> = requests::decisions;
    /// Time-bound grants, of one request or all; with `open_due_before`,
    /// those still open that end before it.
    fn access_grants(request_id: Option<&RequestId>, open_due_before: Option<Timestamp>) -> Vec<AccessGrantRow> = requests::access_grants;
    /// Every delegation.
    fn delegations() -> Vec<DelegationRow> = requests::delegations;
    /// Execution tokens of approved actions.
    fn execution_tokens(of: TokensOf<'_>) -> Vec<ExecutionTokenRow> = requests::execution_tokens;
    /// Every break-glass use.
    fn breakglass_uses() -> Vec<BreakGlassRow> = requests::breakglass_uses;
    /// Deployments, of one environment or all.
    fn deployments(env: Option<&str>) -> Vec<DeploymentRow> = requests::deployments;
    /// A SCIM resource's stored document.
    fn scim_document(system: &SystemId, resource_type: &str, id: &str) -> Option<ScimDocument> = scim::document_by_id;
    /// The grants a SCIM push holds in `system`.
    fn scim_grants(system: &SystemId, of: GrantsOf<'_>) -> Vec<Grant> = scim::grants;
}

impl WriteTx {
    /// Whether the person `id` is in the inventory.
    pub async fn person_exists(&mut self, id: &PersonId) -> Result<bool> {
        Ok(self.person(id).await?.is_some())
    }
}
