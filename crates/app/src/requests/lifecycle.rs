//! After the decision: activation within the approval's validity, early
//! cancellation and revocation, and the job runner's sweep that expires
//! undecided requests, unused approvals and grants whose time is up.

use crate::error::{Result, WorkflowError, conflict, refused, text};
use crate::requests::decide::{after, start_grants};
use crate::requests::notify;
use soxctl_model::event::Event;
use soxctl_model::ids::{AccessGrantId, PersonId, RequestId};
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    AccessEnd, AccessGrantRow, AccessRevoked, Activation, Ask, RequestCancelled, RequestExpired,
    RequestReminded, RequestRow, RequestStatus,
};
use soxctl_model::time::Timestamp;
use soxctl_store::WriteTx;
use soxctl_store::requests::RequestFilter;

async fn load(tx: &mut WriteTx, request_id: &RequestId) -> Result<RequestRow> {
    tx.request(request_id).await?.ok_or_else(|| {
        WorkflowError::NotFound(format!(
            "no request '{request_id}': `soxctl request list` shows them"
        ))
    })
}

/// Starts an approved access request that waits for its requester.
pub async fn activate(
    tx: &mut WriteTx,
    actor: &Principal,
    person: &PersonId,
    request_id: &RequestId,
) -> Result<Vec<u64>> {
    let now = tx.now();
    let request = load(tx, request_id).await?;
    let Ask::Access(a) = &request.ask else {
        return Err(conflict(format!(
            "request {request_id} is an action; actions are executed, not activated"
        )));
    };
    if &request.requester_id != person && &a.person_id != person {
        return Err(refused(format!(
            "only the requester or the person who holds the access activates request {request_id}"
        )));
    }
    if a.activation != Activation::Manual {
        return Err(conflict(format!(
            "request {request_id} started when it was approved; there is nothing to activate"
        )));
    }
    if request.status != RequestStatus::Approved || request.activated_at.is_some() {
        return Err(conflict(format!(
            "request {request_id} is {}{}; only an approved request not yet activated can be",
            request.status,
            if request.activated_at.is_some() {
                " and already activated"
            } else {
                ""
            }
        )));
    }
    if !request.usable_at(now) {
        return Err(conflict(format!(
            "the approval of request {request_id} ran out at {}: ask again",
            request
                .valid_until
                .map(|v| v.to_string())
                .unwrap_or_default()
        )));
    }
    // Judged again now: the holder may have left, an account been
    // disabled, or other access (another request activated meanwhile) made
    // this one a critical conflict since it was approved.
    let ctx = crate::requests::context::Context::load(tx).await?;
    let holder =
        crate::requests::facts::person(&ctx, &a.person_id, "person who would hold the access")?;
    if holder.status != soxctl_model::inventory::PersonStatus::Active {
        return Err(refused(format!(
            "{} is no longer active; the access is not started",
            a.person_id
        )));
    }
    for item in &a.items {
        let active = ctx
            .inventory
            .accounts
            .get(&(item.system_id.clone(), item.account_id.clone()))
            .is_some_and(|acc| acc.status == soxctl_model::inventory::AccountStatus::Active);
        if !active {
            return Err(refused(format!(
                "account {}:{} is no longer active; the access is not started",
                item.system_id, item.account_id
            )));
        }
    }
    if let Some(f) = crate::requests::sod_check::flags(&ctx, a)?
        .iter()
        .find(|f| !f.mitigated && f.severity == "critical")
    {
        return Err(refused(format!(
            "starting it now would give {} a critical SoD violation ({}) with no mitigation in force; \
             record one first (`soxctl sod mitigate`) or cancel",
            a.person_id, f.risk_id
        )));
    }
    start_grants(tx, actor, &request, now).await
}

/// Withdraws a request that is pending, or approved and not yet used; an
/// access request's grants in force end with it.
pub async fn cancel(
    tx: &mut WriteTx,
    actor: &Principal,
    person: Option<&PersonId>,
    request_id: &RequestId,
    reason: &str,
) -> Result<Vec<u64>> {
    text("reason", reason, true)?;
    let now = tx.now();
    let request = load(tx, request_id).await?;
    if let Some(p) = person
        && &request.requester_id != p
    {
        return Err(refused(format!(
            "only the requester ({}) or an admin cancels request {request_id}",
            request.requester_id
        )));
    }
    // An approval the sweep expired may still have a token out whose
    // action can be reported for a day (`execution::REPORT_GRACE_SECS`):
    // cancelling it is how its reports are stopped.
    let token_out = request.status == RequestStatus::Expired
        && tx
            .execution_tokens(soxctl_store::requests::TokensOf::Request(
                &request.request_id,
            ))
            .await?
            .iter()
            .any(|t| t.used_at.is_none());
    if !(matches!(
        request.status,
        RequestStatus::Pending | RequestStatus::Approved
    ) || token_out)
    {
        return Err(conflict(format!(
            "request {request_id} is {} already",
            request.status
        )));
    }
    let mut seqs = Vec::new();
    for g in tx.access_grants(Some(request_id), None).await? {
        if g.ended_at.is_none() && g.ends_at > now {
            seqs.push(end_grant(tx, actor, &g, AccessEnd::Revoked, Some(reason)).await?);
        }
    }
    seqs.push(
        tx.append(
            actor,
            &Event::RequestCancelled(RequestCancelled {
                request_id: request_id.clone(),
                reason: reason.to_owned(),
            }),
        )
        .await?,
    );
    Ok(seqs)
}

/// Ends one time-bound grant early.
pub async fn revoke_grant(
    tx: &mut WriteTx,
    actor: &Principal,
    grant_id: &AccessGrantId,
    reason: &str,
) -> Result<u64> {
    text("reason", reason, true)?;
    let grant = tx
        .access_grants(None, None)
        .await?
        .into_iter()
        .find(|g| &g.grant_id == grant_id)
        .ok_or_else(|| {
            WorkflowError::NotFound(format!(
                "no time-bound grant '{grant_id}': `soxctl grant list` shows them"
            ))
        })?;
    if let Some(at) = grant.ended_at {
        return Err(conflict(format!("grant {grant_id} ended at {at} already")));
    }
    end_grant(tx, actor, &grant, AccessEnd::Revoked, Some(reason)).await
}

/// Records the end of a grant and tells the target system (connector
/// hooks listen to `access.revoked`); the next import or sync confirms.
async fn end_grant(
    tx: &mut WriteTx,
    actor: &Principal,
    grant: &AccessGrantRow,
    end: AccessEnd,
    reason: Option<&str>,
) -> Result<u64> {
    let seq = tx
        .append(
            actor,
            &Event::AccessRevoked(AccessRevoked {
                grant_id: grant.grant_id.clone(),
                end,
                reason: reason.map(str::to_owned),
            }),
        )
        .await?;
    notify::send(
        tx,
        notify::Notice {
            topic: "access.revoked",
            subject: format!(
                "Access {}: {}:{} for {}",
                end.as_str(),
                grant.system_id,
                grant.entitlement_id,
                grant.person_id
            ),
            text: format!(
                "Time-bound grant {} ({}:{} on account {}) {}. Remove it in {}; the next import confirms.",
                grant.grant_id,
                grant.system_id,
                grant.entitlement_id,
                grant.account_id,
                if end == AccessEnd::Expired {
                    "expired"
                } else {
                    "was revoked"
                },
                grant.system_id
            ),
            request_id: &grant.request_id,
            recipients: vec![grant.person_id.clone()],
            severity: None,
            facts: serde_json::json!({
                "grant_id": grant.grant_id,
                "person_id": grant.person_id,
                "system_id": grant.system_id,
                "account_id": grant.account_id,
                "entitlement_id": grant.entitlement_id,
                "end": end.as_str(),
            }),
        },
    )
    .await?;
    Ok(seq)
}

/// What one sweep recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    pub requests_expired: u64,
    pub grants_expired: u64,
    pub reminders: u64,
    pub escalations: u64,
}

/// Expires what is due at the store's clock: undecided requests past their
/// deadline, approvals not used within their validity, grants past their
/// end. Overdue items are handled on the first sweep after a restart, so
/// expiries survive restarts.
pub async fn sweep(tx: &mut WriteTx) -> Result<Sweep> {
    let actor = Principal::system(crate::SCHEDULER);
    let now = tx.now();
    let mut report = Sweep::default();
    let due = tx
        .requests(&RequestFilter {
            pending_due_before: Some(now),
            ..RequestFilter::default()
        })
        .await?;
    let unused = tx
        .requests(&RequestFilter {
            unused_approved_before: Some(now),
            ..RequestFilter::default()
        })
        .await?;
    for request in due.into_iter().chain(unused) {
        tx.append(
            &actor,
            &Event::RequestExpired(RequestExpired {
                request_id: request.request_id.clone(),
            }),
        )
        .await?;
        notify::send(
            tx,
            notify::Notice {
                topic: "request.expired",
                subject: format!("Expired: {}", notify::describe(&request.ask)),
                text: format!(
                    "Request {} expired {}.",
                    request.request_id,
                    if request.status == RequestStatus::Pending {
                        "undecided"
                    } else {
                        "unused"
                    }
                ),
                request_id: &request.request_id,
                recipients: vec![request.requester_id.clone()],
                severity: None,
                facts: serde_json::json!({}),
            },
        )
        .await?;
        report.requests_expired += 1;
    }
    for grant in tx.access_grants(None, Some(now)).await? {
        end_grant(tx, &actor, &grant, AccessEnd::Expired, None).await?;
        report.grants_expired += 1;
    }
    remind(tx, &actor, now, &mut report).await?;
    Ok(report)
}

fn due(r: &RequestRow, after_secs: Option<u64>, done: Option<Timestamp>, now: Timestamp) -> bool {
    done.is_none() && after_secs.is_some_and(|s| now >= after(r.created_at, s))
}

/// Reminds approvers who have not decided, then escalates to their
/// managers, once each, as the policy's times come due.
async fn remind(
    tx: &mut WriteTx,
    actor: &Principal,
    now: Timestamp,
    report: &mut Sweep,
) -> Result<()> {
    let pending: Vec<RequestRow> = tx
        .requests(&RequestFilter {
            status: Some(RequestStatus::Pending),
            ..RequestFilter::default()
        })
        .await?
        .into_iter()
        .filter(|r| {
            r.usable_at(now)
                && (due(r, r.reminder_after_secs, r.reminded_at, now)
                    || due(r, r.escalate_after_secs, r.escalated_at, now))
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let inventory = tx.inventory().await?;
    for r in pending {
        let decided = tx.decisions(Some(&r.request_id)).await?;
        let waiting: Vec<PersonId> = r
            .approvers
            .iter()
            .filter(|a| {
                !decided
                    .iter()
                    .any(|d| &d.approver_id == *a || d.on_behalf_of.as_ref() == Some(*a))
            })
            .cloned()
            .collect();
        for escalation in [false, true] {
            let (after_secs, done) = if escalation {
                (r.escalate_after_secs, r.escalated_at)
            } else {
                (r.reminder_after_secs, r.reminded_at)
            };
            if !due(&r, after_secs, done, now) {
                continue;
            }
            let mut recipients: Vec<PersonId> = if escalation {
                waiting
                    .iter()
                    .filter_map(|a| inventory.people.get(a).and_then(|p| p.manager_id.clone()))
                    .filter(|m| m != &r.requester_id)
                    .collect()
            } else {
                waiting.clone()
            };
            recipients.sort();
            recipients.dedup();
            tx.append(
                actor,
                &Event::RequestReminded(RequestReminded {
                    request_id: r.request_id.clone(),
                    escalation,
                    recipients: recipients.clone(),
                }),
            )
            .await?;
            let (topic, subject) = if escalation {
                report.escalations += 1;
                (
                    "request.escalated",
                    format!("Escalated, still undecided: {}", notify::describe(&r.ask)),
                )
            } else {
                report.reminders += 1;
                (
                    "request.reminder",
                    format!("Reminder, approval needed: {}", notify::describe(&r.ask)),
                )
            };
            notify::send(
                tx,
                notify::Notice {
                    topic,
                    subject,
                    text: format!(
                        "{}\nWaiting for: {}",
                        notify::request_text(&r),
                        waiting
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    request_id: &r.request_id,
                    recipients,
                    severity: None,
                    facts: serde_json::json!({ "escalation": escalation }),
                },
            )
            .await?;
        }
    }
    Ok(())
}
