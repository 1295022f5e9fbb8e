//! Findings (DESIGN A7) as the store holds them: listings for `soxctl
//! findings` and the API, and what detectors read inside a write
//! transaction to turn sightings into events.

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::finding::{FindingRow, FindingStatus, Severity};
use soxctl_model::ids::SystemId;
use soxctl_model::inventory::GrantKey;
use std::collections::{BTreeMap, HashSet};

/// A listing's filter; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub status: Option<FindingStatus>,
    /// This severity or worse.
    pub min_severity: Option<Severity>,
    /// Subjects starting with this (`account:erp:`, `grant:`, …).
    pub subject_prefix: Option<String>,
}

impl Store {
    pub async fn findings(&self, filter: &Filter) -> Result<Vec<FindingRow>> {
        each!(self, Store, |inner, m| {
            let mut conn = inner.pool.acquire().await?;
            m::findings::list(&mut conn, filter).await
        })
    }
}

impl WriteTx {
    /// The store's findings of these kinds, in any status.
    pub async fn findings_of_kinds(&mut self, kinds: &[&str]) -> Result<Vec<FindingRow>> {
        each!(self, WriteTx, |tx, m| m::findings::of_kinds(
            tx.conn().await?,
            kinds
        )
        .await)
    }

    /// The grants of baselined systems their baseline import did not
    /// observe: the drift detector's candidates.
    pub async fn unbaselined_grants(&mut self) -> Result<HashSet<GrantKey>> {
        each!(self, WriteTx, |tx, m| m::findings::unbaselined_grants(
            tx.conn().await?
        )
        .await)
    }

    /// When each system's last import (or LDAP sync) completed.
    pub async fn last_imports(
        &mut self,
    ) -> Result<BTreeMap<SystemId, soxctl_model::time::Timestamp>> {
        each!(self, WriteTx, |tx, m| {
            let imports = m::rows::imports(tx.conn().await?).await?;
            let mut last = BTreeMap::new();
            for import in imports {
                for system in import.systems.split(',').filter(|s| !s.is_empty()) {
                    if let Ok(id) = SystemId::parse(system) {
                        let at = last.entry(id).or_insert(import.completed_at);
                        if *at < import.completed_at {
                            *at = import.completed_at;
                        }
                    }
                }
            }
            Ok(last)
        })
    }

    /// When each system's state was last observed: the extraction time of
    /// the latest import that covered it (a snapshot's `extracted_at`).
    pub async fn observed_at(
        &mut self,
    ) -> Result<BTreeMap<SystemId, soxctl_model::time::Timestamp>> {
        each!(self, WriteTx, |tx, m| {
            let imports = m::rows::imports(tx.conn().await?).await?;
            let mut observed = BTreeMap::new();
            for import in imports {
                for system in import.systems.split(',').filter(|s| !s.is_empty()) {
                    if let Ok(id) = SystemId::parse(system) {
                        let at = observed.entry(id).or_insert(import.extracted_at);
                        *at = (*at).max(import.extracted_at);
                    }
                }
            }
            Ok(observed)
        })
    }

    /// Each baselined system's baseline import.
    pub async fn baseline_imports(&mut self) -> Result<BTreeMap<SystemId, String>> {
        each!(self, WriteTx, |tx, m| {
            let baselines = m::rows::baselines(tx.conn().await?).await?;
            Ok(baselines
                .into_iter()
                .map(|b| (b.system_id, b.import_id))
                .collect())
        })
    }
}
