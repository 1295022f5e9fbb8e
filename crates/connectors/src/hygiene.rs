//! Re-evaluates the hygiene detectors inside a write transaction and
//! records what changed as finding events: after every import or sync, and
//! daily from the server's job runner (dormancy and credential age change
//! with time alone).

use soxctl_detect::hygiene::{self, Facts, Policy};
use soxctl_model::event::Event;
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;
use soxctl_store::{StoreError, WriteTx};

/// Finding events a re-evaluation recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FindingChanges {
    pub opened: u64,
    pub resolved: u64,
}

/// The actor of findings opened and resolved by detectors.
pub fn detector() -> Principal {
    Principal::system("hygiene")
}

pub async fn evaluate(
    tx: &mut WriteTx,
    now: Timestamp,
    policy: &Policy,
) -> Result<FindingChanges, StoreError> {
    let inventory = tx.inventory().await?;
    let grant_imports = tx.grant_imports().await?;
    let baselines = tx.baseline_imports().await?;
    let current = tx.findings_of_kinds(hygiene::KINDS).await?;
    let facts = Facts {
        inventory: &inventory,
        grant_imports: &grant_imports,
        baselines: &baselines,
        now,
    };
    let sightings = hygiene::detect(&facts, policy);
    let events = soxctl_detect::reconcile(hygiene::KINDS, sightings, &current, now);
    let mut changes = FindingChanges::default();
    let actor = detector();
    for event in &events {
        match event {
            Event::FindingOpened(_) => changes.opened += 1,
            Event::FindingResolved(_) => changes.resolved += 1,
            _ => {}
        }
        tx.append(&actor, event).await?;
    }
    Ok(changes)
}
