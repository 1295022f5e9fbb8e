//! Embedded Cedar policies: the schema they are written against, their
//! validation at parse time, and the `request` / `approve` decisions.

use crate::facts::{PersonFacts, RequestFacts, Subject};
use crate::rules::Groups;
use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Effect, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, PolicyId, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use miette::Diagnostic;
use soxctl_sod::Severity;
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

/// The schema every embedded Cedar text is validated against (Cedar schema
/// syntax). docs/policies.md shows it verbatim; a test keeps them equal.
pub const CEDAR_SCHEMA: &str = r#"entity Group;
entity Person in [Group] {
  status: String,
  department: String,
  title: String,
};
entity System;
entity Entitlement in [System] {
  system: String,
  privileged: Bool,
};
entity Role {
  privileged: Bool,
};
entity ActionKind;
type RequestContext = {
  requester: Person,
  beneficiary: Person,
  for_self: Bool,
  access: Bool,
  privileged: Bool,
  duration_secs: Long,
  env: String,
  sod_severity: String,
  sod_rank: Long,
  has_ticket: Bool,
  proxy_credential: Bool,
};
action "request", "approve" appliesTo {
  principal: [Person],
  resource: [Entitlement, Role, ActionKind],
  context: RequestContext,
};
"#;

/// A problem in the Cedar text: its byte offset in that text, if Cedar
/// gave one, and the message.
pub(crate) struct CedarProblem {
    pub offset: Option<usize>,
    pub message: String,
}

/// The decision being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Request,
    Approve,
}

impl Act {
    fn id(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Approve => "approve",
        }
    }
}

/// Entity type names, made once so that building a request cannot fail.
#[derive(Debug, Clone)]
struct Types {
    group: EntityTypeName,
    person: EntityTypeName,
    system: EntityTypeName,
    entitlement: EntityTypeName,
    role: EntityTypeName,
    action_kind: EntityTypeName,
    action: EntityTypeName,
}

#[derive(Debug, Clone)]
pub(crate) struct CedarPolicies {
    policies: cedar_policy::PolicySet,
    schema: Schema,
    types: Types,
    /// How refusals name a policy: its `@id` annotation, else its position.
    names: BTreeMap<PolicyId, String>,
}

fn type_name(name: &str) -> Result<EntityTypeName, CedarProblem> {
    EntityTypeName::from_str(name).map_err(|e| CedarProblem {
        offset: None,
        message: format!("internal: entity type {name}: {e}"),
    })
}

/// The start of the first label of a Cedar diagnostic: where the problem is.
fn first_offset(d: &dyn Diagnostic) -> Option<usize> {
    d.labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset())
}

fn message(d: &dyn Diagnostic) -> String {
    let mut m = d.to_string();
    if let Some(help) = d.help() {
        m.push_str("; ");
        m.push_str(&help.to_string());
    }
    m
}

impl CedarPolicies {
    /// Parses `text` and validates it strictly against [`CEDAR_SCHEMA`],
    /// returning every problem.
    pub(crate) fn compile(text: &str) -> Result<(Self, Vec<CedarProblem>), Vec<CedarProblem>> {
        let types = Types {
            group: type_name("Group").map_err(|e| vec![e])?,
            person: type_name("Person").map_err(|e| vec![e])?,
            system: type_name("System").map_err(|e| vec![e])?,
            entitlement: type_name("Entitlement").map_err(|e| vec![e])?,
            role: type_name("Role").map_err(|e| vec![e])?,
            action_kind: type_name("ActionKind").map_err(|e| vec![e])?,
            action: type_name("Action").map_err(|e| vec![e])?,
        };
        let (schema, _) = Schema::from_cedarschema_str(CEDAR_SCHEMA).map_err(|e| {
            vec![CedarProblem {
                offset: None,
                message: format!("internal: the policy schema does not parse: {e}"),
            }]
        })?;
        let policies = cedar_policy::PolicySet::from_str(text).map_err(|errors| {
            errors
                .iter()
                .map(|e| CedarProblem {
                    offset: first_offset(e),
                    message: message(e),
                })
                .collect::<Vec<_>>()
        })?;
        // Names first, so that validation errors can use them.
        let mut names = BTreeMap::new();
        let mut seen = BTreeMap::new();
        let mut problems = Vec::new();
        for p in policies.policies() {
            let name = match p.annotation("id") {
                Some(id) => {
                    if seen.insert(id.to_owned(), ()).is_some() {
                        problems.push(CedarProblem {
                            offset: None,
                            message: format!(
                                "two Cedar policies have @id(\"{id}\"); give each its own id"
                            ),
                        });
                    }
                    format!("\"{id}\"")
                }
                None => format!("{} (no @id)", p.id()),
            };
            names.insert(p.id().clone(), name);
        }
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        let named = |id: &PolicyId, m: String| match names.get(id) {
            // Cedar says "for policy `policy0`"; the document's reader knows its @id.
            Some(name) => m.replace(&format!("`{id}`"), name),
            None => m,
        };
        problems.extend(result.validation_errors().map(|e| CedarProblem {
            offset: first_offset(e),
            message: named(e.policy_id(), message(e)),
        }));
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut notes: Vec<CedarProblem> = result
            .validation_warnings()
            .map(|w| CedarProblem {
                offset: first_offset(w),
                message: named(w.policy_id(), message(w)),
            })
            .collect();
        let compiled = Self {
            policies,
            schema,
            types,
            names,
        };
        for act in [Act::Request, Act::Approve] {
            if !compiled.may_permit(act) {
                notes.push(CedarProblem {
                    offset: None,
                    message: format!(
                        "no permit policy applies to Action::\"{}\"; every {} will be refused",
                        act.id(),
                        match act {
                            Act::Request => "request",
                            Act::Approve => "approval",
                        }
                    ),
                });
            }
        }
        Ok((compiled, notes))
    }

    /// Whether some permit policy's action scope covers `act`.
    fn may_permit(&self, act: Act) -> bool {
        let uid = self.action_uid(act);
        self.policies.policies().any(|p| {
            p.effect() == Effect::Permit
                && match p.action_constraint() {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(a) => a == uid,
                    ActionConstraint::In(list) => list.contains(&uid),
                }
        })
    }

    fn uid(&self, ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    fn action_uid(&self, act: Act) -> EntityUid {
        self.uid(&self.types.action, act.id())
    }

    fn person(&self, p: &PersonFacts, groups: &Groups) -> Result<Entity, String> {
        let attrs = [
            ("status", p.status.as_str()),
            ("department", p.department.as_deref().unwrap_or("")),
            ("title", p.title.as_deref().unwrap_or("")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), RestrictedExpression::new_string(v.to_owned())))
        .collect();
        let parents: HashSet<EntityUid> = groups
            .iter()
            .filter(|(_, members)| members.contains(&p.id))
            .map(|(name, _)| self.uid(&self.types.group, name))
            .collect();
        Entity::new(self.uid(&self.types.person, &p.id), attrs, parents)
            .map_err(|e| format!("person {}: {e}", p.id))
    }

    fn resource(&self, subject: &Subject) -> Result<Entity, String> {
        let entity = match subject {
            Subject::Entitlement {
                system_id,
                entitlement_id,
                privileged,
                ..
            } => Entity::new(
                self.uid(
                    &self.types.entitlement,
                    &format!("{system_id}:{entitlement_id}"),
                ),
                [
                    (
                        "system".to_owned(),
                        RestrictedExpression::new_string(system_id.clone()),
                    ),
                    (
                        "privileged".to_owned(),
                        RestrictedExpression::new_bool(*privileged),
                    ),
                ]
                .into_iter()
                .collect(),
                HashSet::from([self.uid(&self.types.system, system_id)]),
            ),
            Subject::Role {
                role_id,
                privileged,
                ..
            } => Entity::new(
                self.uid(&self.types.role, role_id),
                [(
                    "privileged".to_owned(),
                    RestrictedExpression::new_bool(*privileged),
                )]
                .into_iter()
                .collect(),
                HashSet::new(),
            ),
            Subject::Action { kind, .. } => Ok(Entity::new_no_attrs(
                self.uid(&self.types.action_kind, kind),
                HashSet::new(),
            )),
        };
        entity.map_err(|e| format!("{}: {e}", subject.describe()))
    }

    fn context(&self, r: &RequestFacts, duration_secs: u64) -> Result<Context, String> {
        let (privileged, env) = match &r.subject {
            Subject::Entitlement { privileged, .. } | Subject::Role { privileged, .. } => {
                (*privileged, "")
            }
            Subject::Action { env, .. } => (false, env.as_str()),
        };
        let (severity, rank) = match r.worst_sod_severity {
            None => ("none", 0),
            Some(s) => (s.as_str(), severity_rank(s)),
        };
        let pairs = [
            (
                "requester",
                RestrictedExpression::new_entity_uid(self.uid(&self.types.person, &r.requester.id)),
            ),
            (
                "beneficiary",
                RestrictedExpression::new_entity_uid(
                    self.uid(&self.types.person, &r.beneficiary.id),
                ),
            ),
            (
                "for_self",
                RestrictedExpression::new_bool(r.requester.id == r.beneficiary.id),
            ),
            (
                "access",
                RestrictedExpression::new_bool(r.subject.is_access()),
            ),
            ("privileged", RestrictedExpression::new_bool(privileged)),
            (
                "duration_secs",
                RestrictedExpression::new_long(i64::try_from(duration_secs).unwrap_or(i64::MAX)),
            ),
            ("env", RestrictedExpression::new_string(env.to_owned())),
            (
                "sod_severity",
                RestrictedExpression::new_string(severity.to_owned()),
            ),
            ("sod_rank", RestrictedExpression::new_long(rank)),
            ("has_ticket", RestrictedExpression::new_bool(r.has_ticket)),
            (
                "proxy_credential",
                RestrictedExpression::new_bool(r.proxy_credential),
            ),
        ];
        Context::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)))
            .map_err(|e| format!("context: {e}"))
    }

    /// Whether `principal` may `act` on this request. `Err` says why not:
    /// the forbid policies that matched, or that no permit did.
    pub(crate) fn decide(
        &self,
        act: Act,
        principal: &PersonFacts,
        r: &RequestFacts,
        duration_secs: u64,
        groups: &Groups,
    ) -> Result<(), String> {
        let mut entities = Vec::new();
        let mut ids = HashSet::new();
        for p in [principal, &r.requester, &r.beneficiary] {
            // The same person may play several parts; the first facts count.
            if ids.insert(p.id.as_str()) {
                entities.push(self.person(p, groups)?);
            }
        }
        entities.push(self.resource(&r.subject)?);
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|e| format!("the request's facts do not fit the schema: {e}"))?;
        let request = Request::new(
            self.uid(&self.types.person, &principal.id),
            self.action_uid(act),
            self.resource_uid(&r.subject),
            self.context(r, duration_secs)?,
            Some(&self.schema),
        )
        .map_err(|e| format!("the request does not fit the schema: {e}"))?;
        let response = Authorizer::new().is_authorized(&request, &self.policies, &entities);
        if response.decision() == Decision::Allow {
            return Ok(());
        }
        let matched: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| {
                self.names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let mut why = if matched.is_empty() {
            format!(
                "no Cedar policy permits {} to {} {}",
                principal.id,
                act.id(),
                r.subject.describe()
            )
        } else {
            format!(
                "Cedar forbids {} to {} {} (policy {})",
                principal.id,
                act.id(),
                r.subject.describe(),
                matched.join(", ")
            )
        };
        if !errors.is_empty() {
            why.push_str(&format!(
                "; policies that failed to evaluate and were skipped: {}",
                errors.join("; ")
            ));
        }
        Err(why)
    }

    fn resource_uid(&self, subject: &Subject) -> EntityUid {
        match subject {
            Subject::Entitlement {
                system_id,
                entitlement_id,
                ..
            } => self.uid(
                &self.types.entitlement,
                &format!("{system_id}:{entitlement_id}"),
            ),
            Subject::Role { role_id, .. } => self.uid(&self.types.role, role_id),
            Subject::Action { kind, .. } => self.uid(&self.types.action_kind, kind),
        }
    }
}

/// `sod_rank`: Cedar compares numbers, not severities.
fn severity_rank(s: Severity) -> i64 {
    match s {
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// Every `Group::"name"` the Cedar text names, with its byte offset, so
/// that a misspelt group (which would silently match nobody) is an error.
pub(crate) fn named_groups(text: &str) -> Vec<(usize, String)> {
    const OPEN: &str = "Group::\"";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|rest| rest.find(OPEN)) {
        let start = from + at;
        let name_start = start + OPEN.len();
        let Some(len) = text.get(name_start..).and_then(|rest| rest.find('"')) else {
            break;
        };
        // `MyGroup::"x"` is another type; only a whole `Group` counts.
        let whole = text
            .get(..start)
            .and_then(|before| before.chars().next_back())
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        if whole && let Some(name) = text.get(name_start..name_start + len) {
            found.push((start, name.to_owned()));
        }
        from = name_start + len;
    }
    found
}
