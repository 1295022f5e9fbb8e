//! Tests of the public behaviour, one file per concern: parsing and its
//! errors, matching, routing, plans and refusals, Cedar. The request builders
//! they share live here so each test reads as the facts it varies.

use super::*;

mod cedar;
mod matching;
mod parse;
mod plans;
mod routing;

fn parse_ok(text: &str) -> (PolicySet, Vec<Warning>) {
    match PolicySet::parse(text) {
        Ok(ok) => ok,
        Err(errors) => panic!("{}", render_errors(&errors)),
    }
}

fn errors(text: &str) -> Vec<String> {
    PolicySet::parse(text)
        .expect_err("the document should be rejected")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn person(id: &str, manager: Option<&str>) -> PersonFacts {
    PersonFacts {
        manager_id: manager.map(str::to_owned),
        ..PersonFacts::active(id)
    }
}

fn entitlement(
    system: &str,
    ent: &str,
    privileged: bool,
    owner: Option<&str>,
    system_owner: Option<&str>,
) -> Subject {
    Subject::Entitlement {
        system_id: system.into(),
        entitlement_id: ent.into(),
        privileged,
        entitlement_owner: owner.map(str::to_owned),
        system_owner: system_owner.map(str::to_owned),
    }
}

fn action(kind: &str, env: &str) -> Subject {
    Subject::Action {
        kind: kind.into(),
        env: env.into(),
    }
}

fn request(requester: PersonFacts, subject: Subject) -> RequestFacts {
    RequestFacts {
        beneficiary: requester.clone(),
        requester,
        subject,
        duration_secs: None,
        worst_sod_severity: None,
        has_ticket: false,
        proxy_credential: false,
    }
}

fn asker() -> PersonFacts {
    person("E1", Some("M1"))
}
