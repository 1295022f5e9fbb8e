//! Facts from outside become ledger events. A snapshot (from files, or a
//! directory read by `sync ldap`) is reconciled into a store in one
//! transaction: either every changed fact becomes a ledger event, or
//! nothing changes. A SCIM push ([`scim`]) changes one resource.

mod prepare;
pub mod scim;

pub use prepare::{correlate_accounts, merged_person};
use prepare::{keep_role_entitlements, merge_existing_people, without_self_managers};

use soxctl_connectors::correlate::{AccountAttributes, Correlator, Rules};
use soxctl_connectors::snapshot::{
    ExistingPeople, PersonFields, Snapshot, SnapshotError, validate_complete, validate_references,
};
use soxctl_model::event::{
    AccountFact, Baselined, EntitlementFact, Event, GrantFact, ImportCompleted, Origin, PersonFact,
    RoleEntitlementFact, RoleFact, SystemFact,
};
use soxctl_model::ids::{PersonId, SystemId};
use soxctl_model::inventory::{GrantKey, Inventory, Person, PersonStatus};
use soxctl_model::principal::Principal;
use soxctl_model::reconcile::{Change, ChangeKind, Diff, Fact, reconcile};
use soxctl_store::{Receipt, Store, StoreError, WriteTx};
use std::collections::{BTreeSet, HashSet};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub actor: Principal,
    pub dry_run: bool,
    /// Refuse a snapshot that removes more than this share (percent) of a
    /// system's grants: a truncated export must not wipe access history.
    pub max_removals_percent: u32,
    /// How accounts without a `person_id` are linked to people.
    pub correlation: Rules,
    /// Thresholds of the hygiene detectors re-evaluated after the import.
    pub hygiene: soxctl_detect::hygiene::Policy,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            actor: Principal::system("import"),
            dry_run: false,
            max_removals_percent: 20,
            correlation: Rules::default(),
            hygiene: Default::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("snapshot rejected, nothing was imported: {0}")]
    Snapshot(SnapshotError),
    #[error(
        "snapshot rejected, nothing was imported: it would remove {removed} of the {held} grants of system '{system}' \
         ({percent}%, more than the {limit}% allowed); check that the export is complete, or pass --max-removals {percent} if the removals are real"
    )]
    TooManyRemovals {
        system: SystemId,
        held: usize,
        removed: usize,
        percent: usize,
        limit: u32,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

// Not `#[from]`: that would make the snapshot error the source too, and
// `{:#}` would print its place twice.
impl From<SnapshotError> for ImportError {
    fn from(e: SnapshotError) -> Self {
        Self::Snapshot(e)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub import_id: Option<String>,
    pub diff: Diff,
    /// Ledger events written (0 on a dry run or when nothing changed).
    pub events: u64,
    /// Findings the hygiene detectors opened and resolved after the import.
    pub findings: crate::findings::FindingChanges,
    pub receipt: Option<Receipt>,
    /// Erased people whose name or email the snapshot brings back: the
    /// source still holds them, so the import records them again.
    pub reappeared: Vec<PersonId>,
}

/// What importing `snapshot` into a store that does not exist yet would
/// record: its references checked against nothing (a rejected snapshot must
/// not create a store) and the diff against an empty inventory (a dry run
/// must not create one either).
pub fn plan_for_new_store(
    snapshot: &Snapshot,
    options: &ImportOptions,
) -> Result<Diff, ImportError> {
    let empty = Inventory::default();
    soxctl_connectors::snapshot::validate_references(snapshot, &empty)
        .map_err(ImportError::Snapshot)?;
    let correlated = correlate_accounts(snapshot, &empty, &options.correlation);
    Ok(reconcile(
        &empty,
        &correlated.as_ref().unwrap_or(snapshot).inventory,
        &snapshot.scope,
        &BTreeSet::new(),
    ))
}

pub async fn import(
    store: &Store,
    snapshot: &Snapshot,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    import_reporting(store, snapshot, options, &mut |_| {}).await
}

/// How far an import has come, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The snapshot was compared with the store: this many events to write.
    Planned(u64),
    /// This many of them are written (reported every few thousand).
    Written(u64),
    /// Writing is done; the transaction is committing.
    Committing,
}

/// Imports of at least this many events empty SQLite's write-ahead log
/// after their commit (`Store::settle_wal`): the next import's scans of
/// the store run about 3× faster over an empty log than over the
/// gigabyte a first import of a million grants leaves in it.
const SETTLE_FROM: u64 = 10_000;

/// Events between two `Progress::Written` reports.
pub const PROGRESS_EVERY: u64 = 5_000;

/// [`import`], reporting progress as it goes.
pub async fn import_reporting(
    store: &Store,
    snapshot: &Snapshot,
    options: &ImportOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ImportOutcome, ImportError> {
    let started = std::time::Instant::now();
    let mut tx = store.begin_write().await?;
    let current = tx.inventory().await?;
    let kept = keep_role_entitlements(snapshot, &current);
    let snapshot = kept.as_ref().unwrap_or(snapshot);
    let merged = merge_existing_people(snapshot, &current);
    let snapshot = merged.as_ref().unwrap_or(snapshot);
    let unmanaged = without_self_managers(snapshot);
    let snapshot = unmanaged.as_ref().unwrap_or(snapshot);
    let read_store = started.elapsed();
    let correlated = correlate_accounts(snapshot, &current, &options.correlation);
    let snapshot = correlated.as_ref().unwrap_or(snapshot);
    validate_references(snapshot, &current)?;
    validate_complete(snapshot, &current)?;
    let baselined: BTreeSet<SystemId> = tx.baselined_systems().await?.into_iter().collect();
    let diff = reconcile(&current, &snapshot.inventory, &snapshot.scope, &baselined);
    let reappeared = if options.dry_run {
        Vec::new()
    } else {
        reappearing(&mut tx, &diff).await?
    };
    // Before anything is written: then the store's grants are `current`'s
    // (none at all for a first import).
    let unbaselined_before = if options.dry_run || diff.is_empty() {
        HashSet::new()
    } else {
        tx.unbaselined_grants().await?
    };

    for (system, (held, removed)) in &diff.grant_removals {
        let limit = usize::try_from(options.max_removals_percent).unwrap_or(usize::MAX);
        if *held > 0 && removed * 100 > held * limit {
            return Err(ImportError::TooManyRemovals {
                system: system.clone(),
                held: *held,
                removed: *removed,
                percent: (removed * 100).div_ceil(*held),
                limit: options.max_removals_percent,
            });
        }
    }
    if options.dry_run || diff.is_empty() {
        // No import facts to record, but the import did look: a revoked
        // time-bound grant the source still reports is unconfirmed now.
        let mut findings = crate::findings::FindingChanges::default();
        let mut receipt = None;
        if !options.dry_run
            && crate::findings::revoked_still_held(&mut tx, &current, &snapshot.scope).await?
        {
            let now = store.context().clock.now();
            findings = crate::findings::evaluate_observed(
                &mut tx,
                &current,
                now,
                &options.hygiene,
                &snapshot.scope,
            )
            .await?;
            if findings.opened + findings.resolved + findings.accepted > 0 {
                receipt = Some(tx.commit().await?);
            }
        }
        return Ok(ImportOutcome {
            import_id: None,
            diff,
            events: 0,
            findings,
            reappeared,
            receipt,
        });
    }

    let compared = started.elapsed();
    let import_id = format!("imp_{}", uuid::Uuid::new_v4().simple());
    let extracted_at = snapshot
        .extracted_at
        .unwrap_or_else(|| store.context().clock.now());
    let origin = Origin {
        import_id: Some(import_id.clone()),
        as_of: Some(extracted_at),
    };
    let mut events = 0u64;
    let planned = u64::try_from(diff.changes.len() + diff.new_baselines.len()).unwrap_or(u64::MAX);
    tx.prepare_bulk(planned).await?;
    let sealed: Vec<_> = diff
        .changes
        .iter()
        .filter_map(|c| match &c.fact {
            Fact::Person(p) => Some(p.person_id.clone()),
            _ => None,
        })
        .collect();
    tx.prepare_sealing(&sealed).await?;
    progress(Progress::Planned(planned));
    for change in &diff.changes {
        let event = to_event(&mut tx, change, &origin).await?;
        tx.append(&options.actor, &event).await?;
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress::Written(events));
        }
    }
    for system in &diff.new_baselines {
        let event = Event::SystemBaselined(Baselined {
            system_id: system.clone(),
            import_id: import_id.clone(),
            as_of: extracted_at,
        });
        tx.append(&options.actor, &event).await?;
        events += 1;
    }
    let summary = Event::ImportCompleted(ImportCompleted {
        import_id: import_id.clone(),
        source: snapshot.source.clone(),
        extracted_at,
        systems: snapshot.scope.iter().cloned().collect(),
        events,
    });
    tx.append(&options.actor, &summary).await?;
    events += 1;
    let now = store.context().clock.now();
    let written = started.elapsed();
    let held_in_new_baselines: Vec<GrantKey> = if diff.new_baselines.is_empty() {
        Vec::new()
    } else {
        let new: BTreeSet<&SystemId> = diff.new_baselines.iter().collect();
        current
            .grants
            .keys()
            .filter(|key| new.contains(&key.0))
            .cloned()
            .collect()
    };
    let mut after = current;
    diff.apply_to(&mut after);
    let unbaselined = unbaselined_after(
        unbaselined_before,
        &diff,
        &baselined,
        held_in_new_baselines,
        &after,
    );
    let findings = crate::findings::evaluate_known(
        &mut tx,
        &after,
        &unbaselined,
        now,
        &options.hygiene,
        &snapshot.scope,
    )
    .await?;
    let detected = started.elapsed();
    progress(Progress::Committing);
    let receipt = tx.commit().await?;
    if events >= SETTLE_FROM {
        // The import is committed; a WAL left full only slows reads down.
        match store.settle_wal().await {
            Ok(true) => {}
            Ok(false) => tracing::debug!(
                "write-ahead log left for a later checkpoint: a reader holds an older snapshot"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not empty the write-ahead log after the import")
            }
        }
    }
    tracing::debug!(
        events,
        read_store_ms = read_store.as_millis(),
        compare_ms = (compared - read_store).as_millis(),
        write_ms = (written - compared).as_millis(),
        detectors_ms = (detected - written).as_millis(),
        commit_ms = (started.elapsed() - detected).as_millis(),
        "import phases"
    );
    Ok(ImportOutcome {
        import_id: Some(import_id),
        diff,
        events,
        findings,
        reappeared,
        receipt: Some(receipt),
    })
}

/// The erased people to whom the diff gives a name or an email again.
async fn reappearing(tx: &mut WriteTx, diff: &Diff) -> Result<Vec<PersonId>, ImportError> {
    let named: Vec<PersonId> = diff
        .changes
        .iter()
        .filter_map(|c| match &c.fact {
            Fact::Person(p) if p.name.is_some() || p.email.is_some() => Some(p.person_id.clone()),
            _ => None,
        })
        .collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tx
        .people_by_id(&named)
        .await?
        .into_iter()
        .filter(|row| row.erased)
        .map(|row| row.person.person_id)
        .collect())
}

/// The drift candidates (`hygiene::Facts::unbaselined`) once the diff is
/// recorded, from those before it, without reading every grant's interval
/// back: the store answers the same (`WriteTx::unbaselined_grants`), which
/// a test checks. It follows from the projection of the import's events:
/// `grant.added` opens an interval observed by this import; `grant.removed`
/// closes it; `grant.changed` leaves it; `system.baselined` makes this
/// import the baseline of a system imported for the first time.
fn unbaselined_after(
    mut before: HashSet<GrantKey>,
    diff: &Diff,
    baselined_before: &BTreeSet<SystemId>,
    held_in_new_baselines: Vec<GrantKey>,
    after: &Inventory,
) -> HashSet<GrantKey> {
    for change in &diff.changes {
        let Fact::Grant(g) = &change.fact else {
            continue;
        };
        match change.kind {
            // Observed by this import, which is not the baseline of a
            // system baselined before it (and is the baseline of one
            // baselined now).
            ChangeKind::Added if baselined_before.contains(&g.system_id) => {
                before.insert(g.key());
            }
            ChangeKind::Removed => {
                before.remove(&g.key());
            }
            ChangeKind::Added | ChangeKind::Changed => {}
        }
    }
    // A system baselined by this import: the grants it held before, and
    // still holds, were observed by an earlier import or by none.
    for key in held_in_new_baselines {
        if after.grants.contains_key(&key) {
            before.insert(key);
        }
    }
    before
}

async fn to_event(tx: &mut WriteTx, change: &Change, origin: &Origin) -> Result<Event, StoreError> {
    let origin = origin.clone();
    let changed = change.fields.clone();
    use ChangeKind::{Added, Changed, Removed};
    Ok(match (&change.fact, change.kind) {
        (Fact::Person(p), kind) => {
            let fact = PersonFact {
                origin,
                changed,
                person: tx.seal_person(p).await?,
            };
            match kind {
                Added => Event::PersonAdded(fact),
                // People are never removed by omission; reconcile never asks.
                Changed | Removed => Event::PersonChanged(fact),
            }
        }
        (Fact::System(s), kind) => {
            let fact = SystemFact {
                origin,
                changed,
                system: s.clone(),
            };
            if kind == Added {
                Event::SystemAdded(fact)
            } else {
                Event::SystemChanged(fact)
            }
        }
        (Fact::Entitlement(e), kind) => {
            let fact = EntitlementFact {
                origin,
                changed,
                entitlement: e.clone(),
            };
            match kind {
                Added => Event::EntitlementAdded(fact),
                Changed => Event::EntitlementChanged(fact),
                Removed => Event::EntitlementRemoved(fact),
            }
        }
        (Fact::Account(a), kind) => {
            let fact = AccountFact {
                origin,
                changed,
                account: a.clone(),
            };
            match kind {
                Added => Event::AccountAdded(fact),
                Changed => Event::AccountChanged(fact),
                Removed => Event::AccountRemoved(fact),
            }
        }
        (Fact::Grant(g), kind) => {
            let fact = GrantFact {
                origin,
                changed,
                grant: g.clone(),
            };
            match kind {
                Added => Event::GrantAdded(fact),
                Changed => Event::GrantChanged(fact),
                Removed => Event::GrantRemoved(fact),
            }
        }
        (Fact::Role(r), kind) => {
            let fact = RoleFact {
                origin,
                changed,
                role: r.clone(),
            };
            match kind {
                Added => Event::RoleAdded(fact),
                Changed => Event::RoleChanged(fact),
                Removed => Event::RoleRemoved(fact),
            }
        }
        (Fact::RoleEntitlement(r), kind) => {
            let fact = RoleEntitlementFact {
                origin,
                changed,
                role_entitlement: r.clone(),
            };
            if kind == Removed {
                Event::RoleEntitlementRemoved(fact)
            } else {
                Event::RoleEntitlementAdded(fact)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use soxctl_model::ids::PersonId;
    use soxctl_model::time::Date;

    fn hr() -> Person {
        Person {
            person_id: PersonId::parse("E1").unwrap(),
            name: Some("Ada Byron".into()),
            email: Some("ada@example.com".into()),
            manager_id: Some(PersonId::parse("E9").unwrap()),
            department: Some("Finance".into()),
            title: Some("Controller".into()),
            status: PersonStatus::Active,
            hire_date: Some(Date::parse("2020-01-06").unwrap()),
            termination_date: None,
        }
    }

    #[test]
    fn only_the_authoritative_fields_change() {
        let seen = Person {
            name: Some("Ada King".into()),
            email: None,
            manager_id: None,
            department: Some("FIN".into()),
            title: None,
            hire_date: None,
            ..hr()
        };
        let fields = PersonFields {
            name: true,
            department: true,
            ..Default::default()
        };
        let merged = merged_person(&hr(), &seen, &fields);
        assert_eq!(
            merged,
            Person {
                name: Some("Ada King".into()),
                department: Some("FIN".into()),
                ..hr()
            }
        );
    }

    #[test]
    fn status_moves_only_between_active_and_the_sources_own() {
        let with = |status| Person { status, ..hr() };
        use PersonStatus::{Active, Leave, Terminated};
        let leave = PersonFields {
            status: Some(Leave),
            ..Default::default()
        };
        let cases = [
            // (held, seen, fields, result)
            (Active, Leave, leave, Leave),
            (Leave, Active, leave, Active),
            // HR's termination stands, whatever the directory says.
            (Terminated, Active, leave, Terminated),
            (Terminated, Leave, leave, Terminated),
            (Active, Leave, PersonFields::default(), Active),
        ];
        for (held, seen, fields, expected) in cases {
            let merged = merged_person(&with(held), &with(seen), &fields);
            assert_eq!(merged.status, expected, "{held:?} seen {seen:?}");
        }
        let terminated = PersonFields {
            status: Some(Terminated),
            ..Default::default()
        };
        assert_eq!(
            merged_person(&with(Terminated), &with(Active), &terminated).status,
            Active,
            "a re-enabled user is back"
        );
        assert_eq!(
            merged_person(&with(Leave), &with(Terminated), &terminated).status,
            Leave,
            "a leave is HR's"
        );
    }
}
