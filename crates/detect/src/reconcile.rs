//! From sightings to finding events. A finding is the same finding when
//! its (kind, subject) is seen again: it is reopened with its first sighting,
//! owner and due date kept, never duplicated.

use soxctl_model::event::Event;
use soxctl_model::finding::{
    Detail, FindingOpened, FindingResolved, FindingRow, FindingStatus, Severity, finding_id,
};
use soxctl_model::ids::{FindingId, PersonId};
use soxctl_model::time::{Date, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// A detector's statement that a condition holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub kind: &'static str,
    pub subject: String,
    pub severity: Severity,
    pub summary: String,
    pub detail: Detail,
    /// Who should fix it (the system, entitlement or account owner).
    pub owner_id: Option<PersonId>,
    pub control_ids: Vec<String>,
    /// When the data that shows it was observed (a snapshot's extraction
    /// time); none: now. A new finding is first seen then, so a store fed
    /// a dated history dates its findings by that history.
    pub seen_at: Option<Timestamp>,
}

/// The due date of a finding first seen at `first_seen`.
pub fn due_for(severity: Severity, first_seen: Timestamp) -> Option<Date> {
    let day = first_seen.as_datetime() + chrono::Duration::days(severity.due_days());
    Date::parse(&day.format("%Y-%m-%d").to_string()).ok()
}

/// The events that make the store's findings of `kinds` match `sightings`:
/// open what is seen and not open, resolve what is open and no longer seen.
/// An accepted finding stays accepted while seen, until its acceptance ends.
/// `current` holds the store's findings of those kinds, in any status.
pub fn reconcile(
    kinds: &[&str],
    sightings: Vec<Sighting>,
    current: &[FindingRow],
    now: Timestamp,
) -> Vec<Event> {
    let kinds: BTreeSet<&str> = kinds.iter().copied().collect();
    let current: BTreeMap<&FindingId, &FindingRow> = current
        .iter()
        .filter(|f| kinds.contains(f.kind.as_str()))
        .map(|f| (&f.finding_id, f))
        .collect();
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    let mut sightings = sightings;
    sightings.sort_by(|a, b| (a.kind, &a.subject).cmp(&(b.kind, &b.subject)));
    for s in sightings {
        let id = finding_id(s.kind, &s.subject);
        if !seen.insert(id.clone()) {
            continue;
        }
        let existing = current.get(&id);
        let standing = existing.is_some_and(|f| match f.status {
            FindingStatus::Open => true,
            FindingStatus::Accepted => f.accepted_until.is_none_or(|until| until > now),
            FindingStatus::Resolved => false,
        });
        if standing {
            continue;
        }
        let seen = s.seen_at.map_or(now, |t| t.min(now));
        let first_seen = existing.map_or(seen, |f| f.first_seen);
        let owner_id = existing.and_then(|f| f.owner_id.clone()).or(s.owner_id);
        let due = existing
            .and_then(|f| f.due)
            .or_else(|| due_for(s.severity, first_seen));
        events.push(Event::FindingOpened(FindingOpened {
            finding_id: id,
            kind: s.kind.to_owned(),
            subject: s.subject,
            severity: s.severity,
            control_ids: s.control_ids,
            first_seen,
            owner_id,
            due,
            summary: s.summary,
            detail: s.detail,
        }));
    }
    for (id, f) in current {
        if f.status != FindingStatus::Resolved && !seen.contains(id) {
            events.push(Event::FindingResolved(FindingResolved {
                finding_id: id.clone(),
                reason: "no longer detected".to_owned(),
            }));
        }
    }
    events
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn sighting(subject: &str) -> Sighting {
        Sighting {
            kind: "orphan_account",
            subject: subject.to_owned(),
            severity: Severity::High,
            summary: "orphan".into(),
            detail: Detail::new(),
            owner_id: None,
            control_ids: vec![],
            seen_at: None,
        }
    }

    fn row(subject: &str, status: FindingStatus, first_seen: &str) -> FindingRow {
        FindingRow {
            finding_id: finding_id("orphan_account", subject),
            kind: "orphan_account".into(),
            subject: subject.into(),
            severity: Severity::High,
            control_ids: vec![],
            status,
            first_seen: ts(first_seen),
            opened_at: ts(first_seen),
            resolved_at: None,
            owner_id: Some(PersonId::parse("owner").unwrap()),
            due: Date::parse("2025-01-15").ok(),
            summary: "orphan".into(),
            detail: Detail::new(),
            resolution: None,
            accepted_until: None,
        }
    }

    fn kinds(events: &[Event]) -> Vec<String> {
        events.iter().map(|e| e.kind().unwrap()).collect()
    }

    #[test]
    fn opens_new_keeps_open_and_resolves_vanished() {
        let now = ts("2025-03-01T00:00:00Z");
        let current = [
            row("a", FindingStatus::Open, "2025-01-01T00:00:00Z"),
            row("gone", FindingStatus::Open, "2025-01-01T00:00:00Z"),
        ];
        let events = reconcile(
            &["orphan_account"],
            vec![sighting("a"), sighting("new"), sighting("new")],
            &current,
            now,
        );
        assert_eq!(kinds(&events), ["finding.opened", "finding.resolved"]);
        let Event::FindingOpened(opened) = &events[0] else {
            unreachable!()
        };
        assert_eq!(opened.subject, "new");
        assert_eq!(opened.first_seen, now);
        assert_eq!(opened.due, Date::parse("2025-03-15").ok());
    }

    /// A new finding is first seen when its data was observed (never in
    /// the future), and its due date counts from then.
    #[test]
    fn new_findings_are_first_seen_at_their_observation() {
        let now = ts("2025-03-01T00:00:00Z");
        let dated = |at: &str| Sighting {
            seen_at: Some(ts(at)),
            ..sighting("dated")
        };
        for (observed, first) in [
            ("2025-01-31T18:00:00Z", "2025-01-31T18:00:00Z"),
            ("2025-04-01T00:00:00Z", "2025-03-01T00:00:00Z"),
        ] {
            let events = reconcile(&["orphan_account"], vec![dated(observed)], &[], now);
            let Event::FindingOpened(opened) = &events[0] else {
                unreachable!()
            };
            assert_eq!(opened.first_seen, ts(first));
        }
    }

    #[test]
    fn a_resolved_finding_seen_again_reopens_with_its_history() {
        let now = ts("2025-06-01T00:00:00Z");
        let current = [row("a", FindingStatus::Resolved, "2025-01-01T00:00:00Z")];
        let events = reconcile(&["orphan_account"], vec![sighting("a")], &current, now);
        let Event::FindingOpened(opened) = &events[0] else {
            unreachable!()
        };
        assert_eq!(opened.first_seen, ts("2025-01-01T00:00:00Z"));
        assert_eq!(opened.owner_id.as_ref().unwrap().as_str(), "owner");
        assert_eq!(opened.due, Date::parse("2025-01-15").ok());
    }

    #[test]
    fn accepted_findings_stay_accepted_until_their_acceptance_ends() {
        let mut accepted = row("a", FindingStatus::Accepted, "2025-01-01T00:00:00Z");
        accepted.accepted_until = Some(ts("2025-04-01T00:00:00Z"));
        let before = reconcile(
            &["orphan_account"],
            vec![sighting("a")],
            std::slice::from_ref(&accepted),
            ts("2025-03-01T00:00:00Z"),
        );
        assert!(before.is_empty());
        let after = reconcile(
            &["orphan_account"],
            vec![sighting("a")],
            &[accepted],
            ts("2025-05-01T00:00:00Z"),
        );
        assert_eq!(kinds(&after), ["finding.opened"]);
    }

    #[test]
    fn findings_of_other_kinds_are_left_alone() {
        let mut other = row("a", FindingStatus::Open, "2025-01-01T00:00:00Z");
        other.kind = "sod_violation".into();
        other.finding_id = finding_id("sod_violation", "a");
        let events = reconcile(
            &["orphan_account"],
            vec![],
            &[other],
            ts("2025-03-01T00:00:00Z"),
        );
        assert!(events.is_empty());
    }
}
