//! Correlation: which person an account belongs to. A source that knows it
//! (an HR-fed `accounts.csv` with `person_id`) says so; for the others
//! (directories, SaaS apps pushing SCIM) configurable rules match an account
//! attribute against a person attribute. An account no rule links stays
//! uncorrelated: a human one is an orphan, and SoD treats it as its own
//! identity.

use serde::Deserialize;
use soxctl_model::ids::{PersonId, SystemId};
use soxctl_model::inventory::Person;
use std::collections::{BTreeMap, HashMap};

/// The account attribute a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKey {
    AccountId,
    Email,
    Login,
    EmployeeId,
}

/// The person attribute a rule compares it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKey {
    PersonId,
    Email,
}

/// One correlation rule: `account` of an account in `system` (every system
/// when absent) equals `person` of exactly one person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub system: Option<SystemId>,
    pub account: AccountKey,
    pub person: PersonKey,
}

/// Rules in the order they are tried. The default links by email, which
/// every directory and SCIM client provides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, rename = "correlate")]
    pub rules: Vec<Rule>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            rules: vec![Rule {
                system: None,
                account: AccountKey::Email,
                person: PersonKey::Email,
            }],
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "correlation rules: {0}; write [[correlate]] tables with account = account_id|email|login|employee_id, person = person_id|email and an optional system"
)]
pub struct RulesError(String);

impl Rules {
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        toml::from_str(text).map_err(|e| RulesError(e.to_string()))
    }
}

/// What a source knows about an account, for the rules to match on.
#[derive(Debug, Clone, Default)]
pub struct AccountAttributes<'a> {
    pub account_id: &'a str,
    pub email: Option<&'a str>,
    pub login: Option<&'a str>,
    pub employee_id: Option<&'a str>,
}

/// The attributes a source (a directory) reports for one account, owned, so
/// that a snapshot can carry them to the import's correlation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountHints {
    pub email: Option<String>,
    pub login: Option<String>,
    pub employee_id: Option<String>,
}

impl AccountHints {
    pub fn attributes<'a>(&'a self, account_id: &'a str) -> AccountAttributes<'a> {
        AccountAttributes {
            account_id,
            email: self.email.as_deref(),
            login: self.login.as_deref(),
            employee_id: self.employee_id.as_deref(),
        }
    }
}

impl<'a> AccountAttributes<'a> {
    fn get(&self, key: AccountKey) -> Option<&'a str> {
        match key {
            AccountKey::AccountId => Some(self.account_id),
            AccountKey::Email => self.email,
            AccountKey::Login => self.login,
            AccountKey::EmployeeId => self.employee_id,
        }
        .filter(|v| !v.is_empty())
    }
}

/// People indexed for the rules. Emails compare case-insensitively; an email
/// two people share links nobody, because a guess is worse than an orphan.
pub struct Correlator {
    rules: Rules,
    ids: HashMap<String, PersonId>,
    emails: HashMap<String, Option<PersonId>>,
}

impl Correlator {
    pub fn new<'p>(people: impl IntoIterator<Item = &'p Person>, rules: Rules) -> Self {
        let mut ids = HashMap::new();
        let mut emails: HashMap<String, Option<PersonId>> = HashMap::new();
        for person in people {
            ids.insert(
                person.person_id.as_str().to_owned(),
                person.person_id.clone(),
            );
            if let Some(email) = &person.email {
                emails
                    .entry(email.to_lowercase())
                    .and_modify(|owner| *owner = None)
                    .or_insert_with(|| Some(person.person_id.clone()));
            }
        }
        Self { rules, ids, emails }
    }

    pub fn from_inventory(people: &BTreeMap<PersonId, Person>, rules: Rules) -> Self {
        Self::new(people.values(), rules)
    }

    /// The person this account belongs to: the one the source names when
    /// that person is known, else the first rule that matches exactly one.
    pub fn correlate(
        &self,
        system: &SystemId,
        named: Option<&PersonId>,
        account: &AccountAttributes<'_>,
    ) -> Option<PersonId> {
        if let Some(person) = named.and_then(|p| self.ids.get(p.as_str())) {
            return Some(person.clone());
        }
        self.rules
            .rules
            .iter()
            .filter(|rule| rule.system.as_ref().is_none_or(|s| s == system))
            .find_map(|rule| {
                let value = account.get(rule.account)?;
                match rule.person {
                    PersonKey::PersonId => self.ids.get(value).cloned(),
                    PersonKey::Email => self.emails.get(&value.to_lowercase()).cloned().flatten(),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use soxctl_model::inventory::PersonStatus;

    fn person(id: &str, email: Option<&str>) -> Person {
        Person {
            person_id: PersonId::parse(id).unwrap(),
            name: None,
            email: email.map(str::to_owned),
            manager_id: None,
            department: None,
            title: None,
            status: PersonStatus::Active,
            hire_date: None,
            termination_date: None,
        }
    }

    fn sys(s: &str) -> SystemId {
        SystemId::parse(s).unwrap()
    }

    #[test]
    fn a_named_known_person_wins_and_an_unknown_one_falls_back_to_rules() {
        let people = [person("p1", Some("Ada@Example.com")), person("p2", None)];
        let c = Correlator::new(&people, Rules::default());
        let attrs = AccountAttributes {
            account_id: "ada",
            email: Some("ada@example.COM"),
            ..Default::default()
        };
        let p2 = PersonId::parse("p2").unwrap();
        let ghost = PersonId::parse("ghost").unwrap();
        assert_eq!(c.correlate(&sys("ad"), Some(&p2), &attrs), Some(p2));
        assert_eq!(
            c.correlate(&sys("ad"), Some(&ghost), &attrs),
            Some(PersonId::parse("p1").unwrap())
        );
    }

    #[test]
    fn shared_emails_link_nobody() {
        let people = [person("p1", Some("x@e.com")), person("p2", Some("X@e.com"))];
        let c = Correlator::new(&people, Rules::default());
        let attrs = AccountAttributes {
            account_id: "x",
            email: Some("x@e.com"),
            ..Default::default()
        };
        assert_eq!(c.correlate(&sys("ad"), None, &attrs), None);
    }

    #[test]
    fn rules_apply_per_system_in_order() {
        let rules = Rules::parse(
            r#"
            [[correlate]]
            system = "ad"
            account = "employee_id"
            person = "person_id"

            [[correlate]]
            account = "account_id"
            person = "email"
            "#,
        )
        .unwrap();
        let people = [person("e100", Some("bob@e.com"))];
        let c = Correlator::new(&people, rules);
        let by_employee = AccountAttributes {
            account_id: "bob",
            employee_id: Some("e100"),
            ..Default::default()
        };
        assert!(c.correlate(&sys("ad"), None, &by_employee).is_some());
        assert_eq!(c.correlate(&sys("okta"), None, &by_employee), None);
        let by_login_email = AccountAttributes {
            account_id: "BOB@e.com",
            ..Default::default()
        };
        assert!(c.correlate(&sys("okta"), None, &by_login_email).is_some());
    }

    #[test]
    fn bad_rules_say_what_to_write() {
        let err =
            Rules::parse("[[correlate]]\naccount = \"uid\"\nperson = \"email\"\n").unwrap_err();
        assert!(
            err.to_string().contains("account = account_id|email"),
            "{err}"
        );
    }
}
