//! Asking: validate, resolve, simulate SoD, route under policy, filter the
//! approvers by the built-in rules, record.

use crate::context::Context;
use crate::error::{Result, WorkflowError, invalid, refused, text};
use crate::{facts, notify, sod_check};
use soxctl_model::event::Event;
use soxctl_model::ids::{EntitlementRef, PersonId, RoleId};
use soxctl_model::inventory::{AccountKind, AccountStatus, Inventory, Person, PersonStatus};
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    AccessAsk, AccessItem, ActionAsk, Activation, Ask, RequestCreated, RequestRow, has_float,
};
use soxctl_store::WriteTx;
use std::collections::HashMap;

/// An access request as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccess {
    /// Who would hold it; default: the requester.
    pub person_id: Option<PersonId>,
    /// `system_id:entitlement_id`; or `role_id`.
    pub entitlement: Option<String>,
    pub role_id: Option<String>,
    /// Default: the policy's maximum.
    pub duration_secs: Option<u64>,
    pub activation: Activation,
}

/// An action request as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub kind: String,
    pub env: String,
    pub payload: serde_json::Value,
    /// Who wrote the change (git identities `Name <email>`, emails or
    /// person ids); none of them may approve it.
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NewAsk {
    Access(NewAccess),
    Action(NewAction),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub ask: NewAsk,
    pub justification: String,
    pub ticket: Option<String>,
}

/// A kind or environment name: short, lowercase, no spaces.
pub(crate) fn check_name(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "the {what} '{value}' must be 1 to 64 characters of a-z, 0-9, '-', '_' or '.' (e.g. deploy, prod)"
        )))
    }
}

/// The person's active human account in `system`: time-bound access is an
/// entitlement on an account that exists.
pub(crate) fn account_of(
    ctx: &Context,
    person: &PersonId,
    system: &soxctl_model::ids::SystemId,
) -> Result<soxctl_model::ids::AccountId> {
    let mut found = ctx.inventory.accounts.values().filter(|a| {
        &a.system_id == system
            && a.person_id.as_ref() == Some(person)
            && a.status == AccountStatus::Active
            && a.kind == AccountKind::Human
    });
    match (found.next(), found.next()) {
        (Some(a), None) => Ok(a.account_id.clone()),
        (None, _) => Err(invalid(format!(
            "{person} has no active account in system '{system}': provision one first (import, SCIM or \
             LDAP sync), then ask for the entitlement"
        ))),
        (Some(a), Some(b)) => Err(invalid(format!(
            "{person} has several active accounts in system '{system}' ({}, {}, …): correlate or disable \
             the extra ones first",
            a.account_id, b.account_id
        ))),
    }
}

fn resolve_access(ctx: &Context, requester: &Person, a: &NewAccess) -> Result<AccessAsk> {
    let person_id = a
        .person_id
        .clone()
        .unwrap_or_else(|| requester.person_id.clone());
    let holder = facts::person(ctx, &person_id, "person who would hold the access")?;
    if holder.status != PersonStatus::Active {
        return Err(refused(format!(
            "{person_id} is not active ({:?}): access is granted to active people only",
            holder.status
        )));
    }
    let (entitlement, role_id, refs) = match (&a.entitlement, &a.role_id) {
        (Some(e), None) => {
            let r = EntitlementRef::parse(e).map_err(|_| {
                invalid(format!(
                    "'{e}' is not an entitlement reference: write system_id:entitlement_id"
                ))
            })?;
            let key = (r.system.clone(), r.entitlement.clone());
            if !ctx.inventory.entitlements.contains_key(&key) {
                return Err(invalid(format!(
                    "no entitlement '{e}' in the store: check `soxctl who-has` or import the system"
                )));
            }
            (Some(e.clone()), None, vec![key])
        }
        (None, Some(role)) => {
            let role_id = RoleId::parse(role.as_str())
                .map_err(|e| invalid(format!("'{role}' is not a role id: {e}")))?;
            let refs: Vec<_> = ctx
                .inventory
                .role_entitlements
                .values()
                .filter(|r| r.role_id == role_id)
                .map(|r| (r.system_id.clone(), r.entitlement_id.clone()))
                .collect();
            if refs.is_empty() {
                return Err(invalid(format!(
                    "role '{role}' does not exist or has no entitlements in the store"
                )));
            }
            (None, Some(role_id), refs)
        }
        _ => {
            return Err(invalid(
                "an access request names exactly one of an entitlement (system_id:entitlement_id) or a role",
            ));
        }
    };
    let mut items = Vec::with_capacity(refs.len());
    for (system_id, entitlement_id) in refs {
        items.push(AccessItem {
            account_id: account_of(ctx, &person_id, &system_id)?,
            system_id,
            entitlement_id,
        });
    }
    items.sort();
    items.dedup();
    Ok(AccessAsk {
        person_id,
        entitlement,
        role_id,
        items,
        duration_secs: a.duration_secs.unwrap_or(0),
        activation: a.activation,
    })
}

fn resolve_action(a: &NewAction) -> Result<ActionAsk> {
    check_name("action kind", &a.kind)?;
    check_name("environment", &a.env)?;
    if !a.payload.is_object() {
        return Err(invalid(
            "the action payload must be a JSON object describing exactly what is to be done",
        ));
    }
    if has_float(&a.payload) {
        return Err(invalid(
            "the action payload holds a floating-point number: write amounts as strings \
             (e.g. {\"amount\":\"1250.00\",\"currency\":\"USD\"}) so the digest is exact",
        ));
    }
    let size = serde_json::to_string(&a.payload)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if size > crate::MAX_PAYLOAD_BYTES {
        return Err(invalid(format!(
            "the action payload is {size} bytes, more than {}: reference large content by digest",
            crate::MAX_PAYLOAD_BYTES
        )));
    }
    if a.authors.len() > 1_000 || a.authors.iter().any(|x| x.len() > 320) {
        return Err(invalid("at most 1,000 authors of at most 320 bytes each"));
    }
    // Without its authors a deployment could be approved by the person who
    // wrote it: a change always has at least one.
    if a.kind == crate::gate::DEPLOY && a.authors.iter().all(|x| x.trim().is_empty()) {
        return Err(invalid(
            "a deployment names the authors of its commits (`soxctl gate request` reads them from git)",
        ));
    }
    let digest = soxctl_ledger::digest::action_digest(&a.env, &a.kind, &a.payload)
        .map_err(|e| invalid(format!("the action payload cannot be canonicalised: {e}")))?;
    let mut authors = a.authors.clone();
    authors.sort();
    authors.dedup();
    Ok(ActionAsk {
        kind: a.kind.clone(),
        env: a.env.clone(),
        payload: a.payload.clone(),
        digest,
        authors,
        unattributed_authors: Vec::new(),
        author_people: Vec::new(),
    })
}

/// The email inside a git identity `Name <email>`, or the text itself.
pub(crate) fn author_key(author: &str) -> String {
    let inner = match (author.rfind('<'), author.rfind('>')) {
        (Some(l), Some(r)) if l < r => &author[l + 1..r],
        _ => author,
    };
    inner.trim().to_ascii_lowercase()
}

/// True when `person` wrote the change: named by their id, their email, or
/// the id of one of their accounts (`account_ids`). The accounts are how a
/// person's other git identities are known: import the source-control
/// system (GitHub, GitLab) with the commit emails as account ids.
pub(crate) fn is_author(person: &Person, account_ids: &[&str], authors: &[String]) -> bool {
    authors.iter().any(|a| {
        let key = author_key(a);
        key == person.person_id.as_str().to_ascii_lowercase()
            || person
                .email
                .as_deref()
                .is_some_and(|e| e.to_ascii_lowercase() == key)
            || account_ids.iter().any(|id| id.to_ascii_lowercase() == key)
    })
}

/// The ids of `person`'s accounts in every system.
pub(crate) fn account_ids_of<'a>(inventory: &'a Inventory, person: &PersonId) -> Vec<&'a str> {
    inventory
        .accounts
        .values()
        .filter(|a| a.person_id.as_ref() == Some(person))
        .map(|a| a.account_id.as_str())
        .collect()
}

/// Committers that are a platform, not a person: GitHub's web interface
/// commits squash and rebase merges as itself. They name nobody, so they
/// count neither as a person nor as an unknown author.
const PLATFORM_COMMITTERS: &[&str] = &["noreply@github.com"];

/// Who wrote the change: the people the authors name (by person id, email
/// or account id), and the authors nobody is known as.
fn attribute(inventory: &Inventory, authors: &[String]) -> (Vec<PersonId>, Vec<String>) {
    if authors.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut known: HashMap<String, &PersonId> = HashMap::new();
    for p in inventory.people.values() {
        known.insert(p.person_id.as_str().to_ascii_lowercase(), &p.person_id);
        if let Some(e) = &p.email {
            known.insert(e.to_ascii_lowercase(), &p.person_id);
        }
    }
    for a in inventory.accounts.values() {
        if let Some(p) = &a.person_id {
            known.insert(a.account_id.as_str().to_ascii_lowercase(), p);
        }
    }
    let mut people = Vec::new();
    let mut unattributed = Vec::new();
    for author in authors {
        let key = author_key(author);
        if PLATFORM_COMMITTERS.contains(&key.as_str()) {
            continue;
        }
        match known.get(&key) {
            Some(p) => people.push((*p).clone()),
            None => unattributed.push(author.clone()),
        }
    }
    people.sort();
    people.dedup();
    (people, unattributed)
}

/// Why the built-in rules keep `candidate` from approving, if they do.
pub(crate) fn builtin_exclusion(
    ctx: &Context,
    requester: &PersonId,
    ask: &Ask,
    candidate: &Person,
) -> Result<Option<String>> {
    let id = &candidate.person_id;
    if id == requester {
        return Ok(Some("nobody approves their own request".to_owned()));
    }
    if candidate.status == PersonStatus::Terminated {
        return Ok(Some("has left the company".to_owned()));
    }
    match ask {
        Ask::Access(a) => {
            if &a.person_id == id {
                return Ok(Some("would hold the access".to_owned()));
            }
            let conflicts = sod_check::approver_conflicts(ctx, id.as_str(), a)?;
            if !conflicts.is_empty() {
                return Ok(Some(format!(
                    "holding this access would put them in SoD conflict ({})",
                    conflicts.join(", ")
                )));
            }
        }
        Ask::Action(a) => {
            let accounts = account_ids_of(&ctx.inventory, &candidate.person_id);
            if a.author_people.contains(&candidate.person_id)
                || is_author(candidate, &accounts, &a.authors)
            {
                return Ok(Some("is an author of the change".to_owned()));
            }
        }
    }
    Ok(None)
}

/// What `create` recorded, and who the built-in rules removed and why.
#[derive(Debug, Clone)]
pub struct Created {
    pub request: RequestRow,
    pub seq: u64,
    pub excluded: Vec<(PersonId, String)>,
}

pub async fn create(
    tx: &mut WriteTx,
    actor: &Principal,
    requester_id: &PersonId,
    input: NewRequest,
) -> Result<Created> {
    text("justification", &input.justification, true)?;
    if let Some(t) = &input.ticket {
        text("ticket", t, false)?;
    }
    let ctx = Context::load(tx).await?;
    let requester = facts::person(&ctx, requester_id, "requester")?.clone();
    if requester.status != PersonStatus::Active {
        return Err(refused(format!(
            "{requester_id} is not active and cannot ask for access or actions"
        )));
    }
    let mut ask = match &input.ask {
        NewAsk::Access(a) => Ask::Access(resolve_access(&ctx, &requester, a)?),
        NewAsk::Action(a) => {
            let mut action = resolve_action(a)?;
            (action.author_people, action.unattributed_authors) =
                attribute(&ctx.inventory, &action.authors);
            Ask::Action(action)
        }
    };
    // SoD first: the worst violation it would create raises the approvals
    // the policy asks for.
    let plan_facts = |ask: &Ask, worst| {
        facts::request_facts(&ctx, &requester, ask, worst, input.ticket.is_some())
    };
    let (sod, plan) = match &mut ask {
        Ask::Access(a) => {
            // The duration is checked against the plan; simulate over the
            // longest window the plan could allow.
            let probe = plan_facts(&Ask::Access(a.clone()), None)?;
            let first = ctx
                .policy
                .plan(&probe)
                .map_err(|r| WorkflowError::Refused(r.reason))?;
            let max = first.max_duration_secs.unwrap_or(8 * 3_600);
            if a.duration_secs == 0 {
                a.duration_secs = max;
            }
            if a.duration_secs > max {
                return Err(refused(format!(
                    "{} is longer than the policy allows for this access ({}, rule '{}'): ask for less",
                    notify::duration_text(a.duration_secs),
                    notify::duration_text(max),
                    first.matched_rule
                )));
            }
            let sod = sod_check::flags(&ctx, a)?;
            let facts = plan_facts(&Ask::Access(a.clone()), sod_check::worst(&sod))?;
            let plan = ctx
                .policy
                .plan(&facts)
                .map_err(|r| WorkflowError::Refused(r.reason))?;
            (sod, plan)
        }
        Ask::Action(_) => {
            let facts = plan_facts(&ask, None)?;
            let plan = ctx
                .policy
                .plan(&facts)
                .map_err(|r| WorkflowError::Refused(r.reason))?;
            (Vec::new(), plan)
        }
    };
    let facts = plan_facts(&ask, sod_check::worst(&sod))?;
    let mut approvers = Vec::new();
    let mut excluded = Vec::new();
    for candidate in &plan.candidates {
        let Ok(id) = PersonId::parse(candidate.as_str()) else {
            continue;
        };
        let Some(person) = ctx.inventory.people.get(&id) else {
            excluded.push((id, "is not a person in the store".to_owned()));
            continue;
        };
        if let Some(why) = builtin_exclusion(&ctx, requester_id, &ask, person)? {
            excluded.push((id, why));
            continue;
        }
        if let Err(r) = ctx.policy.may_approve(&facts, &facts::person_facts(person)) {
            excluded.push((id, r.reason));
            continue;
        }
        if !approvers.contains(&id) {
            approvers.push(id);
        }
    }
    let needed = plan.required_approvals.max(1);
    if approvers.len() < needed as usize {
        let why: Vec<String> = excluded
            .iter()
            .map(|(id, why)| format!("{id}: {why}"))
            .collect();
        return Err(refused(format!(
            "the policy (rule '{}') needs {needed} approver(s) but only {} eligible: {}{}; \
             add approvers to the policy or ask an owner",
            plan.matched_rule,
            approvers.len(),
            if approvers.is_empty() {
                "nobody".to_owned()
            } else {
                approvers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if why.is_empty() {
                String::new()
            } else {
                format!(" (excluded: {})", why.join("; "))
            }
        )));
    }
    let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2_000));
    let expires_at = soxctl_model::time::Timestamp::from_datetime(
        ctx.now.as_datetime() + secs(plan.undecided_expiry_secs),
    );
    let request_id = format!("req_{}", uuid::Uuid::new_v4().simple());
    let event = RequestCreated {
        request_id: request_id.clone(),
        requester_id: requester_id.clone(),
        ask,
        justification: input.justification,
        ticket: input.ticket,
        policy_version: ctx.policy_version,
        policy_rule: plan.matched_rule.clone(),
        required_approvals: needed,
        approvers,
        mfa_required: plan.mfa_required,
        expires_at,
        approval_window_secs: plan.approval_window_secs.unwrap_or(24 * 3_600),
        reminder_after_secs: plan.reminder_after_secs,
        escalate_after_secs: plan.escalate_after_secs,
        sod,
    };
    let seq = tx
        .append(actor, &Event::RequestCreated(Box::new(event)))
        .await?;
    let request = tx
        .request(&request_id)
        .await?
        .ok_or_else(|| WorkflowError::NotFound(format!("request '{request_id}' vanished")))?;
    let severity = request
        .sod
        .iter()
        .any(|f| !f.mitigated && f.severity == "critical")
        .then_some("critical");
    notify::send(
        tx,
        notify::Notice {
            topic: "request.created",
            subject: format!("Approval needed: {}", notify::describe(&request.ask)),
            text: notify::request_text(&request),
            request_id: &request_id,
            recipients: request.approvers.clone(),
            severity,
            facts: serde_json::json!({ "kind": request.kind().as_str() }),
        },
    )
    .await?;
    Ok(Created {
        request,
        seq,
        excluded,
    })
}
