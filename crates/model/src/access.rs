//! Authorisation as a typed gate.
//!
//! A handler or use case that needs a right takes the capability value as an
//! argument. Capabilities have private fields, so the only way to obtain one is
//! [`Caller::require`], which checks the caller's scopes: a path that forgot
//! the check does not compile.

use crate::ids::SystemId;
use crate::principal::{Principal, Scope};
use std::collections::BTreeSet;

/// An authenticated caller: who, and with which scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    principal: Principal,
    scopes: BTreeSet<Scope>,
    system: Option<SystemId>,
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
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

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

pub trait Capability: Sized {
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
    pub actor: Principal,
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
    pub actor: Principal,
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
    /// For deployments that configure `/metrics` as public.
    pub fn public_by_configuration() -> Self {
        Self(())
    }
}

/// Push identities of exactly one system (the token's) over SCIM.
#[derive(Debug, Clone)]
pub struct ScimAccess {
    pub actor: Principal,
    pub system: SystemId,
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
        assert_eq!(scim.system.as_str(), "erp");
        let denied = caller(&[Scope::Read], None)
            .require::<AdminAccess>()
            .unwrap_err();
        assert_eq!(
            denied.to_string(),
            "token:t1 lacks the 'admin' scope for this operation; ask an admin for a token with it"
        );
    }
}
