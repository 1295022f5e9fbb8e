//! Approval policies for just-in-time access and actions: who may request
//! what, who is routed to approve it, how many approvals it needs, how long
//! access may last or an approval stays valid, and whether step-up MFA is
//! needed.
//!
//! Pure: no IO, no clock. Callers hand in the document text and the facts
//! of a request (people, subject, SoD severity); durations come back as
//! seconds for the caller to add to its own clock.
//!
//! - [`PolicySet::parse`] reads a policies document (TOML, optionally with
//!   embedded Cedar) and reports every problem at once, each with its line,
//!   column and key path; Cedar policies are validated against
//!   [`CEDAR_SCHEMA`].
//! - [`PolicySet::default_policy`] is what applies before any document is
//!   loaded.
//! - [`PolicySet::plan`] decides whether a request may be made and how it is
//!   to be approved ([`Plan`]), or refuses it ([`Refusal`]).
//! - [`PolicySet::may_approve`] decides whether one person is an eligible
//!   approver by policy.
//!
//! # Semantics (docs/policies.md has the whole format)
//!
//! - The **first** `[[access]]` (for entitlements and roles) or `[[action]]`
//!   rule that matches applies, in document order; with none, `[defaults]`.
//! - `approvers` is a list; each entry routes to one source (an owner, a
//!   manager, a person) or a whole group, and `a|b|c` takes the first
//!   alternative that adds someone (and, while more approvals are needed
//!   than found, the next ones). The candidates are the union, in order,
//!   never the requester or the beneficiary. `count` approvals are needed
//!   from them, `critical_approvals` when the request would add a critical
//!   SoD conflict, whichever is more.
//! - With Cedar text, a request also needs a Cedar permit for
//!   `Action::"request"` (principal: the requester) and an approver one for
//!   `Action::"approve"` (principal: the approver); forbid wins. Without,
//!   any active person may request and routing alone decides.
//! - Always, whatever the document: the requester must be active and the
//!   beneficiary not terminated; a terminated person never approves.
//!
//! # What this crate does not do
//!
//! The built-in approval rules (no self-approval, not the author, no
//! terminated approver, no SoD-conflicted approver) are the caller's. Nothing
//! here can relax them: a [`Plan`] only proposes candidates, and
//! [`PolicySet::may_approve`] only ever says no for policy reasons; the
//! caller applies its rules to whatever this crate allows.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "tests"
    )
)]

mod cedar;
mod duration;
mod error;
mod facts;
mod file;
mod gate;
mod glob;
mod parse;
mod plan;
mod rules;

pub use cedar::CEDAR_SCHEMA;
pub use duration::{format_duration, parse_duration};
pub use error::{Place, PolicyError, Problem, Warning, render_errors};
pub use facts::{PersonFacts, PersonStatus, RequestFacts, Subject};
pub use gate::GateSettings;
pub use parse::KNOWN_ACTION_KINDS;
pub use plan::{Plan, Refusal, RefusalKind};
pub use soxctl_sod::Severity;

/// `1 person`, `3 people`: for messages.
pub(crate) fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}

use cedar::{Act, CedarPolicies};
use rules::{Approver, Defaults, Groups, Matcher, Rule, Source};

/// A validated policies document (or the built-in default).
#[derive(Debug, Clone)]
pub struct PolicySet {
    break_glass: Option<BreakGlass>,
    gate: GateSettings,
    defaults: Defaults,
    groups: Groups,
    rules: Vec<Rule>,
    cedar: Option<CedarPolicies>,
    /// What `matched_rule` says when no rule matches.
    fallback_name: &'static str,
}

/// Emergency access without prior approval (`[break_glass]`): only for
/// the people named, for at most `max_duration_secs`. Granting, alerting
/// and the after-review are the workflow's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlass {
    pub people: Vec<String>,
    pub max_duration_secs: u64,
}

/// `[break_glass] max_duration` when the document leaves it out.
pub const BREAK_GLASS_DEFAULT_SECS: u64 = 2 * 3_600;
/// The longest `[break_glass] max_duration` accepted.
pub const BREAK_GLASS_LIMIT_SECS: u64 = 24 * 3_600;

/// `matched_rule` of the built-in default policy.
pub const BUILTIN_RULE: &str = "built-in default";
/// `matched_rule` when a document's rules do not match and `[defaults]` applies.
pub const DEFAULTS_RULE: &str = "[defaults]";

impl PolicySet {
    /// Parses and validates a policies document, reporting every problem
    /// found, each with its place. Warnings are things that are legal but
    /// probably not meant (a rule that can never apply, an unused group).
    pub fn parse(text: &str) -> Result<(PolicySet, Vec<Warning>), Vec<PolicyError>> {
        let (parsed, warnings) = parse::parse(text)?;
        Ok((
            Self {
                break_glass: parsed.break_glass,
                gate: parsed.gate,
                defaults: parsed.defaults,
                groups: parsed.groups,
                rules: parsed.rules,
                cedar: parsed.cedar,
                fallback_name: DEFAULTS_RULE,
            },
            warnings,
        ))
    }

    /// Who may break the glass, and for how long; none: break-glass is off.
    pub fn break_glass(&self) -> Option<&BreakGlass> {
        self.break_glass.as_ref()
    }

    /// The change gate's settings (`[gate]`).
    pub fn gate(&self) -> &GateSettings {
        &self.gate
    }

    /// The policy in force before any policies document is loaded: any
    /// active person may request; approvers are the entitlement (or role)
    /// owner, else the system owner, else the requester's manager; one
    /// approval, two for a critical SoD conflict; access at most 8 h; action
    /// approvals valid 24 h; undecided requests expire after 72 h; no MFA.
    pub fn default_policy() -> PolicySet {
        Self {
            break_glass: None,
            gate: GateSettings::default(),
            defaults: Defaults::builtin(),
            groups: Groups::new(),
            rules: Vec::new(),
            cedar: None,
            fallback_name: BUILTIN_RULE,
        }
    }

    /// Whether the document embeds Cedar policies.
    pub fn has_cedar(&self) -> bool {
        self.cedar.is_some()
    }

    /// The members of a `[groups]` entry.
    pub fn group(&self, name: &str) -> Option<&[String]> {
        self.groups.get(name).map(Vec::as_slice)
    }

    /// The groups a person is in, by name.
    pub fn groups_of(&self, person_id: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|(_, members)| members.iter().any(|m| m == person_id))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// May this requester ask for this, and how is it to be approved?
    pub fn plan(&self, request: &RequestFacts) -> Result<Plan, Refusal> {
        let r = request;
        if r.requester.status != PersonStatus::Active {
            return Err(Refusal::new(
                RefusalKind::NotPermitted,
                format!(
                    "{} is {}; only active people may make requests",
                    r.requester.id, r.requester.status
                ),
            ));
        }
        if r.beneficiary.status == PersonStatus::Terminated {
            return Err(Refusal::new(
                RefusalKind::NotPermitted,
                format!(
                    "{} is terminated; nothing may be requested for a leaver",
                    r.beneficiary.id
                ),
            ));
        }
        let rule = self.rules.iter().find(|rule| matches(rule, &r.subject));
        let name = rule.map_or_else(|| self.fallback_name.to_owned(), Rule::name);
        let d = &self.defaults;

        let (max_duration, window) = if r.subject.is_access() {
            let max = rule
                .and_then(|rule| rule.duration)
                .unwrap_or(d.max_duration);
            if let Some(asked) = r.duration_secs.filter(|&asked| asked > max) {
                return Err(Refusal::new(
                    RefusalKind::TooLong,
                    format!(
                        "{} asks for {} but {name} allows at most {}; ask for {} or less",
                        r.subject.describe(),
                        format_duration(asked),
                        format_duration(max),
                        format_duration(max)
                    ),
                ));
            }
            (Some(max), None)
        } else {
            let window = rule
                .and_then(|rule| rule.duration)
                .unwrap_or(d.approval_window);
            (None, Some(window))
        };
        // What Cedar sees as the duration: asked for, else the longest allowed.
        let effective = r
            .duration_secs
            .or(max_duration)
            .or(window)
            .unwrap_or_default();

        if let Some(cedar) = &self.cedar {
            cedar
                .decide(Act::Request, &r.requester, r, effective, &self.groups)
                .map_err(|why| {
                    Refusal::new(
                        RefusalKind::NotPermitted,
                        format!(
                            "{why}; the policies document's Cedar text decides who may request what"
                        ),
                    )
                })?;
        }

        let route = rule.map(|rule| &rule.route);
        if route.is_some_and(|route| route.ticket_required) && !r.has_ticket {
            return Err(Refusal::new(
                RefusalKind::TicketRequired,
                format!("{name} requires a ticket reference; make the request again with one"),
            ));
        }

        let approvers = route
            .and_then(|route| route.approvers.as_deref())
            .unwrap_or(&d.approvers);
        let count = route.and_then(|route| route.count).unwrap_or(d.count);
        let critical = r.worst_sod_severity == Some(Severity::Critical);
        let required = if critical {
            count.max(d.critical_approvals)
        } else {
            count
        };
        let (candidates, notes) = self.route(approvers, r, required as usize);
        if candidates.len() < required as usize {
            let routed = if candidates.is_empty() {
                "nobody".to_owned()
            } else {
                candidates.join(", ")
            };
            let why = if critical && required > count {
                format!(
                    "{required} approvals (critical SoD conflict: critical_approvals = {required})"
                )
            } else {
                format!("{required} approval(s)")
            };
            let fix = if rule.is_none() && self.fallback_name == BUILTIN_RULE {
                "load a policies document whose rules route it to enough people".to_owned()
            } else {
                format!(
                    "add approvers to {name} in the policies document (a group:NAME with enough members, or a person:ID)"
                )
            };
            return Err(Refusal::new(
                RefusalKind::NotRouted,
                format!(
                    "{} needs {why} under {name}, but its approvers route to {} ({routed}){}; \
                     {fix}, or set the missing owner or manager in the inventory",
                    r.subject.describe(),
                    people(candidates.len()),
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", notes.join("; "))
                    }
                ),
            ));
        }

        Ok(Plan {
            candidates,
            required_approvals: required,
            max_duration_secs: max_duration,
            approval_window_secs: window,
            undecided_expiry_secs: route
                .and_then(|route| route.undecided_expiry)
                .unwrap_or(d.undecided_expiry),
            reminder_after_secs: route
                .and_then(|route| route.reminder_after)
                .or(d.reminder_after),
            escalate_after_secs: route
                .and_then(|route| route.escalate_after)
                .or(d.escalate_after),
            mfa_required: route.and_then(|route| route.mfa).unwrap_or(d.mfa),
            matched_rule: name,
        })
    }

    /// Is `candidate` an eligible approver of this request by policy: the
    /// request is plannable, the candidate is among those routed to, not
    /// terminated, and (with Cedar text) permitted to `approve`? The
    /// caller's built-in rules apply on top.
    pub fn may_approve(
        &self,
        request: &RequestFacts,
        candidate: &PersonFacts,
    ) -> Result<(), Refusal> {
        let plan = self.plan(request)?;
        if candidate.status == PersonStatus::Terminated {
            return Err(Refusal::new(
                RefusalKind::NotPermitted,
                format!("{} is terminated and cannot approve", candidate.id),
            ));
        }
        if !plan.candidates.contains(&candidate.id) {
            return Err(Refusal::new(
                RefusalKind::NotRouted,
                format!(
                    "{} is not an approver of {} under {}; it is routed to {}",
                    candidate.id,
                    request.subject.describe(),
                    plan.matched_rule,
                    plan.candidates.join(", ")
                ),
            ));
        }
        self.cedar_permits_approval(&plan, request, candidate)
    }

    /// May `decider` decide now in a seat the request already routed (theirs,
    /// or the one a delegation gives them)? The seat gives the routing; the
    /// decider must still not be terminated and, with Cedar text, be
    /// permitted to `approve` under the policy in force: a policy tightened
    /// since the request was made applies, and a delegation never widens
    /// who may approve what. Gives the plan the request has now.
    pub fn may_decide(
        &self,
        request: &RequestFacts,
        decider: &PersonFacts,
    ) -> Result<Plan, Refusal> {
        let plan = self.plan(request)?;
        if decider.status == PersonStatus::Terminated {
            return Err(Refusal::new(
                RefusalKind::NotPermitted,
                format!("{} is terminated and cannot approve", decider.id),
            ));
        }
        self.cedar_permits_approval(&plan, request, decider)?;
        Ok(plan)
    }

    fn cedar_permits_approval(
        &self,
        plan: &Plan,
        request: &RequestFacts,
        candidate: &PersonFacts,
    ) -> Result<(), Refusal> {
        if let Some(cedar) = &self.cedar {
            let effective = request
                .duration_secs
                .or(plan.max_duration_secs)
                .or(plan.approval_window_secs)
                .unwrap_or_default();
            cedar
                .decide(Act::Approve, candidate, request, effective, &self.groups)
                .map_err(|why| {
                    Refusal::new(
                        RefusalKind::NotPermitted,
                        format!("{why}; ask another of {}", plan.candidates.join(", ")),
                    )
                })?;
        }
        Ok(())
    }

    /// The candidates of `approvers` for this request, and why each
    /// source that named nobody did not (for refusals).
    ///
    /// Every entry contributes its first alternative that adds someone new.
    /// While that is fewer people than `required`, the entries' later
    /// alternatives are drawn, entry by entry, in order: `owner|manager`
    /// gives the owner for one approval and the owner and the manager for
    /// two.
    fn route(
        &self,
        approvers: &[Approver],
        r: &RequestFacts,
        required: usize,
    ) -> (Vec<String>, Vec<String>) {
        let mut candidates: Vec<String> = Vec::new();
        let mut notes = Vec::new();
        let mut next = vec![0usize; approvers.len()];
        let mut first_pass = true;
        loop {
            for (approver, next) in approvers.iter().zip(next.iter_mut()) {
                if !first_pass && candidates.len() >= required {
                    break;
                }
                while let Some(source) = approver.alternatives.get(*next) {
                    *next += 1;
                    let (people, missing) = self.resolve(source, r);
                    let mut fresh: Vec<String> = Vec::new();
                    for p in people {
                        if p != r.requester.id
                            && p != r.beneficiary.id
                            && !candidates.contains(&p)
                            && !fresh.contains(&p)
                        {
                            fresh.push(p);
                        }
                    }
                    if fresh.is_empty() {
                        notes.push(missing.unwrap_or_else(|| {
                            format!(
                                "{} adds nobody besides the requester, the beneficiary and those already routed to",
                                source.label()
                            )
                        }));
                        continue;
                    }
                    candidates.extend(fresh);
                    break;
                }
            }
            first_pass = false;
            let exhausted = approvers
                .iter()
                .zip(&next)
                .all(|(a, &n)| n >= a.alternatives.len());
            if candidates.len() >= required || exhausted {
                return (candidates, notes);
            }
        }
    }

    /// Who a source names for this request; when nobody, why.
    fn resolve(&self, source: &Source, r: &RequestFacts) -> (Vec<String>, Option<String>) {
        let one = |who: Option<&String>, missing: String| match who {
            Some(id) => (vec![id.clone()], None),
            None => (Vec::new(), Some(missing)),
        };
        match (source, &r.subject) {
            (
                Source::EntitlementOwner,
                Subject::Entitlement {
                    entitlement_owner, ..
                },
            ) => one(
                entitlement_owner.as_ref(),
                format!("entitlement_owner: {} has no owner", r.subject.describe()),
            ),
            (
                Source::SystemOwner,
                Subject::Entitlement {
                    system_id,
                    system_owner,
                    ..
                },
            ) => one(
                system_owner.as_ref(),
                format!("system_owner: system {system_id} has no owner"),
            ),
            (Source::RoleOwner, Subject::Role { role_owner, .. }) => one(
                role_owner.as_ref(),
                format!("role_owner: {} has no owner", r.subject.describe()),
            ),
            (Source::EntitlementOwner | Source::SystemOwner | Source::RoleOwner, _) => (
                Vec::new(),
                Some(format!(
                    "{} does not apply to {}",
                    source.label(),
                    r.subject.describe()
                )),
            ),
            (Source::Manager, _) => one(
                r.requester.manager_id.as_ref(),
                format!("manager: {} has no manager", r.requester.id),
            ),
            (Source::BeneficiaryManager, _) => one(
                r.beneficiary.manager_id.as_ref(),
                format!("beneficiary_manager: {} has no manager", r.beneficiary.id),
            ),
            (Source::Group(name), _) => {
                let members = self.groups.get(name).cloned().unwrap_or_default();
                let why = (members.is_empty()).then(|| format!("group:{name} has no members"));
                (members, why)
            }
            (Source::Person(id), _) => (vec![id.clone()], None),
        }
    }
}

/// Whether a rule applies to a subject.
fn matches(rule: &Rule, subject: &Subject) -> bool {
    let any = |patterns: &[String], text: &str| patterns.iter().any(|p| glob::matches(p, text));
    match (&rule.matcher, subject) {
        (
            Matcher::Access {
                entitlements,
                privileged: want,
                ..
            },
            Subject::Entitlement {
                system_id,
                entitlement_id,
                privileged,
                ..
            },
        ) => {
            want.is_none_or(|w| w == *privileged)
                && any(entitlements, &format!("{system_id}:{entitlement_id}"))
        }
        (
            Matcher::Access {
                roles,
                privileged: want,
                ..
            },
            Subject::Role {
                role_id,
                privileged,
                ..
            },
        ) => want.is_none_or(|w| w == *privileged) && any(roles, role_id),
        (Matcher::Action { kinds, envs }, Subject::Action { kind, env }) => {
            any(kinds, kind) && (envs.is_empty() || any(envs, env))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
