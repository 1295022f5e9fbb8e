//! Approving and denying: the built-in rules again at the moment of the
//! decision (people leave, access changes, delegations end), then one event;
//! the approval that completes an access request starts its grants.

use crate::error::{Result, WorkflowError, conflict, refused, text};
use crate::requests::context::Context;
use crate::requests::create::builtin_exclusion;
use crate::requests::{facts, notify, sod_check};
use soxctl_model::access::Issuer;
use soxctl_model::event::Event;
use soxctl_model::ids::{AccessGrantId, PersonId, RequestId};
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    AccessGranted, Activation, Ask, Decision, RequestApproved, RequestDenied, RequestRow,
    RequestStatus,
};
use soxctl_model::time::Timestamp;
use soxctl_store::WriteTx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    pub request_id: RequestId,
    pub decision: Decision,
    /// A comment with an approval; the reason of a denial (required).
    pub comment: Option<String>,
    /// The approver completed step-up MFA for this decision. Always false
    /// until console login with MFA exists: tokens cannot prove it.
    pub mfa: bool,
    /// Who issued the credential, when not the approver themselves (an
    /// admin made a token for them, or `system:cli`): that issuer is judged
    /// by the built-in rules too, the entry records them, and policies see
    /// `context.proxy_credential`.
    pub issued_by: Option<Issuer>,
}

/// What a decision recorded.
#[derive(Debug, Clone)]
pub struct Decided {
    pub request: RequestRow,
    pub on_behalf_of: Option<PersonId>,
    /// Ledger entries appended (decision, then grants).
    pub seqs: Vec<u64>,
}

pub(crate) fn before(t: Timestamp, secs: u64) -> Timestamp {
    t.saturating_sub_secs(secs)
}

pub(crate) fn after(t: Timestamp, secs: u64) -> Timestamp {
    t.saturating_add_secs(secs)
}

/// The person `approver` may decide for: themselves when routed to, else
/// the routed approver whose delegation to them is in force.
fn standing(ctx: &Context, request: &RequestRow, approver: &PersonId) -> Option<Option<PersonId>> {
    if request.approvers.contains(approver) {
        return Some(None);
    }
    ctx.delegations
        .iter()
        .filter(|d| &d.delegate_id == approver && d.active_at(ctx.now))
        .find(|d| request.approvers.contains(&d.delegator_id))
        .map(|d| Some(d.delegator_id.clone()))
}

pub async fn decide(
    tx: &mut WriteTx,
    actor: &Principal,
    approver_id: &PersonId,
    input: DecisionInput,
) -> Result<Decided> {
    if let Some(c) = &input.comment {
        text("comment", c, false)?;
    }
    let ctx = Context::load(tx).await?;
    let request = tx.request(&input.request_id).await?.ok_or_else(|| {
        WorkflowError::NotFound(format!(
            "no request '{}': `soxctl request list` shows them",
            input.request_id
        ))
    })?;
    match request.status {
        RequestStatus::Pending if ctx.now < request.expires_at => {}
        RequestStatus::Pending => {
            return Err(conflict(format!(
                "request {} expired undecided at {}: ask again",
                request.request_id, request.expires_at
            )));
        }
        status => {
            return Err(conflict(format!(
                "request {} is {status}; only pending requests can be decided",
                request.request_id
            )));
        }
    }
    let approver = facts::person(&ctx, approver_id, "approver")?.clone();
    if let Some(why) = builtin_exclusion(&ctx, &request.requester_id, &request.ask, &approver)? {
        return Err(refused(format!(
            "{approver_id} cannot decide request {}: {why}",
            request.request_id
        )));
    }
    let Some(on_behalf_of) = standing(&ctx, &request, approver_id) else {
        return Err(refused(format!(
            "{approver_id} is not an approver of request {} (approvers: {}); a delegation from one of \
             them would make them one",
            request.request_id,
            request
                .approvers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    // Whoever issued the credential could be the one deciding: the same
    // rules judge them (an admin who made a token for an approver does not
    // approve their own request through it).
    if let Some(issuer) = &input.issued_by
        && let Some(person) = issuer
            .person
            .as_ref()
            .and_then(|p| ctx.inventory.people.get(p))
        && let Some(why) = builtin_exclusion(&ctx, &request.requester_id, &request.ask, person)?
    {
        return Err(refused(format!(
            "{approver_id}'s credential was issued by {} ({}), who cannot decide request {}: {why}",
            person.person_id, issuer.principal, request.request_id
        )));
    }
    // A delegate decides in the delegator's seat: the delegator's own
    // exclusions apply too, and the seat counts once.
    if let Some(delegator) = &on_behalf_of {
        let person = facts::person(&ctx, delegator, "delegator")?;
        if let Some(why) = builtin_exclusion(&ctx, &request.requester_id, &request.ask, person)? {
            return Err(refused(format!(
                "{delegator}'s seat cannot decide request {}: {why}",
                request.request_id
            )));
        }
    }
    // The facts as they are now: SoD may have changed since the request was
    // made, and a delegate is judged by the policy in force.
    let sod = match &request.ask {
        Ask::Access(a) => sod_check::flags(&ctx, a)?,
        Ask::Action(_) => Vec::new(),
    };
    let requester = facts::person(&ctx, &request.requester_id, "requester")?;
    let mut facts_now = facts::request_facts(
        &ctx,
        requester,
        &request.ask,
        sod_check::worst(&sod),
        request.ticket.is_some(),
    )?;
    facts_now.proxy_credential = input.issued_by.is_some();
    let issued_by = input.issued_by.as_ref().map(|i| i.principal.clone());
    let plan_now = ctx
        .policy
        .may_decide(&facts_now, &facts::person_facts(&approver))
        .map_err(|r| {
            refused(format!(
                "{approver_id} cannot decide request {}{}: {}",
                request.request_id,
                if on_behalf_of.is_some() {
                    " as a delegate"
                } else {
                    ""
                },
                r.reason
            ))
        })?;
    let decided = tx.decisions(Some(&request.request_id)).await?;
    let seat = on_behalf_of.as_ref().unwrap_or(approver_id);
    if decided.iter().any(|d| {
        &d.approver_id == seat
            || d.on_behalf_of.as_ref() == Some(seat)
            || &d.approver_id == approver_id
    }) {
        return Err(conflict(format!(
            "{seat} has already decided request {}; one decision per approver",
            request.request_id
        )));
    }
    if request.mfa_required && !input.mfa {
        return Err(refused(format!(
            "the policy requires step-up MFA to decide request {}; token decisions cannot prove MFA \
             (console login with MFA will), so ask an approver to decide it there",
            request.request_id
        )));
    }
    let mut seqs = Vec::new();
    match input.decision {
        Decision::Deny => {
            let reason = input.comment.clone().unwrap_or_default();
            text("reason for the denial", &reason, true)?;
            seqs.push(
                tx.append(
                    actor,
                    &Event::RequestDenied(RequestDenied {
                        request_id: request.request_id.clone(),
                        approver_id: approver_id.clone(),
                        on_behalf_of: on_behalf_of.clone(),
                        mfa: input.mfa,
                        issued_by: issued_by.clone(),
                        reason: reason.clone(),
                    }),
                )
                .await?,
            );
            notify::send(
                tx,
                notify::Notice {
                    topic: "request.denied",
                    subject: format!("Denied: {}", notify::describe(&request.ask)),
                    text: format!(
                        "{approver_id} denied request {}: {reason}",
                        request.request_id
                    ),
                    request_id: &request.request_id,
                    recipients: vec![request.requester_id.clone()],
                    severity: None,
                    facts: serde_json::json!({}),
                },
            )
            .await?;
        }
        Decision::Approve => {
            if let Ask::Access(a) = &request.ask {
                // Judged now, not when asked: access may have changed since.
                if let Some(f) = sod
                    .iter()
                    .find(|f| !f.mitigated && f.severity == "critical")
                {
                    return Err(refused(format!(
                        "approving would give {} a critical SoD violation ({}) with no mitigation in force; \
                         record one first (`soxctl sod mitigate`) or deny",
                        a.person_id, f.risk_id
                    )));
                }
            }
            // A risk that grew since the request was made (a new SoD
            // violation, a policy now asking for more) raises the approvals
            // needed; nothing lowers them below what the requester was told.
            let required = plan_now
                .required_approvals
                .max(1)
                .max(request.required_approvals);
            if required as usize > request.approvers.len() {
                return Err(refused(format!(
                    "request {} now needs {required} approvals (its SoD risk grew since it was made) but names \
                     only {} approver(s): cancel it and ask again, so that enough approvers are routed",
                    request.request_id,
                    request.approvers.len()
                )));
            }
            let approvals = request.approvals + 1;
            let approved = approvals >= required;
            let valid_until = match &request.ask {
                Ask::Action(_) if approved => Some(after(ctx.now, request.approval_window_secs)),
                Ask::Access(a) if approved && a.activation == Activation::Manual => {
                    Some(after(ctx.now, request.approval_window_secs))
                }
                _ => None,
            };
            seqs.push(
                tx.append(
                    actor,
                    &Event::RequestApproved(RequestApproved {
                        request_id: request.request_id.clone(),
                        approver_id: approver_id.clone(),
                        on_behalf_of: on_behalf_of.clone(),
                        mfa: input.mfa,
                        issued_by: issued_by.clone(),
                        comment: input.comment.clone(),
                        approvals,
                        approved,
                        required_approvals: (required > request.required_approvals)
                            .then_some(required),
                        valid_until,
                    }),
                )
                .await?,
            );
            if approved {
                if let Ask::Access(a) = &request.ask
                    && a.activation == Activation::OnApproval
                {
                    seqs.extend(start_grants(tx, actor, &request, ctx.now).await?);
                }
                notify::send(
                    tx,
                    notify::Notice {
                        topic: "request.approved",
                        subject: format!("Approved: {}", notify::describe(&request.ask)),
                        text: format!(
                            "Request {} is approved ({approvals} of {required}).{}",
                            request.request_id,
                            valid_until
                                .map(|v| format!(" Use it before {v}."))
                                .unwrap_or_default()
                        ),
                        request_id: &request.request_id,
                        recipients: vec![request.requester_id.clone()],
                        severity: None,
                        facts: serde_json::json!({}),
                    },
                )
                .await?;
            }
        }
    }
    let request = tx.request(&input.request_id).await?.ok_or_else(|| {
        WorkflowError::NotFound(format!("request '{}' vanished", input.request_id))
    })?;
    Ok(Decided {
        request,
        on_behalf_of,
        seqs,
    })
}

/// Starts the time-bound grants of an approved access request at `now`.
pub(crate) async fn start_grants(
    tx: &mut WriteTx,
    actor: &Principal,
    request: &RequestRow,
    now: Timestamp,
) -> Result<Vec<u64>> {
    let Ask::Access(a) = &request.ask else {
        return Ok(Vec::new());
    };
    let ends_at = after(now, a.duration_secs);
    let mut seqs = Vec::new();
    for item in &a.items {
        let grant_id = AccessGrantId::mint(uuid::Uuid::new_v4().as_u128());
        seqs.push(
            tx.append(
                actor,
                &Event::AccessGranted(AccessGranted {
                    grant_id: grant_id.clone(),
                    request_id: request.request_id.clone(),
                    emergency: false,
                    person_id: a.person_id.clone(),
                    item: item.clone(),
                    starts_at: now,
                    ends_at,
                }),
            )
            .await?,
        );
        tx.enqueue(
            "access.granted",
            &serde_json::json!({
                "grant_id": grant_id,
                "request_id": request.request_id,
                "person_id": a.person_id,
                "system_id": item.system_id,
                "account_id": item.account_id,
                "entitlement_id": item.entitlement_id,
                "starts_at": now,
                "ends_at": ends_at,
            }),
        )
        .await?;
    }
    Ok(seqs)
}
