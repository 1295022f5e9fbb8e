//! Findings (DESIGN A7) as the store holds them: listings for `soxctl
//! findings` and the API, and what detectors read inside a write
//! transaction to turn sightings into events.

use crate::error::Result;
use crate::{Store, WriteTx};
use soxctl_model::finding::{FindingRow, FindingStatus, Severity};
use soxctl_model::ids::{FindingId, SystemId};
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

/// The longest a risk acceptance may run before it must be renewed.
pub const MAX_ACCEPT_DAYS: i64 = 366;

impl WriteTx {
    async fn finding(&mut self, id: &FindingId) -> Result<FindingRow> {
        let all = each!(self, WriteTx, |tx, m| m::findings::list(
            tx.conn().await?,
            &Filter::default()
        )
        .await)?;
        all.into_iter()
            .find(|f| &f.finding_id == id)
            .ok_or_else(|| {
                crate::StoreError::NotFound(format!(
                    "no finding '{id}'; `soxctl findings --status all` lists them"
                ))
            })
    }

    /// Accepts an open finding's risk, with a reason, until a time (at most a
    /// year): it counts as open again afterwards.
    pub async fn accept_finding(
        &mut self,
        actor: &soxctl_model::principal::Principal,
        id: &FindingId,
        reason: &str,
        until: soxctl_model::time::Timestamp,
        now: soxctl_model::time::Timestamp,
    ) -> Result<u64> {
        let invalid = |m: String| crate::StoreError::Invalid(m);
        let finding = self.finding(id).await?;
        if finding.status != FindingStatus::Open {
            return Err(invalid(format!(
                "finding '{id}' is {}, not open: only an open finding can be accepted",
                finding.status.as_str()
            )));
        }
        if reason.trim().is_empty() {
            return Err(invalid("say why the risk is accepted (--reason)".into()));
        }
        if until <= now
            || until.as_datetime() > now.as_datetime() + chrono::Duration::days(MAX_ACCEPT_DAYS)
        {
            return Err(invalid(format!(
                "an acceptance ends in the future and within {MAX_ACCEPT_DAYS} days (--until)"
            )));
        }
        self.append(
            actor,
            &soxctl_model::event::Event::FindingAccepted(soxctl_model::finding::FindingAccepted {
                finding_id: id.clone(),
                reason: reason.to_owned(),
                until: Some(until),
            }),
        )
        .await
    }

    /// Gives a finding a new owner and/or due date.
    pub async fn assign_finding(
        &mut self,
        actor: &soxctl_model::principal::Principal,
        id: &FindingId,
        owner_id: Option<soxctl_model::ids::PersonId>,
        due: Option<soxctl_model::time::Date>,
    ) -> Result<u64> {
        let finding = self.finding(id).await?;
        if let Some(owner) = &owner_id
            && !self.inventory().await?.people.contains_key(owner)
        {
            return Err(crate::StoreError::Invalid(format!(
                "the owner '{owner}' is not a person in the store"
            )));
        }
        self.append(
            actor,
            &soxctl_model::event::Event::FindingAssigned(soxctl_model::finding::FindingAssigned {
                finding_id: finding.finding_id,
                owner_id: owner_id.or(finding.owner_id),
                due: due.or(finding.due),
            }),
        )
        .await
    }
}
