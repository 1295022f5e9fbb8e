//! The state tables: applying projected row changes ([`writer`], through
//! the statements of [`codec`] for the tables of [`table`]), and reading rows
//! back ([`inventory`], [`tokens`], and every row for `verify`'s comparison).

use super::{BACKEND, Conn, Db};
use crate::error::{Result, StoreError, row_error};
use crate::requests::{IdentityCandidate, IdentityKeyKind};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId, TokenId};
use soxctl_model::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use soxctl_model::projection::{
    BaselineRow, ImportRow, PersonRow, Row, RowChange, RowKey, StoreRow, TokenRow,
};
use soxctl_model::time::{Date, Timestamp};
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

mod codec;
mod inventory;
mod table;
mod tokens;
mod writer;

pub use codec::placeholders;
use codec::*;
pub use inventory::*;
pub(super) use inventory::{opt, parse, person_id};
use table::*;
pub(super) use table::{Query, seq_param};
pub use tokens::*;
pub use writer::{Flush, Pending, ROW_BATCH, Runs};

pub(super) fn ts(t: &Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

fn date(d: &Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn pid(v: &Option<PersonId>) -> Option<&str> {
    v.as_ref().map(PersonId::as_str)
}

pub async fn store_meta(conn: &mut Conn) -> Result<Option<StoreRow>> {
    let row: Option<(String, String, bool, String)> = sqlx::query_as(
        "SELECT store_id, origin, demo, initialised_at FROM store_meta WHERE id = 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(store_id, origin, demo, at)| {
        Ok(StoreRow {
            initialised_at: parse("store_meta", "1", Timestamp::parse(&at))?,
            store_id,
            origin,
            demo,
        })
    })
    .transpose()
}

/// Every state row, keyed as the projection keys them.
pub async fn all_rows(conn: &mut Conn) -> Result<BTreeMap<RowKey, Row>> {
    let mut rows = Vec::new();
    rows.extend(store_meta(conn).await?.map(Row::Store));
    rows.extend(people(conn).await?.into_iter().map(Row::Person));
    rows.extend(systems(conn).await?.into_iter().map(Row::System));
    rows.extend(baselines(conn).await?.into_iter().map(Row::Baseline));
    rows.extend(entitlements(conn).await?.into_iter().map(Row::Entitlement));
    rows.extend(accounts(conn).await?.into_iter().map(Row::Account));
    rows.extend(grants(conn).await?.into_iter().map(Row::Grant));
    rows.extend(roles(conn).await?.into_iter().map(Row::Role));
    rows.extend(
        role_entitlements(conn)
            .await?
            .into_iter()
            .map(Row::RoleEntitlement),
    );
    rows.extend(imports(conn).await?.into_iter().map(Row::Import));
    rows.extend(tokens(conn).await?.into_iter().map(Row::Token));
    rows.extend(
        super::history::grant_intervals(conn)
            .await?
            .into_iter()
            .map(Row::GrantInterval),
    );
    rows.extend(
        super::mitigations::all(conn)
            .await?
            .into_iter()
            .map(Row::Mitigation),
    );
    rows.extend(
        super::documents::all(conn)
            .await?
            .into_iter()
            .map(Row::Document),
    );
    rows.extend(
        super::findings::all(conn)
            .await?
            .into_iter()
            .map(Row::Finding),
    );
    rows.extend(
        super::history::account_intervals(conn)
            .await?
            .into_iter()
            .map(Row::AccountInterval),
    );
    let all = crate::requests::RequestFilter::default();
    rows.extend(
        super::requests::requests(conn, &all)
            .await?
            .into_iter()
            .map(|r| Row::Request(Box::new(r))),
    );
    rows.extend(
        super::requests::decisions(conn, None)
            .await?
            .into_iter()
            .map(Row::Decision),
    );
    rows.extend(
        super::requests::access_grants(conn, None, None)
            .await?
            .into_iter()
            .map(Row::AccessGrant),
    );
    rows.extend(
        super::requests::delegations(conn)
            .await?
            .into_iter()
            .map(Row::Delegation),
    );
    rows.extend(
        super::requests::execution_tokens(conn, crate::requests::TokensOf::All)
            .await?
            .into_iter()
            .map(Row::ExecutionToken),
    );
    rows.extend(
        super::requests::deployments(conn, None)
            .await?
            .into_iter()
            .map(Row::Deployment),
    );
    rows.extend(
        super::requests::breakglass_uses(conn)
            .await?
            .into_iter()
            .map(Row::BreakGlass),
    );
    Ok(rows.into_iter().map(|r| (r.key(), r)).collect())
}

/// The inventory part of the state, as reconciliation compares it.
pub async fn inventory(conn: &mut Conn) -> Result<Inventory> {
    let mut inv = Inventory::default();
    for p in people(conn).await? {
        inv.people.insert(p.person.person_id.clone(), p.person);
    }
    for s in systems(conn).await? {
        inv.systems.insert(s.system_id.clone(), s);
    }
    for e in entitlements(conn).await? {
        inv.entitlements.insert(e.key(), e);
    }
    for a in accounts(conn).await? {
        inv.accounts.insert(a.key(), a);
    }
    for g in grants(conn).await? {
        inv.grants.insert(g.key(), g);
    }
    for r in roles(conn).await? {
        inv.roles.insert(r.role_id.clone(), r);
    }
    for r in role_entitlements(conn).await? {
        inv.role_entitlements.insert(r.key(), r);
    }
    Ok(inv)
}
