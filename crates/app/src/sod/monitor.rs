//! Continuous SoD: an in-memory engine that follows the ledger by `seq`.
//! Each grant or account change re-checks only the identity it touches; a
//! new violation opens a `sod_violation` finding (accepted at once when a
//! mitigation covers it) and queues an outbox notification; a vanished one
//! resolves its finding. A new rule set, or a mitigation granted or revoked,
//! rebuilds the engine and reconciles every SoD finding.
//!
//! The same engine answers what-if questions (`POST /api/v1/sod/simulate`)
//! in microseconds.

use crate::findings::{accepted, sod_events};
use soxctl_detect::sod::{SOD_VIOLATION, dataset_now, subject};
use soxctl_model::document::DocumentKind;
use soxctl_model::event::Event;
use soxctl_model::finding::{FindingOpened, FindingResolved, FindingStatus, finding_id};
use soxctl_model::ids::FindingId;
use soxctl_model::inventory::AccountStatus;
use soxctl_model::principal::Principal;
use soxctl_sod::{Addition, Change, Engine, RuleSet, Violation};
use soxctl_store::{Store, StoreError};
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// Entries read per round trip while catching up.
const PAGE: u64 = 2_000;

/// The outbox topic of a new violation.
pub const VIOLATION_OPENED: &str = crate::findings::SOD_VIOLATION_OPENED;

struct Following {
    engine: Engine,
    rules_version: u64,
    /// The next ledger entry to read.
    next: u64,
}

/// What one catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUp {
    pub entries: u64,
    pub opened: u64,
    pub resolved: u64,
    pub rebuilt: bool,
}

#[derive(Default)]
pub struct SodMonitor {
    following: Mutex<Option<Following>>,
}

fn monitor() -> Principal {
    Principal::system("sod")
}

fn sod_error(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{context}: {e}"))
}

fn kind(k: soxctl_model::inventory::AccountKind) -> soxctl_sod::AccountKind {
    match k {
        soxctl_model::inventory::AccountKind::Human => soxctl_sod::AccountKind::Human,
        soxctl_model::inventory::AccountKind::Service => soxctl_sod::AccountKind::Service,
        soxctl_model::inventory::AccountKind::Shared => soxctl_sod::AccountKind::Shared,
    }
}

/// What a ledger event means to the engine.
enum Step {
    Apply(Change),
    /// Rules or mitigations changed: rebuild and reconcile everything.
    Rebuild,
    Nothing,
}

fn step(event: &Event) -> Step {
    use soxctl_sod::Interval;
    match event {
        Event::GrantAdded(f) => Step::Apply(Change::GrantAdded {
            system: f.grant.system_id.to_string(),
            account: f.grant.account_id.to_string(),
            entitlement: f.grant.entitlement_id.to_string(),
            interval: Interval::ALWAYS,
        }),
        Event::GrantRemoved(f) => Step::Apply(Change::GrantRemoved {
            system: f.grant.system_id.to_string(),
            account: f.grant.account_id.to_string(),
            entitlement: f.grant.entitlement_id.to_string(),
            interval: Interval::ALWAYS,
        }),
        Event::AccountAdded(f) | Event::AccountChanged(f) => Step::Apply(Change::AccountUpserted {
            system: f.account.system_id.to_string(),
            account: f.account.account_id.to_string(),
            person: f.account.person_id.as_ref().map(|p| p.to_string()),
            kind: kind(f.account.kind),
            active: f.account.status == AccountStatus::Active,
        }),
        Event::AccountRemoved(f) => Step::Apply(Change::AccountRemoved {
            system: f.account.system_id.to_string(),
            account: f.account.account_id.to_string(),
        }),
        Event::EntitlementAdded(f) => Step::Apply(Change::EntitlementAdded {
            system: f.entitlement.system_id.to_string(),
            entitlement: f.entitlement.entitlement_id.to_string(),
        }),
        Event::DocumentLoaded(d) if d.kind == DocumentKind::Rules => Step::Rebuild,
        // Time-bound grants are rare next to imports; a rebuild counts them
        // from the store, in force or not, without a windowed engine.
        Event::MitigationGranted(_)
        | Event::MitigationRevoked(_)
        | Event::AccessGranted(_)
        | Event::AccessRevoked(_) => Step::Rebuild,
        _ => Step::Nothing,
    }
}

impl SodMonitor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the entries appended since the last call and records the
    /// findings their changes open and resolve.
    pub async fn catch_up(&self, store: &Store) -> Result<CatchUp, StoreError> {
        let mut following = self.following.lock().await;
        let Some(doc) = store.latest_document(DocumentKind::Rules).await? else {
            *following = None;
            return Ok(CatchUp::default());
        };
        let stale = following
            .as_ref()
            .is_none_or(|f| f.rules_version != doc.version);
        if stale {
            *following = Some(rebuild(store, &doc.content, doc.version).await?);
            return Ok(CatchUp {
                rebuilt: true,
                ..CatchUp::default()
            });
        }
        let Some(f) = following.as_mut() else {
            return Ok(CatchUp::default());
        };
        let head = store.head().await?.size;
        let mut report = CatchUp::default();
        // Per (risk, identity): the latest news, opened (with evidence) or not.
        let mut news: BTreeMap<(String, String), Option<Violation>> = BTreeMap::new();
        while f.next < head {
            let page = store.entries(f.next, PAGE.min(head - f.next)).await?;
            if page.is_empty() {
                break;
            }
            for (seq, _, bytes) in page {
                f.next = seq + 1;
                report.entries += 1;
                let entry = soxctl_ledger::entry::Entry::parse(&bytes)
                    .map_err(|e| sod_error(&format!("ledger entry {seq}"), e))?;
                let event = Event::from_parts(&entry.kind, &entry.payload)?;
                match step(&event) {
                    Step::Nothing => {}
                    Step::Rebuild => {
                        drop(news);
                        *following = Some(rebuild(store, &doc.content, doc.version).await?);
                        report.rebuilt = true;
                        return Ok(report);
                    }
                    Step::Apply(change) => match f.engine.apply(change) {
                        Ok(delta) => {
                            for v in delta.opened {
                                news.insert((v.risk_id.clone(), v.identity.clone()), Some(v));
                            }
                            for r in delta.resolved {
                                news.insert((r.risk_id, r.identity), None);
                            }
                        }
                        // The engine and the ledger disagree: start again
                        // from the store, which is the truth.
                        Err(e) => {
                            tracing::warn!(error = %e, seq, "SoD engine out of step; rebuilding");
                            *following = Some(rebuild(store, &doc.content, doc.version).await?);
                            report.rebuilt = true;
                            return Ok(report);
                        }
                    },
                }
            }
        }
        if news.is_empty() {
            return Ok(report);
        }
        let (opened, resolved) = record(store, news).await?;
        report.opened = opened;
        report.resolved = resolved;
        Ok(report)
    }

    /// The violations `additions` would create for `identity`, from the
    /// engine in memory (built first if need be).
    pub async fn simulate(
        &self,
        store: &Store,
        identity: &str,
        additions: &[Addition],
    ) -> Result<Result<Vec<Violation>, soxctl_sod::ChangeError>, StoreError> {
        self.catch_up(store).await?;
        let following = self.following.lock().await;
        let Some(f) = following.as_ref() else {
            return Err(StoreError::NotFound(
                "no SoD rule set is in force; record one with `soxctl rules load FILE`".into(),
            ));
        };
        Ok(f.engine.simulate(identity, additions))
    }
}

/// A fresh engine over the store's facts, and every SoD finding reconciled
/// with it in one transaction (which also pins the facts: the write lock
/// keeps them from moving while they are read).
async fn rebuild(store: &Store, rules_text: &str, version: u64) -> Result<Following, StoreError> {
    let rules = RuleSet::parse(rules_text)
        .map_err(|e| sod_error(&format!("the rule set in force (version {version})"), e))?;
    let mut tx = store.begin_write().await?;
    let next = tx.size();
    let mut inventory = tx.inventory().await?;
    let now = store.context().clock.now();
    let events = sod_events(&mut tx, &inventory, now).await?;
    let time_bound = tx.access_grants(None, None).await?;
    soxctl_detect::sod::overlay_time_bound(&mut inventory, &time_bound, now);
    let dataset = dataset_now(&inventory).map_err(|e| sod_error("SoD facts", e))?;
    let (engine, _) = Engine::new(&rules, dataset);
    if !events.is_empty() {
        crate::findings::record(&mut tx, &monitor(), &events).await?;
        tx.commit().await?;
        tracing::info!(
            events = events.len(),
            "SoD findings reconciled with the rule set in force"
        );
    }
    Ok(Following {
        engine,
        rules_version: version,
        next,
    })
}

/// Finding events for the news, judged against the findings and the
/// mitigations as they are now.
async fn record(
    store: &Store,
    news: BTreeMap<(String, String), Option<Violation>>,
) -> Result<(u64, u64), StoreError> {
    let mut tx = store.begin_write().await?;
    let now = store.context().clock.now();
    let current: BTreeMap<FindingId, _> = tx
        .findings_of_kinds(&[SOD_VIOLATION])
        .await?
        .into_iter()
        .map(|f| (f.finding_id.clone(), f))
        .collect();
    let covered: BTreeMap<FindingId, _> = tx
        .mitigations()
        .await?
        .into_iter()
        .filter(|m| m.active_at(now))
        .map(|m| {
            (
                finding_id(SOD_VIOLATION, &subject(&m.risk_id, &m.identity)),
                m,
            )
        })
        .collect();
    let inventory_people = tx.inventory().await?.people;
    let actor = monitor();
    let (mut opened, mut resolved) = (0, 0);
    for ((risk, identity), violation) in news {
        let id = finding_id(SOD_VIOLATION, &subject(&risk, &identity));
        let existing = current.get(&id);
        let standing = existing.is_some_and(|f| f.status != FindingStatus::Resolved);
        match violation {
            Some(v) if !standing => {
                let manager = soxctl_model::ids::PersonId::parse(identity.as_str())
                    .ok()
                    .and_then(|p| inventory_people.get(&p))
                    .and_then(|p| p.manager_id.clone());
                let Some(sighting) =
                    soxctl_detect::sod::sightings(std::slice::from_ref(&v), |_| manager.clone())
                        .pop()
                else {
                    continue;
                };
                let first_seen = existing.map_or(now, |f| f.first_seen);
                let finding = FindingOpened {
                    finding_id: id.clone(),
                    kind: SOD_VIOLATION.to_owned(),
                    subject: sighting.subject,
                    severity: sighting.severity,
                    control_ids: sighting.control_ids,
                    first_seen,
                    owner_id: existing
                        .and_then(|f| f.owner_id.clone())
                        .or(sighting.owner_id),
                    due: existing
                        .and_then(|f| f.due)
                        .or_else(|| soxctl_detect::due_for(sighting.severity, first_seen)),
                    summary: sighting.summary,
                    detail: sighting.detail,
                };
                tx.append(&actor, &Event::FindingOpened(finding.clone()))
                    .await?;
                let line = serde_json::to_value(soxctl_sod::ViolationLine::from(&v))
                    .map_err(|e| sod_error("the violation line", e))?;
                crate::findings::alert_violation(&mut tx, &finding, Some(line)).await?;
                opened += 1;
                if let Some(m) = covered.get(&id) {
                    tx.append(&actor, &accepted(&id, m)).await?;
                }
            }
            None if standing => {
                tx.append(
                    &actor,
                    &Event::FindingResolved(FindingResolved {
                        finding_id: id,
                        reason: "no longer detected".to_owned(),
                    }),
                )
                .await?;
                resolved += 1;
            }
            _ => {}
        }
    }
    if opened + resolved > 0 {
        tx.commit().await?;
    }
    Ok((opened, resolved))
}
