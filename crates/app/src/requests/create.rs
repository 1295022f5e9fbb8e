//! Asking: validate, resolve, simulate SoD, route under policy, filter the
//! approvers by the built-in rules, record.

use crate::error::{Result, WorkflowError, invalid, refused, text};
use crate::identities::{self, Named};
use crate::requests::context::Context;
use crate::requests::{facts, notify, sod_check};
use soxctl_model::event::Event;
use soxctl_model::identity::{EmailFolding, Identity, MAX_IDENTITY_LEN, escape};
use soxctl_model::ids::{EntitlementRef, PersonId, RequestId, RoleId};
use soxctl_model::inventory::{AccountKind, AccountStatus, Inventory, Person, PersonStatus};
use soxctl_model::principal::Principal;
use soxctl_model::request::{
    AccessAsk, AccessItem, ActionAsk, Activation, Ask, RequestCreated, RequestRow, has_float,
};
use soxctl_store::WriteTx;
use std::collections::BTreeSet;

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
    /// The commits of a deployment, as the pipeline read them from the
    /// repository. Only a pipeline's credential supplies them
    /// ([`crate::gate::register`]); a person never names who wrote a change.
    pub change: Option<NewChange>,
}

/// A deployment's commits, read by the pipeline (a trusted party), never
/// by the person asking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewChange {
    /// The repository, as the pipeline's credential is bound to it.
    pub repo: String,
    /// The CI run, when a CI identity token registered it.
    pub run: Option<String>,
    pub commits: Vec<ChangeCommit>,
}

/// One commit of a change: its author, committer and `Co-authored-by`
/// trailers, as git identities `Name <email>` (after `.mailmap`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeCommit {
    pub sha: String,
    pub author: String,
    pub committer: String,
    pub co_authors: Vec<String>,
}

/// The most commits one change may carry.
pub const MAX_COMMITS: usize = 10_000;

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

/// The first key or string of a payload that hides characters (control,
/// bidirectional override, zero-width), named by its path; line breaks and
/// tabs are allowed in strings, as in a note.
fn hidden_text(value: &serde_json::Value, path: &str) -> Option<String> {
    let check = |what: &str, text: &str, breaks: bool| {
        let checked = if breaks {
            soxctl_model::text::check_paragraph(what, text, usize::MAX)
        } else {
            soxctl_model::text::check_line(what, text, usize::MAX)
        };
        checked.err().map(|e| e.to_string())
    };
    match value {
        serde_json::Value::String(text) => check(path, text, true),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| hidden_text(item, &format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            check(&format!("key of {path}"), key, false).or_else(|| {
                hidden_text(
                    item,
                    &format!("{path}.{}", soxctl_model::identity::escape(key)),
                )
            })
        }),
        _ => None,
    }
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
    if let Some(problem) = hidden_text(&a.payload, "payload") {
        return Err(invalid(format!(
            "the action {problem}: an approver must see exactly what is to be done"
        )));
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
    match (&a.change, a.kind == crate::gate::DEPLOY) {
        (None, true) => {
            return Err(invalid(
                "a deployment is registered by its pipeline, which reads the commits' authors from the \
                 repository (`soxctl gate request` with a gate credential); a person cannot ask for one",
            ));
        }
        (Some(_), false) => {
            return Err(invalid(
                "only a deployment carries commits: leave them out of other actions",
            ));
        }
        (Some(change), true) => {
            if change.commits.is_empty() {
                return Err(invalid(
                    "a deployment names the commits it brings (at least the deployed one)",
                ));
            }
            if change.commits.len() > MAX_COMMITS {
                return Err(invalid(format!(
                    "{} commits in one change, more than {MAX_COMMITS}: deploy more often, or start the \
                     range later (--since)",
                    change.commits.len()
                )));
            }
        }
        (None, false) => {}
    }
    let digest = soxctl_ledger::digest::action_digest(&a.env, &a.kind, &a.payload)
        .map_err(|e| invalid(format!("the action payload cannot be canonicalised: {e}")))?;
    Ok(ActionAsk {
        kind: a.kind.clone(),
        env: a.env.clone(),
        payload: a.payload.clone(),
        digest,
        authors: Vec::new(),
        unattributed_authors: Vec::new(),
        author_people: Vec::new(),
        repo: a.change.as_ref().map(|c| c.repo.clone()),
        commits: a
            .change
            .as_ref()
            .map(|c| u32::try_from(c.commits.len()).unwrap_or(u32::MAX)),
        run: a.change.as_ref().and_then(|c| c.run.clone()),
    })
}

/// Who wrote the change, from its commits: every author, committer and
/// co-author, each parsed and named. A platform identity (GitHub's web
/// committer, a bot) names nobody: as a committer or co-author it is left
/// out, as an author it hides who wrote the commit, so it counts as
/// unattributed. Returns the identities as written, the people named, and
/// what named nobody.
fn attribute(
    inventory: &Inventory,
    folding: EmailFolding,
    change: &NewChange,
) -> Result<(Vec<String>, Vec<PersonId>, Vec<String>)> {
    let mut written = BTreeSet::new();
    let mut people = BTreeSet::new();
    let mut unattributed = BTreeSet::new();
    for commit in &change.commits {
        crate::gate::normalise_commit(&commit.sha)?;
        let roles = std::iter::once((&commit.author, true))
            .chain(std::iter::once((&commit.committer, false)))
            .chain(commit.co_authors.iter().map(|c| (c, false)));
        for (text, is_author) in roles {
            if text.len() > MAX_IDENTITY_LEN {
                return Err(invalid(format!(
                    "commit {}: an identity of {} bytes, more than {MAX_IDENTITY_LEN}",
                    commit.sha,
                    text.len()
                )));
            }
            if text.trim().is_empty() && !is_author {
                continue;
            }
            if identities::is_platform_identity(text) {
                if is_author {
                    written.insert(text.clone());
                    unattributed.insert(format!(
                        "{} (a platform identity as the author of {})",
                        escape(text),
                        commit.sha
                    ));
                }
                continue;
            }
            written.insert(text.clone());
            match Identity::parse(text, folding) {
                Err(_) => {
                    unattributed.insert(escape(text));
                }
                Ok(identity) => match identities::resolve_in(inventory, &identity, folding) {
                    Named::Person(p) => {
                        people.insert(p);
                    }
                    Named::Nobody | Named::Several(_) => {
                        unattributed.insert(identity.to_string());
                    }
                },
            }
        }
    }
    Ok((
        written.into_iter().collect(),
        people.into_iter().collect(),
        unattributed.into_iter().collect(),
    ))
}

/// The people who wrote `action` as far as is known now: those named when
/// it was registered, and those its unattributed authors name since (an
/// account imported later).
pub(crate) fn authors_now(ctx: &Context, action: &ActionAsk) -> Vec<PersonId> {
    let folding = crate::gate::folding(ctx.policy.gate());
    let mut people = action.author_people.clone();
    for text in &action.unattributed_authors {
        if let Ok(identity) = Identity::parse(text, folding)
            && let Named::Person(p) = identities::resolve_in(&ctx.inventory, &identity, folding)
            && !people.contains(&p)
        {
            people.push(p);
        }
    }
    people
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
            if authors_now(ctx, a).contains(&candidate.person_id) {
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
            if let Some(change) = &a.change {
                let folding = crate::gate::folding(ctx.policy.gate());
                (
                    action.authors,
                    action.author_people,
                    action.unattributed_authors,
                ) = attribute(&ctx.inventory, folding, change)?;
                if !action.unattributed_authors.is_empty()
                    && !ctx.policy.gate().allows_unattributed(&action.env)
                {
                    return Err(refused(format!(
                        "{} matched no person, and {} requires every author of a change to be a known person \
                         (nobody could be kept from approving as them): add their git emails as accounts of \
                         the people (import the source-control system), or allow it for this environment in \
                         the policies' [gate] allow_unattributed_authors",
                        action.unattributed_authors.join(", "),
                        action.env
                    )));
                }
            }
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
    let expires_at = ctx.now.saturating_add_secs(plan.undecided_expiry_secs);
    let request_id = RequestId::mint(uuid::Uuid::new_v4().as_u128());
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

#[cfg(test)]
mod tests {
    use soxctl_model::ids::{AccessGrantId, DelegationId, ExecutionTokenId, RequestId};

    /// Typed ids are minted as the same text as before they were typed
    /// (the prefix and the UUID's simple form): ledgers hold them.
    #[test]
    fn minted_ids_keep_their_text() {
        for _ in 0..100 {
            let uuid = uuid::Uuid::new_v4();
            let simple = uuid.simple().to_string();
            let bits = uuid.as_u128();
            assert_eq!(RequestId::mint(bits).as_str(), format!("req_{simple}"));
            assert_eq!(
                RequestId::mint_breakglass(bits).as_str(),
                format!("bgl_{simple}")
            );
            assert_eq!(AccessGrantId::mint(bits).as_str(), format!("agr_{simple}"));
            assert_eq!(DelegationId::mint(bits).as_str(), format!("dlg_{simple}"));
            assert_eq!(
                ExecutionTokenId::mint(bits).as_str(),
                format!("xtk_{simple}")
            );
            let minted = RequestId::mint(bits);
            assert_eq!(RequestId::parse_new(minted.as_str()), Ok(minted));
        }
    }
}
