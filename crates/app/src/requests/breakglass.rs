//! Break-glass: emergency access without prior approval, for the people
//! the policies name, with a mandatory reason and a short maximum. It is
//! granted at once, alerted at once, and stays an open finding until the
//! owner reviews it; a use judged inappropriate opens a finding of its own.

use crate::error::{Result, WorkflowError, conflict, invalid, refused, text};
use crate::requests::context::Context;
use crate::requests::decide::after;
use crate::requests::{facts, notify};
use soxctl_detect::due_for;
use soxctl_model::event::Event;
use soxctl_model::finding::{FindingOpened, FindingResolved, FindingStatus, Severity, finding_id};
use soxctl_model::ids::{AccessGrantId, EntitlementRef, PersonId, RequestId};
use soxctl_model::inventory::PersonStatus;
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    AccessGranted, AccessItem, BreakGlassReviewed, BreakGlassRow, BreakGlassUsed, ReviewOutcome,
};
use soxctl_store::WriteTx;

pub const UNREVIEWED: &str = "breakglass_unreviewed";
pub const MISUSE: &str = "breakglass_misuse";
/// Unreviewed uses a person may hold: past it, the owner reviews before the
/// glass breaks again, so emergency access cannot become standing access
/// by chaining uses.
pub const MAX_UNREVIEWED: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    /// `system_id:entitlement_id` references.
    pub entitlements: Vec<String>,
    /// Default: the break-glass maximum.
    pub duration_secs: Option<u64>,
    pub reason: String,
    /// A session recording or activity-log reference.
    pub evidence: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Used {
    pub use_id: RequestId,
    pub reviewer_id: PersonId,
    pub grant_ids: Vec<AccessGrantId>,
    pub ends_at: soxctl_model::time::Timestamp,
}

pub async fn break_glass(
    tx: &mut WriteTx,
    actor: &Principal,
    person_id: &PersonId,
    input: Emergency,
) -> Result<Used> {
    text("reason", &input.reason, true)?;
    if let Some(e) = &input.evidence {
        text("evidence reference", e, false)?;
    }
    let ctx = Context::load(tx).await?;
    let Some(settings) = ctx.policy.break_glass().cloned() else {
        return Err(refused(
            "break-glass is not enabled: the policies in force have no [break_glass] table naming who may use it",
        ));
    };
    let max = settings.max_duration_secs;
    if !settings.people.iter().any(|p| p == person_id.as_str()) {
        return Err(refused(format!(
            "{person_id} is not on the break-glass list of the policies in force; ask for access instead \
             (`soxctl request create`)"
        )));
    }
    let person = facts::person(&ctx, person_id, "person breaking the glass")?;
    if person.status != PersonStatus::Active {
        return Err(refused(format!("{person_id} is not active")));
    }
    let earlier: Vec<BreakGlassRow> = tx
        .breakglass_uses()
        .await?
        .into_iter()
        .filter(|b| &b.person_id == person_id && b.reviewed_at.is_none())
        .collect();
    let in_force: std::collections::HashSet<RequestId> = tx
        .access_grants(None, None)
        .await?
        .into_iter()
        .filter(|g| g.active_at(ctx.now))
        .map(|g| g.request_id)
        .collect();
    if let Some(b) = earlier.iter().find(|b| in_force.contains(&b.use_id)) {
        return Err(conflict(format!(
            "{person_id}'s break-glass use {} is in force until {}: it is not extended or stacked; when it \
             ends, break the glass again if the emergency goes on",
            b.use_id, b.ends_at
        )));
    }
    if earlier.len() >= MAX_UNREVIEWED {
        return Err(refused(format!(
            "{person_id} has {} break-glass uses awaiting review ({}); they are reviewed \
             (`soxctl breakglass review`) before another",
            earlier.len(),
            earlier
                .iter()
                .map(|b| b.use_id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let duration = input.duration_secs.unwrap_or(max);
    if duration == 0 || duration > max {
        return Err(refused(format!(
            "break-glass access lasts at most {}; ask for less",
            notify::duration_text(max)
        )));
    }
    if input.entitlements.is_empty() || input.entitlements.len() > 20 {
        return Err(invalid(
            "name 1 to 20 entitlements (system_id:entitlement_id)",
        ));
    }
    let mut items = Vec::new();
    for reference in &input.entitlements {
        let r = EntitlementRef::parse(reference).map_err(|_| {
            invalid(format!(
                "'{reference}' is not an entitlement reference: write system_id:entitlement_id"
            ))
        })?;
        if !ctx
            .inventory
            .entitlements
            .contains_key(&(r.system.clone(), r.entitlement.clone()))
        {
            return Err(invalid(format!(
                "no entitlement '{reference}' in the store"
            )));
        }
        let account_id = crate::requests::create::account_of(&ctx, person_id, &r.system)?;
        items.push(AccessItem {
            system_id: r.system,
            account_id,
            entitlement_id: r.entitlement,
        });
    }
    items.sort();
    items.dedup();
    let reviewer_id = reviewers(&ctx.inventory, person_id, &items)
        .into_iter()
        .next()
        .ok_or_else(|| {
            refused(format!(
                "nobody can review this use: the entitlements' and systems' owners and {person_id}'s manager \
                 are missing, have left, or are {person_id}; set an owner first"
            ))
        })?;
    let now = ctx.now;
    let ends_at = after(now, duration);
    let use_id = RequestId::mint_breakglass(uuid::Uuid::new_v4().as_u128());
    tx.append(
        actor,
        &Event::BreakGlassUsed(BreakGlassUsed {
            use_id: use_id.clone(),
            person_id: person_id.clone(),
            items: items.clone(),
            reason: input.reason.clone(),
            evidence: input.evidence.clone(),
            starts_at: now,
            ends_at,
            reviewer_id: reviewer_id.clone(),
        }),
    )
    .await?;
    let mut grant_ids = Vec::new();
    for item in &items {
        let grant_id = AccessGrantId::mint(uuid::Uuid::new_v4().as_u128());
        tx.append(
            actor,
            &Event::AccessGranted(AccessGranted {
                grant_id: grant_id.clone(),
                request_id: use_id.clone(),
                emergency: true,
                person_id: person_id.clone(),
                item: item.clone(),
                starts_at: now,
                ends_at,
            }),
        )
        .await?;
        grant_ids.push(grant_id);
    }
    let subject = format!("breakglass:{use_id}");
    let what: Vec<String> = items
        .iter()
        .map(|i| format!("{}:{}", i.system_id, i.entitlement_id))
        .collect();
    tx.append(
        &Principal::system("breakglass"),
        &Event::FindingOpened(FindingOpened {
            finding_id: finding_id(UNREVIEWED, &subject),
            kind: UNREVIEWED.to_owned(),
            subject,
            severity: Severity::High,
            control_ids: Vec::new(),
            first_seen: now,
            owner_id: Some(reviewer_id.clone()),
            due: due_for(Severity::High, now),
            summary: format!(
                "Break-glass use by {person_id} ({}) awaits review by {reviewer_id}",
                what.join(", ")
            ),
            detail: [
                ("use_id".to_owned(), use_id.to_string()),
                ("reason".to_owned(), input.reason.clone()),
                ("ends_at".to_owned(), ends_at.to_string()),
            ]
            .into_iter()
            .collect(),
        }),
    )
    .await?;
    let mut recipients = vec![reviewer_id.clone()];
    recipients.extend(person.manager_id.clone());
    notify::send(
        tx,
        notify::Notice {
            topic: "breakglass.used",
            subject: format!("BREAK-GLASS: {person_id} took {}", what.join(", ")),
            text: format!(
                "{person_id} used emergency access to {} until {ends_at}.\nReason: {}\nReview it: \
                 `soxctl breakglass review {use_id}` ({reviewer_id}).",
                what.join(", "),
                input.reason
            ),
            request_id: &use_id,
            recipients,
            severity: Some("critical"),
            facts: serde_json::json!({ "use_id": use_id, "person_id": person_id }),
        },
    )
    .await?;
    Ok(Used {
        use_id,
        reviewer_id,
        grant_ids,
        ends_at,
    })
}

/// Who may review a use of `items` by `person`, in order: the
/// entitlements' owners, their systems' owners, the person's manager; never
/// the person, nobody who has left.
fn reviewers(
    inventory: &soxctl_model::inventory::Inventory,
    person: &PersonId,
    items: &[AccessItem],
) -> Vec<PersonId> {
    let mut found = Vec::new();
    for item in items {
        found.extend(
            inventory
                .entitlements
                .get(&(item.system_id.clone(), item.entitlement_id.clone()))
                .and_then(|e| e.owner_id.clone()),
        );
        found.extend(
            inventory
                .systems
                .get(&item.system_id)
                .and_then(|s| s.owner_id.clone()),
        );
    }
    found.extend(
        inventory
            .people
            .get(person)
            .and_then(|p| p.manager_id.clone()),
    );
    let mut out: Vec<PersonId> = Vec::new();
    for o in found {
        let eligible = &o != person
            && inventory
                .people
                .get(&o)
                .is_some_and(|p| p.status != PersonStatus::Terminated);
        if eligible && !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub use_id: RequestId,
    pub outcome: ReviewOutcome,
    pub notes: String,
    pub evidence: Option<String>,
    /// Who issued the reviewer's credential, when not the reviewer: they
    /// are judged too (nobody reviews their own use through it).
    pub issued_by: Option<soxctl_model::access::Issuer>,
}

/// The owner's after-review: resolves the unreviewed finding; an
/// inappropriate use opens a misuse finding.
pub async fn review(
    tx: &mut WriteTx,
    actor: &Principal,
    reviewer: &PersonId,
    input: Review,
) -> Result<BreakGlassRow> {
    text("review notes", &input.notes, true)?;
    let now = tx.now();
    let found = tx
        .breakglass_uses()
        .await?
        .into_iter()
        .find(|b| b.use_id == input.use_id)
        .ok_or_else(|| WorkflowError::NotFound(format!("no break-glass use '{}'", input.use_id)))?;
    if found.reviewed_at.is_some() {
        return Err(conflict(format!(
            "use {} is reviewed already",
            found.use_id
        )));
    }
    if reviewer == &found.person_id {
        return Err(refused("nobody reviews their own break-glass use"));
    }
    if let Some(issuer) = &input.issued_by
        && issuer.person.as_ref() == Some(&found.person_id)
    {
        return Err(refused(format!(
            "{reviewer}'s credential was issued by {} ({}), who used the glass: nobody reviews their own \
             break-glass use",
            found.person_id, issuer.principal
        )));
    }
    if reviewer != &found.reviewer_id {
        // A reviewer who has left hands the review to whoever would be
        // chosen now, so a use never stays unreviewable.
        let inventory = tx.inventory().await?;
        let designated_left = inventory
            .people
            .get(&found.reviewer_id)
            .is_none_or(|p| p.status == PersonStatus::Terminated);
        let now_eligible = reviewers(&inventory, &found.person_id, &found.items);
        if !(designated_left && now_eligible.contains(reviewer)) {
            return Err(refused(format!(
                "use {} is for {} to review{}",
                found.use_id,
                found.reviewer_id,
                if designated_left {
                    format!(
                        " (who has left; now: {})",
                        now_eligible
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                }
            )));
        }
    }
    // What was done is known only when the window is over (or its access
    // was revoked early).
    let in_force = tx
        .access_grants(Some(&found.use_id), None)
        .await?
        .into_iter()
        .any(|g| g.active_at(now));
    if in_force {
        return Err(conflict(format!(
            "use {} is still in force (until {}): review it when it ends, or end it now with \
             `soxctl grant revoke`",
            found.use_id, found.ends_at
        )));
    }
    if found.evidence.is_none() && input.evidence.is_none() {
        return Err(invalid(
            "no evidence of what was done is recorded: give the session recording or activity-log reference \
             (--evidence)",
        ));
    }
    tx.append(
        actor,
        &Event::BreakGlassReviewed(BreakGlassReviewed {
            use_id: found.use_id.clone(),
            reviewer_id: reviewer.clone(),
            outcome: input.outcome,
            notes: input.notes.clone(),
            evidence: input.evidence.clone(),
            issued_by: input.issued_by.as_ref().map(|i| i.principal.clone()),
        }),
    )
    .await?;
    let subject = format!("breakglass:{}", found.use_id);
    let unreviewed = finding_id(UNREVIEWED, &subject);
    let open = tx
        .findings_of_kinds(&[UNREVIEWED])
        .await?
        .into_iter()
        .any(|f| f.finding_id == unreviewed && f.status != FindingStatus::Resolved);
    if open {
        tx.append(
            &Principal::system("breakglass"),
            &Event::FindingResolved(FindingResolved {
                finding_id: unreviewed,
                reason: format!("reviewed by {reviewer}: {}", input.outcome.as_str()),
            }),
        )
        .await?;
    }
    if input.outcome == ReviewOutcome::Inappropriate {
        tx.append(
            &Principal::system("breakglass"),
            &Event::FindingOpened(FindingOpened {
                finding_id: finding_id(MISUSE, &subject),
                kind: MISUSE.to_owned(),
                subject,
                severity: Severity::Critical,
                control_ids: Vec::new(),
                first_seen: now,
                owner_id: Some(reviewer.clone()),
                due: due_for(Severity::Critical, now),
                summary: format!(
                    "Break-glass use by {} judged inappropriate by {reviewer}",
                    found.person_id
                ),
                detail: [
                    ("use_id".to_owned(), found.use_id.to_string()),
                    ("notes".to_owned(), input.notes.clone()),
                ]
                .into_iter()
                .collect(),
            }),
        )
        .await?;
    }
    tx.breakglass_uses()
        .await?
        .into_iter()
        .find(|b| b.use_id == input.use_id)
        .ok_or_else(|| WorkflowError::NotFound(format!("use '{}' vanished", input.use_id)))
}
