//! Re-evaluates the detectors (access hygiene, and segregation of duties
//! under the rule set in force) inside a write transaction and records what
//! changed as finding events: after every import or sync, and from the
//! server's job runner (after other changes, and daily: dormancy, credential
//! age and mitigations expire with time alone).

pub mod triage;

use soxctl_detect::hygiene::{self, Facts, Policy};
use soxctl_model::event::Event;
use soxctl_model::ids::FindingId;
use soxctl_model::inventory::GrantKey;
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;
use soxctl_store::{StoreError, WriteTx};
use std::collections::HashSet;

/// Finding events a re-evaluation recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingChanges {
    pub opened: u64,
    pub resolved: u64,
    /// Findings accepted because a mitigation covers them.
    pub accepted: u64,
}

/// The findings `filter` selects, with their owners' names: the one
/// listing behind `soxctl findings` and `GET /api/v1/findings`.
pub async fn listed(
    store: &soxctl_store::Store,
    filter: &soxctl_store::findings::Filter,
) -> Result<Vec<soxctl_api::findings::FindingView>, StoreError> {
    let findings = store.findings(filter).await?;
    let names =
        crate::inventory::names(store, findings.iter().filter_map(|f| f.owner_id.clone())).await?;
    Ok(findings
        .iter()
        .map(|f| soxctl_api::findings::FindingView::of(f, &names))
        .collect())
}

/// The actor of findings opened and resolved by detectors.
pub fn detector() -> Principal {
    Principal::system("detectors")
}

pub async fn evaluate(
    tx: &mut WriteTx,
    now: Timestamp,
    policy: &Policy,
) -> Result<FindingChanges, StoreError> {
    let inventory = tx.inventory().await?;
    evaluate_on(tx, &inventory, now, policy).await
}

/// [`evaluate`] with the inventory the caller already holds (an import
/// knows it: the store's before, with its diff applied).
pub async fn evaluate_on(
    tx: &mut WriteTx,
    inventory: &soxctl_model::inventory::Inventory,
    now: Timestamp,
    policy: &Policy,
) -> Result<FindingChanges, StoreError> {
    let unbaselined = tx.unbaselined_grants().await?;
    evaluate_known(
        tx,
        inventory,
        &unbaselined,
        now,
        policy,
        &Default::default(),
    )
    .await
}

/// [`evaluate_on`] for an import that has just observed `observed`'s
/// state (so a revoked grant it still reports is unconfirmed now).
pub async fn evaluate_observed(
    tx: &mut WriteTx,
    inventory: &soxctl_model::inventory::Inventory,
    now: Timestamp,
    policy: &Policy,
    observed: &std::collections::BTreeSet<soxctl_model::ids::SystemId>,
) -> Result<FindingChanges, StoreError> {
    let unbaselined = tx.unbaselined_grants().await?;
    evaluate_known(tx, inventory, &unbaselined, now, policy, observed).await
}

/// [`evaluate_observed`] with the drift candidates the caller already knows
/// (`hygiene::Facts::unbaselined`; an import derives them from its diff).
pub async fn evaluate_known(
    tx: &mut WriteTx,
    inventory: &soxctl_model::inventory::Inventory,
    unbaselined: &HashSet<GrantKey>,
    now: Timestamp,
    policy: &Policy,
    observed: &std::collections::BTreeSet<soxctl_model::ids::SystemId>,
) -> Result<FindingChanges, StoreError> {
    let started = std::time::Instant::now();
    let baselines = tx.baseline_imports().await?;
    let current = tx.findings_of_kinds(hygiene::KINDS).await?;
    let time_bound = tx.access_grants(None, None).await?;
    let last_imports = tx.last_imports().await?;
    let observed_at = tx.observed_at().await?;
    let read = started.elapsed();
    let facts = Facts {
        inventory,
        unbaselined,
        baselines: &baselines,
        time_bound: &time_bound,
        last_imports: &last_imports,
        observed,
        observed_at: &observed_at,
        now,
    };
    let sightings = hygiene::detect(&facts, policy);
    let mut events = soxctl_detect::reconcile(hygiene::KINDS, sightings, &current, now);
    let hygiene_done = started.elapsed();
    events.extend(sod_events(tx, inventory, now).await?);
    let sod_done = started.elapsed();
    let changes = record(tx, &detector(), &events).await?;
    tracing::debug!(
        read_ms = read.as_millis(),
        hygiene_ms = (hygiene_done - read).as_millis(),
        sod_ms = (sod_done - hygiene_done).as_millis(),
        record_ms = (started.elapsed() - sod_done).as_millis(),
        events = events.len(),
        "detector phases"
    );
    Ok(changes)
}

/// Appends finding events and counts them. A newly opened SoD violation is
/// alerted through the outbox whoever finds it (an import, a rules load, a
/// mitigation change, the serve monitor): the same topic for all.
pub async fn record(
    tx: &mut WriteTx,
    actor: &Principal,
    events: &[Event],
) -> Result<FindingChanges, StoreError> {
    let mut changes = FindingChanges::default();
    for event in events {
        match event {
            Event::FindingOpened(_) => changes.opened += 1,
            Event::FindingResolved(_) => changes.resolved += 1,
            Event::FindingAccepted(_) => changes.accepted += 1,
            _ => {}
        }
        tx.append(actor, event).await?;
        if let Event::FindingOpened(f) = event
            && f.kind == soxctl_detect::sod::SOD_VIOLATION
        {
            alert_violation(tx, f, None).await?;
        }
    }
    Ok(changes)
}

/// Alerts a newly opened SoD violation through the outbox, in one payload
/// shape whoever found it; the serve monitor adds the violation line it
/// holds (`violation`).
pub async fn alert_violation(
    tx: &mut WriteTx,
    f: &soxctl_model::finding::FindingOpened,
    violation: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    let mut payload = serde_json::json!({
        "finding_id": f.finding_id,
        "risk_id": f.detail.get("risk_id"),
        "identity": f.detail.get("identity"),
        "subject": f.subject,
        "severity": f.severity,
        "summary": f.summary,
        "detail": f.detail,
    });
    if let (Some(v), Some(map)) = (violation, payload.as_object_mut()) {
        map.insert("violation".to_owned(), v);
    }
    tx.enqueue(SOD_VIOLATION_OPENED, &payload).await?;
    Ok(())
}

/// The outbox topic of a newly opened SoD violation.
pub const SOD_VIOLATION_OPENED: &str = "sod.violation.opened";

/// True when a time-bound grant has ended that `inventory` still holds in
/// one of `systems`: an unchanged import must still look at it.
pub async fn revoked_still_held(
    tx: &mut WriteTx,
    inventory: &soxctl_model::inventory::Inventory,
    systems: &std::collections::BTreeSet<soxctl_model::ids::SystemId>,
) -> Result<bool, StoreError> {
    Ok(tx.access_grants(None, None).await?.iter().any(|t| {
        t.ended_at.is_some()
            && systems.contains(&t.system_id)
            && inventory.grants.contains_key(&(
                t.system_id.clone(),
                t.account_id.clone(),
                t.entitlement_id.clone(),
            ))
    }))
}

/// SoD findings under the rule set in force (none loaded: none): open for
/// new violations, resolved for vanished ones, accepted while a mitigation
/// covers them, reopened when it expires or is revoked.
pub async fn sod_events(
    tx: &mut WriteTx,
    inventory: &soxctl_model::inventory::Inventory,
    now: Timestamp,
) -> Result<Vec<Event>, StoreError> {
    use soxctl_detect::sod::{SOD_VIOLATION, dataset_now, sightings, subject};
    use soxctl_model::finding::{FindingOpened, FindingStatus, finding_id};
    let Some(doc) = tx
        .latest_document(soxctl_model::document::DocumentKind::Rules)
        .await?
    else {
        return Ok(Vec::new());
    };
    let rules = soxctl_sod::RuleSet::parse(&doc.content).map_err(|e| {
        StoreError::Invalid(format!(
            "the rule set in force (version {}) does not parse: {e}",
            doc.version
        ))
    })?;
    let time_bound: Vec<_> = tx
        .access_grants(None, None)
        .await?
        .into_iter()
        .filter(|g| g.active_at(now))
        .collect();
    let overlaid;
    let inventory = if time_bound.is_empty() {
        inventory
    } else {
        let mut with = inventory.clone();
        soxctl_detect::sod::overlay_time_bound(&mut with, &time_bound, now);
        overlaid = with;
        &overlaid
    };
    let dataset =
        dataset_now(inventory).map_err(|e| StoreError::Invalid(format!("SoD facts: {e}")))?;
    let (compiled, _) = soxctl_sod::Compiled::compile(&rules, dataset.catalogue());
    let violations = soxctl_sod::analyze(&compiled, &dataset, soxctl_sod::When::Now)
        .map_err(|e| StoreError::Invalid(format!("SoD analysis: {e}")))?;
    let managers = |identity: &str| {
        soxctl_model::ids::PersonId::parse(identity)
            .ok()
            .and_then(|p| inventory.people.get(&p))
            .and_then(|p| p.manager_id.clone())
    };
    let current = tx.findings_of_kinds(&[SOD_VIOLATION]).await?;
    let observed_at = tx.observed_at().await?;
    let mut seen = sightings(&violations, managers);
    for (sighting, violation) in seen.iter_mut().zip(&violations) {
        sighting.seen_at = observed_when(violation, &observed_at);
    }
    let by_id: std::collections::BTreeMap<FindingId, &soxctl_detect::Sighting> = seen
        .iter()
        .map(|s| (finding_id(s.kind, &s.subject), s))
        .collect();
    let mut events = soxctl_detect::reconcile(&[SOD_VIOLATION], seen.clone(), &current, now);
    let touched: std::collections::BTreeSet<FindingId> = events
        .iter()
        .filter_map(|e| match e {
            Event::FindingOpened(f) => Some(f.finding_id.clone()),
            Event::FindingResolved(f) => Some(f.finding_id.clone()),
            _ => None,
        })
        .collect();
    let covered: std::collections::BTreeMap<FindingId, soxctl_model::mitigation::MitigationRow> =
        tx.mitigations()
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
    for f in &current {
        let Some(sighting) = by_id.get(&f.finding_id) else {
            continue;
        };
        let mitigation = covered.get(&f.finding_id);
        match (f.status, mitigation) {
            // Opened (or reopened) just now, or open and still seen: an
            // active mitigation makes it accepted.
            (FindingStatus::Open, Some(m)) if !touched.contains(&f.finding_id) => {
                events.push(accepted(&f.finding_id, m));
            }
            // Accepted under a mitigation that was revoked: open again.
            (FindingStatus::Accepted, None) if !touched.contains(&f.finding_id) => {
                events.push(Event::FindingOpened(FindingOpened {
                    finding_id: f.finding_id.clone(),
                    kind: f.kind.clone(),
                    subject: f.subject.clone(),
                    severity: sighting.severity,
                    control_ids: sighting.control_ids.clone(),
                    first_seen: f.first_seen,
                    owner_id: f.owner_id.clone(),
                    due: f.due,
                    summary: sighting.summary.clone(),
                    detail: sighting.detail.clone(),
                }));
            }
            _ => {}
        }
    }
    for e in events.clone() {
        if let Event::FindingOpened(f) = e
            && let Some(m) = covered.get(&f.finding_id)
        {
            events.push(accepted(&f.finding_id, m));
        }
    }
    Ok(events)
}

/// When the grants behind a violation were observed: the latest extraction
/// among their systems; none (now) when one of them was never imported.
fn observed_when(
    violation: &soxctl_sod::Violation,
    observed_at: &std::collections::BTreeMap<soxctl_model::ids::SystemId, Timestamp>,
) -> Option<Timestamp> {
    let mut latest = None;
    for held in violation.functions.iter().flat_map(|f| &f.held_by) {
        let system = held.entitlement.split_once(':').map_or("", |(s, _)| s);
        let at = soxctl_model::ids::SystemId::parse(system)
            .ok()
            .and_then(|s| observed_at.get(&s).copied())?;
        latest = latest.max(Some(at));
    }
    latest
}

pub fn accepted(finding_id: &FindingId, m: &soxctl_model::mitigation::MitigationRow) -> Event {
    Event::FindingAccepted(soxctl_model::finding::FindingAccepted {
        finding_id: finding_id.clone(),
        reason: format!(
            "mitigated by {} ({}), approved by {}: {}",
            m.control, m.mitigation_id, m.approver_id, m.reason
        ),
        until: Some(m.expires_at),
    })
}
