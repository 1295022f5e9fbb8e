//! The application landscape: systems, their entitlements and the business
//! roles that bundle them. Pure data, so reviewers can judge realism at a glance.
//!
//! Roles are designed to be conflict-free on their own: every segregation of
//! duties conflict in the demo is one that `plant.rs` put there and counted.

mod catalog;
mod roles;

pub(crate) use catalog::SYSTEMS;
pub(crate) use roles::{BASE_ROLE, DIRECT_GRANTS, ROLES, STRAY_VIEW_GRANTS};

/// How a system spells a person's account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoginStyle {
    /// `jsmith`, on-premise and database logins.
    Short,
    /// `JSMITH`, bank portals still shout.
    Upper,
    /// `jane.smith@example.com`, SaaS behind single sign-on.
    Email,
    /// `jsmith-exco`, personal GitHub handles joined to the company org.
    Handle,
}

pub(crate) struct EntSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub privileged: bool,
    pub description: &'static str,
}

pub(crate) struct SystemSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    /// Title of the system owner (a unique head or executive title).
    pub owner: &'static str,
    pub sox_in_scope: bool,
    pub login: LoginStyle,
    /// Postgres keeps no last-login by default; exporting an empty (unknown)
    /// value is more honest than inventing one.
    pub records_logins: bool,
    /// How many days an active user typically goes between logins.
    pub login_gap_days: i64,
    pub entitlements: &'static [EntSpec],
}

pub(crate) struct RoleSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub owner: &'static str,
    pub grants: &'static [(&'static str, &'static str)],
}

pub(crate) fn system(id: &str) -> Option<&'static SystemSpec> {
    SYSTEMS.iter().find(|s| s.id == id)
}

pub(crate) fn entitlement(system_id: &str, ent_id: &str) -> Option<&'static EntSpec> {
    system(system_id)?
        .entitlements
        .iter()
        .find(|e| e.id == ent_id)
}

pub(crate) fn role(id: &str) -> Option<&'static RoleSpec> {
    ROLES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PLANTED_SOD_PAIRS;

    #[test]
    fn catalog_references_resolve() {
        for r in ROLES {
            for (s, e) in r.grants {
                assert!(entitlement(s, e).is_some(), "{} -> {s}/{e}", r.id);
            }
        }
        for (_, s, e) in DIRECT_GRANTS {
            assert!(entitlement(s, e).is_some(), "{s}/{e}");
        }
        for (s, e) in STRAY_VIEW_GRANTS {
            assert!(entitlement(s, e).is_some_and(|x| !x.privileged), "{s}/{e}");
        }
        for p in PLANTED_SOD_PAIRS {
            assert!(entitlement(p.left.0, p.left.1).is_some());
            assert!(entitlement(p.right.0, p.right.1).is_some());
        }
    }

    #[test]
    fn no_role_holds_both_sides_of_a_conflict() {
        for r in ROLES {
            for p in PLANTED_SOD_PAIRS {
                let has = |x: (&str, &str)| r.grants.contains(&x);
                assert!(!(has(p.left) && has(p.right)), "role {} conflicts", r.id);
            }
        }
    }

    #[test]
    fn ids_are_sorted_and_unique() {
        let ids: Vec<_> = SYSTEMS.iter().map(|s| s.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
        for s in SYSTEMS {
            let ents: Vec<_> = s.entitlements.iter().map(|e| e.id).collect();
            let mut sorted = ents.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(ents, sorted, "{}", s.id);
        }
    }
}
