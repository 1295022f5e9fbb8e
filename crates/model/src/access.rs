//! Authorisation as a typed gate.
//!
//! A handler or use case that needs a right takes the capability value as an
//! argument: [`ReadAccess`], [`AdminAccess`], [`MetricsAccess`],
//! [`ScimAccess`]. Every capability's fields are private to this module, so
//! outside it a capability cannot be written as a struct literal; the only
//! ways to obtain one are [`Caller::require`] (equivalently
//! [`Capability::check`]), which checks the caller's scopes, and
//! [`MetricsAccess::public_by_configuration`] for deployments that declare
//! `/metrics` public. A path that forgot the check does not compile, and what
//! a capability carries (the acting principal, the SCIM system) is read back
//! through accessors such as [`AdminAccess::actor`] and [`ScimAccess::system`].
//!
//! The gate is only as good as the [`Caller`] it checks: [`Caller::authenticated`]
//! is for the authentication layer, after the credential checked out.
//!
//! ```
//! use soxctl_model::access::{AdminAccess, Caller};
//! use soxctl_model::ids::TokenId;
//! use soxctl_model::principal::{Principal, Scope};
//!
//! let caller = Caller::authenticated(
//!     Principal::Token(TokenId::parse("t1").unwrap()),
//!     [Scope::Admin].into_iter().collect(),
//!     None,
//! );
//! let admin: AdminAccess = caller.require().unwrap();
//! assert_eq!(admin.actor().to_string(), "token:t1");
//! ```
//!
//! Forging a capability without the check does not compile (private fields):
//!
//! ```compile_fail,E0451
//! use soxctl_model::access::AdminAccess;
//! use soxctl_model::principal::Principal;
//!
//! let forged = AdminAccess { actor: Principal::system("mallory") };
//! ```
//!
//! ```compile_fail,E0451
//! use soxctl_model::access::ScimAccess;
//! use soxctl_model::ids::SystemId;
//! use soxctl_model::principal::Principal;
//!
//! let forged = ScimAccess {
//!     actor: Principal::system("mallory"),
//!     system: SystemId::parse("erp").unwrap(),
//! };
//! ```
//!
//! ```compile_fail,E0423
//! use soxctl_model::access::MetricsAccess;
//!
//! let forged = MetricsAccess(());
//! ```

use crate::ids::{PersonId, SystemId};
use crate::principal::{Principal, Scope};
use std::collections::BTreeSet;

/// An authenticated caller: who, and with which scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: Principal,
    scopes: BTreeSet<Scope>,
    system: Option<SystemId>,
    person: Option<PersonId>,
    pipeline: Option<Pipeline>,
    issuer: Option<Issuer>,
}

/// Who issued the credential a person acts through: the ledger actor that
/// created it, and the person behind that actor when there is one. A
/// credential issued by anyone but its own person (an admin, `system:cli`)
/// proves nothing about who used it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The ledger actor that created the credential (`token:…`, `system:cli`).
    pub principal: String,
    /// The person behind that actor, if any.
    pub person: Option<PersonId>,
}

/// What a pipeline's credential is bound to: one repository, some
/// environments, and (for a CI identity token) who triggered the run, as
/// the CI platform signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// soxctl's name for the repository (`github.com/acme/app`).
    pub repo: String,
    /// Environment names or patterns (`*` and `?`).
    pub environments: Vec<String>,
    /// Who triggered the run, from the platform's signed claims; none for a
    /// static gate token (the pipeline states it).
    pub triggered_by: Option<TriggeredBy>,
    /// The CI run, for the record (`ci:TRUST run RUN_ID of WORKFLOW@REF`);
    /// none for a static gate token.
    pub run: Option<String>,
}

/// The person behind a CI run, as the CI platform names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggeredBy {
    /// The platform login (`kevin-reyes`).
    pub login: String,
    /// The email the platform gives, if any (GitLab does).
    pub email: Option<String>,
    /// The system whose account ids are the platform's logins (`github`).
    pub system: Option<SystemId>,
}

impl Pipeline {
    /// May this pipeline act in `env`?
    pub fn allows(&self, env: &str) -> bool {
        self.environments.iter().any(|p| glob(p, env))
    }
}

/// `*` any run, `?` one character, the rest literal.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.split_first(), t.split_first()) {
            (None, None) => true,
            (Some(('*', rest)), _) => go(rest, t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(('?', rest)), Some((_, t_rest))) => go(rest, t_rest),
            (Some((c, rest)), Some((d, t_rest))) if c == d => go(rest, t_rest),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Patterns and names are at most 64 characters (validated where they
    // enter), so the backtracking stays small.
    p.len() <= 64 && t.len() <= 64 && go(&p, &t)
}

impl Caller {
    /// Built by the authentication layer only after the credential checked out.
    pub fn authenticated(
        principal: Principal,
        scopes: BTreeSet<Scope>,
        system: Option<SystemId>,
    ) -> Self {
        Self {
            principal,
            scopes,
            system,
            person: None,
            pipeline: None,
            issuer: None,
        }
    }

    /// Who issued the credential, as the authentication layer found it.
    pub fn issued_by(mut self, issuer: Option<Issuer>) -> Self {
        self.issuer = issuer;
        self
    }

    /// The pipeline a gate credential is bound to, checked by the
    /// authentication layer.
    pub fn bound_to(mut self, pipeline: Option<Pipeline>) -> Self {
        self.pipeline = pipeline;
        self
    }

    /// The person a token acts for, checked active by the authentication layer.
    pub fn acting_for(mut self, person: Option<PersonId>) -> Self {
        self.person = person;
        self
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The capability `C` if this caller's scopes allow it: the way to
    /// obtain a capability.
    pub fn require<C: Capability>(&self) -> Result<C, Denied> {
        C::check(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{principal} lacks the '{needed}' scope for this operation; ask an admin for a token with it"
)]
pub struct Denied {
    pub principal: String,
    pub needed: &'static str,
}

/// A right. Implementations construct `Self` only after checking the
/// caller; use it through [`Caller::require`].
pub trait Capability: Sized {
    /// The capability if `caller`'s scopes allow it, else why not.
    fn check(caller: &Caller) -> Result<Self, Denied>;
}

fn deny(caller: &Caller, needed: &'static str) -> Denied {
    Denied {
        principal: caller.principal.to_string(),
        needed,
    }
}

/// Read the inventory, the ledger and findings.
#[derive(Debug, Clone)]
pub struct ReadAccess {
    actor: Principal,
}

impl ReadAccess {
    /// Who reads.
    pub fn actor(&self) -> &Principal {
        &self.actor
    }
}

impl Capability for ReadAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        if caller.has(Scope::Read) || caller.has(Scope::Admin) {
            Ok(Self {
                actor: caller.principal.clone(),
            })
        } else {
            Err(deny(caller, "read"))
        }
    }
}

/// Change configuration, issue tokens, load documents.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    actor: Principal,
}

impl AdminAccess {
    /// Who acts; the ledger records this principal as the actor.
    pub fn actor(&self) -> &Principal {
        &self.actor
    }
}

impl Capability for AdminAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        if caller.has(Scope::Admin) {
            Ok(Self {
                actor: caller.principal.clone(),
            })
        } else {
            Err(deny(caller, "admin"))
        }
    }
}

/// Scrape metrics.
#[derive(Debug, Clone)]
pub struct MetricsAccess(());

impl Capability for MetricsAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        if caller.has(Scope::Metrics) || caller.has(Scope::Admin) {
            Ok(Self(()))
        } else {
            Err(deny(caller, "metrics"))
        }
    }
}

impl MetricsAccess {
    /// The one capability granted without a caller, for deployments that
    /// configure `/metrics` as public (scrapers inside a trusted network that
    /// cannot send a token; the server's `metrics_public` option).
    ///
    /// It exists because "who may scrape" is then an operator's deployment
    /// decision, not a scope check, and it is acceptable only because this
    /// capability is the weakest there is: it carries no principal and
    /// unlocks nothing but aggregate counters (request counts and latencies,
    /// ledger size, checkpoint age), never inventory, ledger contents or
    /// tokens. Call it only where that configuration is read; every other
    /// path goes through [`Caller::require`].
    pub fn public_by_configuration() -> Self {
        Self(())
    }
}

/// Read requests, time-bound grants and delegations: readers, admins,
/// people who ask and approve (they must see what they decide), and
/// pipelines (they execute what was approved).
#[derive(Debug, Clone)]
pub struct WorkflowRead {
    actor: Principal,
}

impl WorkflowRead {
    pub fn actor(&self) -> &Principal {
        &self.actor
    }
}

impl Capability for WorkflowRead {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        if caller.has(Scope::Read)
            || caller.has(Scope::Admin)
            || caller.has(Scope::Request)
            || caller.has(Scope::Gate)
        {
            Ok(Self {
                actor: caller.principal.clone(),
            })
        } else {
            Err(deny(caller, "read, request or gate"))
        }
    }
}

/// Record deployments, and obtain and redeem execution tokens as the
/// executor: pipelines and executors (scope `gate`) and admins, never a
/// person's `request` token, which would let anyone who may ask use or burn
/// someone else's approval.
#[derive(Debug, Clone)]
pub struct GateAccess {
    actor: Principal,
    pipeline: Option<Pipeline>,
}

impl GateAccess {
    /// The executor or deployer's credential.
    pub fn actor(&self) -> &Principal {
        &self.actor
    }

    /// The repository and environments the credential is bound to; none
    /// for an unbound gate token or an admin.
    pub fn pipeline(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref()
    }
}

impl Capability for GateAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        if caller.has(Scope::Gate) || caller.has(Scope::Admin) {
            Ok(Self {
                actor: caller.principal.clone(),
                pipeline: caller.pipeline.clone(),
            })
        } else {
            Err(deny(caller, "gate"))
        }
    }
}

/// Act in the request workflow as a person: ask, approve, deny, cancel,
/// activate. Needs a token bound to a person (`token create --person`) with
/// the `request` scope; the built-in rules then judge that person.
#[derive(Debug, Clone)]
pub struct PersonAccess {
    actor: Principal,
    person: PersonId,
    admin: bool,
    issuer: Option<Issuer>,
}

impl PersonAccess {
    /// The credential that acts (the ledger's actor).
    pub fn actor(&self) -> &Principal {
        &self.actor
    }

    /// The person the credential acts for.
    pub fn person(&self) -> &PersonId {
        &self.person
    }

    /// The token also has the admin scope.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Who issued the credential, when it was not the person themselves
    /// (found up the chain of tokens that made it): decisions through it
    /// are judged as someone else's too.
    pub fn issued_by_other(&self) -> Option<&Issuer> {
        self.issuer.as_ref()
    }
}

impl Capability for PersonAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        match (&caller.person, caller.has(Scope::Request)) {
            (Some(person), true) => Ok(Self {
                actor: caller.principal.clone(),
                person: person.clone(),
                admin: caller.has(Scope::Admin),
                issuer: caller.issuer.clone(),
            }),
            _ => Err(deny(
                caller,
                "request (on a token bound to a person: --person)",
            )),
        }
    }
}

/// Push identities of exactly one system (the token's) over SCIM.
#[derive(Debug, Clone)]
pub struct ScimAccess {
    actor: Principal,
    system: SystemId,
}

impl ScimAccess {
    /// Who pushes (the SCIM token).
    pub fn actor(&self) -> &Principal {
        &self.actor
    }

    /// The one system this caller may push identities for.
    pub fn system(&self) -> &SystemId {
        &self.system
    }
}

impl Capability for ScimAccess {
    fn check(caller: &Caller) -> Result<Self, Denied> {
        match (&caller.system, caller.has(Scope::Scim)) {
            (Some(system), true) => Ok(Self {
                actor: caller.principal.clone(),
                system: system.clone(),
            }),
            _ => Err(deny(caller, "scim (with --system)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TokenId;

    fn caller(scopes: &[Scope], system: Option<&str>) -> Caller {
        Caller::authenticated(
            Principal::Token(TokenId::parse("t1").unwrap()),
            scopes.iter().copied().collect(),
            system.map(|s| SystemId::parse(s).unwrap()),
        )
    }

    #[test]
    fn scopes_gate_capabilities() {
        assert!(caller(&[Scope::Read], None).require::<ReadAccess>().is_ok());
        assert!(
            caller(&[Scope::Read], None)
                .require::<AdminAccess>()
                .is_err()
        );
        assert!(
            caller(&[Scope::Admin], None)
                .require::<ReadAccess>()
                .is_ok()
        );
        assert!(
            caller(&[Scope::Gate], None)
                .require::<MetricsAccess>()
                .is_err()
        );
        assert!(
            caller(&[Scope::Scim], None)
                .require::<ScimAccess>()
                .is_err()
        );
        let scim = caller(&[Scope::Scim], Some("erp"))
            .require::<ScimAccess>()
            .unwrap();
        assert_eq!(scim.system().as_str(), "erp");
        assert_eq!(scim.actor().to_string(), "token:t1");
        let denied = caller(&[Scope::Read], None)
            .require::<AdminAccess>()
            .unwrap_err();
        assert_eq!(
            denied.to_string(),
            "token:t1 lacks the 'admin' scope for this operation; ask an admin for a token with it"
        );
    }
}
