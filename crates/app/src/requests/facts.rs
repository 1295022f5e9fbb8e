//! The inventory's facts in the shape the policy engine judges.

use crate::error::{Result, invalid};
use crate::requests::context::Context;
use soxctl_model::ids::PersonId;
use soxctl_model::inventory::{Person, PersonStatus};
use soxctl_model::request::{AccessAsk, Ask};
use soxctl_policy::{PersonFacts, RequestFacts, Subject};

pub fn person<'a>(ctx: &'a Context, id: &PersonId, role: &str) -> Result<&'a Person> {
    ctx.inventory.people.get(id).ok_or_else(|| {
        invalid(format!(
            "the {role} '{id}' is not a person in the store: import people first (soxctl import) or check the id"
        ))
    })
}

pub fn person_facts(p: &Person) -> PersonFacts {
    PersonFacts {
        id: p.person_id.to_string(),
        status: match p.status {
            PersonStatus::Active => soxctl_policy::PersonStatus::Active,
            PersonStatus::Leave => soxctl_policy::PersonStatus::Leave,
            PersonStatus::Terminated => soxctl_policy::PersonStatus::Terminated,
        },
        manager_id: p.manager_id.as_ref().map(ToString::to_string),
        department: p.department.clone(),
        title: p.title.clone(),
    }
}

fn access_subject(ctx: &Context, a: &AccessAsk) -> Subject {
    let inv = &ctx.inventory;
    let privileged = a.items.iter().any(|i| {
        inv.entitlements
            .get(&(i.system_id.clone(), i.entitlement_id.clone()))
            .is_some_and(|e| e.privileged)
    });
    match (&a.role_id, a.items.first()) {
        (Some(role_id), _) => Subject::Role {
            role_id: role_id.to_string(),
            privileged,
            role_owner: inv
                .roles
                .get(role_id)
                .and_then(|r| r.owner_id.as_ref())
                .map(ToString::to_string),
        },
        (None, item) => {
            let entitlement = item.and_then(|i| {
                inv.entitlements
                    .get(&(i.system_id.clone(), i.entitlement_id.clone()))
            });
            Subject::Entitlement {
                system_id: item.map(|i| i.system_id.to_string()).unwrap_or_default(),
                entitlement_id: item
                    .map(|i| i.entitlement_id.to_string())
                    .unwrap_or_default(),
                privileged,
                entitlement_owner: entitlement
                    .and_then(|e| e.owner_id.as_ref())
                    .map(ToString::to_string),
                system_owner: item
                    .and_then(|i| inv.systems.get(&i.system_id))
                    .and_then(|s| s.owner_id.as_ref())
                    .map(ToString::to_string),
            }
        }
    }
}

/// The facts of a request, for `plan` and `may_approve`.
pub fn request_facts(
    ctx: &Context,
    requester: &Person,
    ask: &Ask,
    worst_sod: Option<soxctl_policy::Severity>,
    has_ticket: bool,
) -> Result<RequestFacts> {
    let (beneficiary, subject, duration_secs) = match ask {
        Ask::Access(a) => (
            person(ctx, &a.person_id, "person who would hold the access")?,
            access_subject(ctx, a),
            Some(a.duration_secs),
        ),
        Ask::Action(a) => (
            requester,
            Subject::Action {
                kind: a.kind.clone(),
                env: a.env.clone(),
            },
            None,
        ),
    };
    Ok(RequestFacts {
        requester: person_facts(requester),
        beneficiary: person_facts(beneficiary),
        subject,
        duration_secs,
        worst_sod_severity: worst_sod,
        has_ticket,
        proxy_credential: false,
    })
}
