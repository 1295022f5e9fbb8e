//! From an identity (parsed, folded) to the person it names: by person id,
//! by the person's email, or by the id of one of their accounts (a
//! source-control system's accounts are its commit emails or logins). The
//! same rule in memory (a request's authors, against the inventory) and
//! against the store (a deployer at the gate).

use crate::error::{Result, invalid};
use soxctl_model::access::TriggeredBy;
use soxctl_model::identity::{CanonicalEmail, EmailFolding, Identity};
use soxctl_model::ids::{PersonId, SystemId};
use soxctl_model::inventory::Inventory;
use soxctl_store::requests::{IdentityCandidate, IdentityKeyKind};
use soxctl_store::{Store, WriteTx};
use std::collections::BTreeSet;

/// Whom an identity names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Person(PersonId),
    Nobody,
    /// Several people answer to it (two people's accounts share an id):
    /// it names nobody for sure.
    Several(Vec<PersonId>),
}

impl Named {
    pub fn person(&self) -> Option<&PersonId> {
        match self {
            Self::Person(p) => Some(p),
            _ => None,
        }
    }
}

/// Committers that are a platform, not a person: GitHub's web interface
/// signs squash and rebase merges as itself, GitLab likewise, and GitHub
/// Apps commit as `name[bot]`. They name nobody; as a commit's author they
/// hide who wrote it.
pub fn is_platform_identity(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let email = match (lower.rfind('<'), lower.rfind('>')) {
        (Some(l), Some(r)) if l < r => &lower[l + 1..r],
        _ => lower.trim(),
    };
    let email = email.trim();
    const PLATFORM_EMAILS: &[&str] = &["noreply@github.com", "noreply@gitlab.com"];
    // GitHub Apps commit as `ID+name[bot]@users.noreply.github.com`: the
    // address decides, never a display name anyone can choose.
    PLATFORM_EMAILS.contains(&email)
        || email
            .strip_suffix("@users.noreply.github.com")
            .is_some_and(|local| local.ends_with("[bot]"))
}

/// Parses `text` under `folding`; refused with the parser's reason.
pub fn parse(what: &str, text: &str, folding: EmailFolding) -> Result<Identity> {
    Identity::parse(text, folding).map_err(|e| invalid(format!("the {what}: {e}")))
}

/// Which candidates `identity` names, folding each candidate's key.
fn pick(identity: &Identity, folding: EmailFolding, candidates: &[IdentityCandidate]) -> Named {
    let mut people = BTreeSet::new();
    for c in candidates {
        let hit = match (identity, c.kind) {
            (Identity::Person(id), IdentityKeyKind::PersonId) => c.key == id.as_str(),
            (Identity::Person(id), IdentityKeyKind::AccountId) => {
                c.key.eq_ignore_ascii_case(id.as_str())
            }
            (Identity::Email(e), IdentityKeyKind::Email | IdentityKeyKind::AccountId) => {
                CanonicalEmail::parse(&c.key, folding).is_ok_and(|k| &k == e)
            }
            _ => false,
        };
        if hit {
            people.insert(c.person_id.clone());
        }
    }
    // A person id that is also another person's account id (a CI login
    // someone chose) names both: nobody for sure.
    let mut people: Vec<PersonId> = people.into_iter().collect();
    match people.len() {
        0 => Named::Nobody,
        1 => Named::Person(people.remove(0)),
        _ => Named::Several(people),
    }
}

/// A LIKE pattern that finds every stored key that may fold to `email`:
/// the local part, anything (a sub-address), `@`, the domain, anything (a
/// trailing dot).
fn like_pattern(email: &CanonicalEmail) -> String {
    let escape = |s: &str| {
        s.chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect::<String>()
    };
    format!("{}%@{}%", escape(email.local()), escape(email.domain()))
}

fn query(identity: &Identity) -> (Option<String>, Option<String>) {
    match identity {
        Identity::Person(id) => (None, Some(id.as_str().to_owned())),
        Identity::Email(e) => (Some(like_pattern(e)), None),
    }
}

/// Where people are looked up: the store, or the write in progress.
pub trait Directory {
    fn candidates(
        &mut self,
        pattern: Option<&str>,
        exact: Option<&str>,
    ) -> impl Future<Output = Result<Vec<IdentityCandidate>>> + Send;

    /// The people whose accounts in `system` are called `account_id`.
    fn account_owners(
        &mut self,
        system: &SystemId,
        account_id: &str,
    ) -> impl Future<Output = Result<Vec<PersonId>>> + Send;
}

impl Directory for &Store {
    fn candidates(
        &mut self,
        pattern: Option<&str>,
        exact: Option<&str>,
    ) -> impl Future<Output = Result<Vec<IdentityCandidate>>> + Send {
        let store = *self;
        let (pattern, exact) = (pattern.map(str::to_owned), exact.map(str::to_owned));
        async move {
            Ok(store
                .identity_candidates(pattern.as_deref(), exact.as_deref())
                .await?)
        }
    }

    fn account_owners(
        &mut self,
        system: &SystemId,
        account_id: &str,
    ) -> impl Future<Output = Result<Vec<PersonId>>> + Send {
        let store = *self;
        let (system, account_id) = (system.clone(), account_id.to_owned());
        async move { Ok(store.account_owners(&system, &account_id).await?) }
    }
}

impl Directory for WriteTx {
    async fn candidates(
        &mut self,
        pattern: Option<&str>,
        exact: Option<&str>,
    ) -> Result<Vec<IdentityCandidate>> {
        Ok(self.identity_candidates(pattern, exact).await?)
    }

    async fn account_owners(
        &mut self,
        system: &SystemId,
        account_id: &str,
    ) -> Result<Vec<PersonId>> {
        Ok(WriteTx::account_owners(self, system, account_id).await?)
    }
}

/// Whom `identity` names in `directory`.
pub async fn resolve(
    directory: &mut impl Directory,
    identity: &Identity,
    folding: EmailFolding,
) -> Result<Named> {
    let (pattern, exact) = query(identity);
    let candidates = directory
        .candidates(pattern.as_deref(), exact.as_deref())
        .await?;
    Ok(pick(identity, folding, &candidates))
}

/// The person a CI platform's login (or email) names: an account with that
/// id in the platform's own system (the same login elsewhere may be
/// someone else's), else the email the platform gives. Returns the
/// identity as shown, and whom it names.
pub async fn resolve_run(
    directory: &mut impl Directory,
    by: &TriggeredBy,
    folding: EmailFolding,
) -> Result<(Identity, Named)> {
    if let Some(system) = &by.system {
        let mut owners = directory.account_owners(system, &by.login).await?;
        match owners.len() {
            1 => {
                let person = owners.remove(0);
                return Ok((Identity::Person(person.clone()), Named::Person(person)));
            }
            0 => {}
            _ => {
                let shown = parse("CI login", &by.login, folding)?;
                return Ok((shown, Named::Several(owners)));
            }
        }
    }
    if let Some(email) = &by.email {
        let identity = parse("email of who triggered the run", email, folding)?;
        let named = resolve(directory, &identity, folding).await?;
        return Ok((identity, named));
    }
    Ok((parse("CI login", &by.login, folding)?, Named::Nobody))
}

/// Whom `identity` names in an inventory held in memory.
pub fn resolve_in(inventory: &Inventory, identity: &Identity, folding: EmailFolding) -> Named {
    let mut candidates = Vec::new();
    for p in inventory.people.values() {
        candidates.push(IdentityCandidate {
            person_id: p.person_id.clone(),
            key: p.person_id.as_str().to_owned(),
            kind: IdentityKeyKind::PersonId,
        });
        if let Some(email) = &p.email {
            candidates.push(IdentityCandidate {
                person_id: p.person_id.clone(),
                key: email.clone(),
                kind: IdentityKeyKind::Email,
            });
        }
    }
    for a in inventory.accounts.values() {
        if let Some(person) = &a.person_id {
            candidates.push(IdentityCandidate {
                person_id: person.clone(),
                key: a.account_id.as_str().to_owned(),
                kind: IdentityKeyKind::AccountId,
            });
        }
    }
    pick(identity, folding, &candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory held in memory: `resolve` and `resolve_run` are tested
    /// without SQL through the `Directory` capability.
    struct Known {
        candidates: Vec<IdentityCandidate>,
        accounts: Vec<(SystemId, String, PersonId)>,
    }

    impl Directory for Known {
        async fn candidates(
            &mut self,
            _pattern: Option<&str>,
            _exact: Option<&str>,
        ) -> Result<Vec<IdentityCandidate>> {
            // Every candidate: `pick` must keep only the exact matches.
            Ok(self.candidates.clone())
        }

        async fn account_owners(
            &mut self,
            system: &SystemId,
            account_id: &str,
        ) -> Result<Vec<PersonId>> {
            Ok(self
                .accounts
                .iter()
                .filter(|(s, a, _)| s == system && a.eq_ignore_ascii_case(account_id))
                .map(|(_, _, p)| p.clone())
                .collect())
        }
    }

    #[tokio::test]
    async fn identities_resolve_through_a_directory_without_sql() {
        let (kevin, zoe) = (
            PersonId::parse("E1").unwrap(),
            PersonId::parse("E2").unwrap(),
        );
        let candidate = |person: &PersonId, key: &str, kind| IdentityCandidate {
            person_id: person.clone(),
            key: key.to_owned(),
            kind,
        };
        let github = SystemId::parse("github").unwrap();
        let mut directory = Known {
            candidates: vec![
                candidate(&kevin, "Kevin.Reyes@example.com", IdentityKeyKind::Email),
                candidate(&kevin, "E1", IdentityKeyKind::PersonId),
                candidate(&zoe, "zoe@example.com", IdentityKeyKind::Email),
                candidate(&zoe, "E2", IdentityKeyKind::PersonId),
                // Zoë's login elsewhere happens to be Kevin's person id.
                candidate(&zoe, "e1", IdentityKeyKind::AccountId),
            ],
            accounts: vec![(github.clone(), "kevin-reyes".into(), kevin.clone())],
        };
        let folding = EmailFolding::default();
        let named = |text: &str| Identity::parse(text, folding).unwrap();
        assert_eq!(
            resolve(
                &mut directory,
                &named("kevin.reyes+ci@example.com"),
                folding
            )
            .await
            .unwrap(),
            Named::Person(kevin.clone())
        );
        assert_eq!(
            resolve(&mut directory, &named("nobody@example.com"), folding)
                .await
                .unwrap(),
            Named::Nobody
        );
        assert!(matches!(
            resolve(&mut directory, &named("E1"), folding).await.unwrap(),
            Named::Several(people) if people.len() == 2
        ));
        let by = TriggeredBy {
            login: "Kevin-Reyes".into(),
            email: None,
            system: Some(github),
        };
        let (_, run) = resolve_run(&mut directory, &by, folding).await.unwrap();
        assert_eq!(run, Named::Person(kevin));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let e = CanonicalEmail::parse("a_b%c@example.com", EmailFolding::default()).unwrap();
        assert_eq!(like_pattern(&e), "a\\_b\\%c%@example.com%");
    }

    #[test]
    fn platform_identities_are_recognised() {
        for p in [
            "GitHub <noreply@github.com>",
            "noreply@github.com",
            "GitLab <NoReply@GitLab.com>",
            "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>",
            "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
            "41898282+github-actions[bot]@users.noreply.github.com",
        ] {
            assert!(is_platform_identity(p), "{p}");
        }
        for p in [
            "Kevin <kevin.reyes@example.com>",
            "Kevin <12345+kevin-reyes@users.noreply.github.com>",
            "Zoë [bot] <zoe.kumar+x@example.com>",
            "x[bot] <x[bot]@example.com>",
        ] {
            assert!(!is_platform_identity(p), "{p}");
        }
    }
}
