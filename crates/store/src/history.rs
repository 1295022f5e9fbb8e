//! Point-in-time questions over the temporal history (`grant_history`,
//! `account_history`), answered with the coverage that makes "nobody" and
//! "unknown" different answers.

use crate::Store;
use crate::error::{Result, StoreError};
use soxctl_model::history::{AccessChange, Coverage, Holding};
use soxctl_model::ids::{EntitlementRef, PersonId, SystemId};
use soxctl_model::projection::{AccountIntervalRow, GrantIntervalRow};
use soxctl_model::time::Timestamp;
use std::collections::BTreeMap;

/// Who held an entitlement at an instant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WhoHas {
    pub entitlement: EntitlementRef,
    /// None: now.
    pub at: Option<Timestamp>,
    pub coverage: Coverage,
    pub holdings: Vec<Holding>,
}

/// What a person could do at an instant, and the systems that cannot say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessOf {
    pub person_id: PersonId,
    pub at: Option<Timestamp>,
    pub holdings: Vec<Holding>,
    /// Systems with no history at that instant: their part is unknown.
    pub unknown_systems: Vec<SystemId>,
}

fn coverage_now(first: Option<Timestamp>) -> Coverage {
    match first {
        Some(since) => Coverage::Known { since },
        None => Coverage::Unknown { since: None },
    }
}

impl Store {
    pub async fn who_has(
        &self,
        entitlement: &EntitlementRef,
        at: Option<Timestamp>,
    ) -> Result<WhoHas> {
        let system = &entitlement.system;
        let (first, holdings) = each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            let first = m::history::first_imports(&mut conn).await?;
            let known = m::rows::systems(&mut conn)
                .await?
                .iter()
                .any(|s| &s.system_id == system);
            if !known && !first.contains_key(system) {
                return Err(StoreError::NotFound(format!(
                    "no system '{system}' in the store; check the reference (system_id:entitlement_id)"
                )));
            }
            let holdings =
                m::history::holders(&mut conn, system, &entitlement.entitlement, at).await?;
            Ok::<_, StoreError>((first.get(system).copied(), holdings))
        })?;
        let coverage = match at {
            Some(at) => Coverage::at(first, at),
            None => coverage_now(first),
        };
        Ok(WhoHas {
            entitlement: entitlement.clone(),
            at,
            coverage,
            holdings,
        })
    }

    pub async fn access_of(&self, person: &PersonId, at: Option<Timestamp>) -> Result<AccessOf> {
        let (first, systems, holdings, exists) = each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            let first = m::history::first_imports(&mut conn).await?;
            let systems: Vec<SystemId> = m::rows::systems(&mut conn)
                .await?
                .into_iter()
                .map(|s| s.system_id)
                .collect();
            let exists = m::rows::person(&mut conn, person).await?.is_some();
            let holdings = m::history::access_of(&mut conn, person, at).await?;
            Ok::<_, StoreError>((first, systems, holdings, exists))
        })?;
        if !exists && holdings.is_empty() {
            return Err(StoreError::NotFound(format!(
                "no person '{person}' in the store; `soxctl people NAME` finds a person by name or email"
            )));
        }
        Ok(AccessOf {
            person_id: person.clone(),
            at,
            holdings,
            unknown_systems: unknown_systems(&first, systems, at),
        })
    }

    /// Every account version and grant interval overlapping [from, to].
    pub async fn intervals(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<AccountIntervalRow>, Vec<GrantIntervalRow>)> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::history::overlapping(&mut conn, from, to).await
        })
    }

    /// When each system's history starts (its first import).
    pub async fn first_imports(&self) -> Result<BTreeMap<SystemId, Timestamp>> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::history::first_imports(&mut conn).await
        })
    }

    pub async fn history_of(
        &self,
        person: &PersonId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AccessChange>> {
        if to < from {
            return Err(StoreError::Invalid(format!(
                "the window ends ({to}) before it starts ({from}); give --from earlier than --to"
            )));
        }
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::history::changes_of(&mut conn, person, from, to).await
        })
    }
}

fn unknown_systems(
    first: &BTreeMap<SystemId, Timestamp>,
    systems: Vec<SystemId>,
    at: Option<Timestamp>,
) -> Vec<SystemId> {
    systems
        .into_iter()
        .filter(|s| {
            let first = first.get(s).copied();
            match at {
                Some(at) => !Coverage::at(first, at).is_known(),
                None => first.is_none(),
            }
        })
        .collect()
}
