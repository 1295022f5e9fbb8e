//! Findings (DESIGN A7) as the store holds them: listings for `soxctl
//! findings` and the API, and what detectors read inside a write
//! transaction to turn sightings into events.

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::finding::{FindingRow, FindingStatus, Severity};
use soxctl_model::ids::SystemId;
use soxctl_model::inventory::GrantKey;
use std::collections::{BTreeMap, HashMap};

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

    /// The import that first observed each grant now held, where one did.
    pub async fn grant_imports(&mut self) -> Result<HashMap<GrantKey, String>> {
        each!(self, WriteTx, |tx, m| m::findings::grant_imports(
            tx.conn().await?
        )
        .await)
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
