//! CI identity tokens as gate credentials, end to end over HTTP: a real
//! local OIDC issuer (testkit: keys from openssl, discovery and JWKS on
//! loopback) signs GitHub-shaped tokens; the policies document's
//! `[[pipeline]]` entry pins repository, ref, workflow and environment; the
//! token's claims, never an argument, name who triggered the run (the
//! requester) and who deploys.

use super::*;
use soxctl_model::document::DocumentKind;
use soxctl_model::event::{AccountFact, SystemFact};
use soxctl_model::ids::{AccountId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, System};
use soxctl_testkit::OidcIssuer;

const OLGA: &str = "olga-ci-secret";
const COMMIT: &str = "5d3a1f0e9c7b4a2d8e6f1c3b5a7d9e0f2c4b6a8d";

/// rita writes and triggers; olga (rita's manager) approves; dave deploys.
/// rita and dave have GitHub accounts named by their logins.
async fn seed(store: &Store, issuer: &OidcIssuer) {
    let rita = Person {
        manager_id: Some(PersonId::parse("olga").unwrap()),
        ..test_person("rita", PersonStatus::Active)
    };
    put_person(store, &rita, true).await;
    put_person(store, &test_person("olga", PersonStatus::Active), true).await;
    put_person(store, &test_person("dave", PersonStatus::Active), true).await;
    let actor = Principal::system("test");
    let github = SystemId::parse("github").unwrap();
    let account = |id: &str, person: &str| {
        Event::AccountAdded(AccountFact {
            origin: Origin::default(),
            changed: None,
            account: Account {
                system_id: github.clone(),
                account_id: AccountId::parse(id).unwrap(),
                person_id: Some(PersonId::parse(person).unwrap()),
                kind: AccountKind::Human,
                status: AccountStatus::Active,
                last_login: None,
                mfa: None,
                owner_id: None,
                credential_rotated_at: None,
            },
        })
    };
    let Event::TokenCreated(mut olga) = token_event("olga-ci-t", OLGA, &[Scope::Request], None)
    else {
        unreachable!()
    };
    olga.person_id = Some(PersonId::parse("olga").unwrap());
    let events = [
        Event::SystemAdded(SystemFact {
            origin: Origin::default(),
            changed: None,
            system: System {
                system_id: github.clone(),
                name: "GitHub".into(),
                kind: None,
                owner_id: None,
                sox_in_scope: true,
            },
        }),
        account("rita-gh", "rita"),
        account("dave-gh", "dave"),
        Event::TokenCreated(olga),
    ];
    for event in events {
        store.append_one(&actor, &event).await.unwrap();
    }
    let policies = format!(
        r#"
[defaults]
approvers = ["manager"]

[[pipeline]]
id = "acme-app-prod"
issuer = "{}"
audience = "soxctl"
platform = "github"
repository = "acme/app"
repo = "github.com/acme/app"
refs = ["refs/heads/main"]
workflows = ["acme/app/.github/workflows/deploy.yml"]
environments = ["prod"]
actor_system = "github"
"#,
        issuer.url()
    );
    let mut tx = store.begin_write().await.unwrap();
    tx.load_document(&actor, DocumentKind::Policies, "approvals.toml", &policies)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn register_body() -> String {
    serde_json::json!({
        "env": "prod",
        "commit": COMMIT,
        "commits": [{"sha": COMMIT, "author": "Rita <rita@example.com>", "committer": "GitHub <noreply@github.com>"}],
    })
    .to_string()
}

#[tokio::test]
async fn ci_identity_tokens_register_and_deploy_as_the_trust_policy_allows() {
    let issuer = OidcIssuer::start().unwrap();
    on_both_backends(async |fx| {
        seed(&fx.store, &issuer).await;
        let app = fx.app();
        let token = |claims: serde_json::Value| issuer.github_token(claims).unwrap();
        let by_rita = token(serde_json::json!({"actor": "rita-gh"}));
        let before = ledger_size(&fx.store).await;

        // Each pin of the trust entry, and the token itself, refuse.
        let refusals = [
            (token(serde_json::json!({"actor": "rita-gh", "repository": "acme/other"})), StatusCode::FORBIDDEN, "repository"),
            (token(serde_json::json!({"actor": "rita-gh", "ref_protected": "false"})), StatusCode::FORBIDDEN, "not protected"),
            (token(serde_json::json!({"actor": "rita-gh", "ref": "refs/heads/feature", "job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/feature"})), StatusCode::FORBIDDEN, "refs"),
            (token(serde_json::json!({"actor": "rita-gh", "job_workflow_ref": "acme/app/.github/workflows/yolo.yml@refs/heads/main"})), StatusCode::FORBIDDEN, "workflows"),
            (token(serde_json::json!({"actor": "rita-gh", "environment": "staging"})), StatusCode::FORBIDDEN, "environment"),
            (token(serde_json::json!({"actor": "rita-gh", "exp": 1_000_000_000, "iat": 999_999_000, "nbf": 999_999_000})), StatusCode::UNAUTHORIZED, "expired"),
            (token(serde_json::json!({"actor": "rita-gh", "aud": "someone-else"})), StatusCode::UNAUTHORIZED, "audience"),
            (issuer.foreign_token(serde_json::json!({"actor": "rita-gh"})).unwrap(), StatusCode::UNAUTHORIZED, "signature"),
            (issuer.unsigned_token(serde_json::json!({"actor": "rita-gh"})).unwrap(), StatusCode::UNAUTHORIZED, "none"),
        ];
        for (jwt, status, needle) in refusals {
            let answer = post(&app, "/api/v1/gate/requests", Some(&jwt), None, &register_body()).await;
            assert_eq!(answer.status, status, "{needle}: {}", answer.text());
            assert!(answer.text().to_lowercase().contains(needle), "{needle}: {}", answer.text());
        }
        // The claims name who triggered the run: the body may not.
        let named = serde_json::json!({"env": "prod", "commit": COMMIT, "triggered_by": "olga",
            "commits": [{"sha": COMMIT, "author": "Rita <rita@example.com>", "committer": "Rita <rita@example.com>"}]});
        post(&app, "/api/v1/gate/requests", Some(&by_rita), None, &named.to_string())
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");

        let created = post(&app, "/api/v1/gate/requests", Some(&by_rita), None, &register_body()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let body = created.json();
        assert_eq!(body["requester_id"], "rita");
        assert_eq!(body["approvers"], serde_json::json!(["olga"]));
        assert_eq!(body["ask"]["action"]["repo"], "github.com/acme/app");
        assert!(body["ask"]["action"]["run"].as_str().unwrap().starts_with("ci:acme-app-prod run 8411"), "{body}");
        let id = body["request_id"].as_str().unwrap().to_owned();
        let approved = post(&app, &format!("/api/v1/requests/{id}/approve"), Some(OLGA), None, "{}").await;
        assert_eq!(approved.json()["status"], "approved", "{}", approved.text());

        // The deployer is who the token says ran the job.
        let check = format!("/api/v1/gate/check?commit={COMMIT}&env=prod");
        let by_dave = token(serde_json::json!({"actor": "dave-gh"}));
        let verdict = get(&app, &check, Some(&by_dave)).await.json();
        assert_eq!(verdict["allowed"], true, "{verdict}");
        let verdict = get(&app, &check, Some(&by_rita)).await.json();
        assert_eq!(verdict["allowed"], false, "the author deploys: {verdict}");
        get(&app, &format!("{check}&deployer=dave%40example.com"), Some(&by_rita))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let deployed = post(&app, "/api/v1/changes/deployed", Some(&by_dave), None,
            &serde_json::json!({"commit": COMMIT, "env": "prod"}).to_string()).await;
        assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text());
        assert_eq!(deployed.json()["request_id"], id.as_str(), "{}", deployed.text());
        let entries = get(&app, &format!("/api/v1/ledger/entries?from={}&count=1", deployed.json()["ledger_seq"]), Some(READ)).await.text();
        let entry: serde_json::Value = serde_json::from_str(entries.lines().next().unwrap()).unwrap();
        assert_eq!(entry["actor"], "system:pipeline", "{entry}");
        assert_eq!(entry["payload"]["deployer_person"], "dave", "{entry}");
        assert_eq!(entry["payload"]["repo"], "github.com/acme/app", "{entry}");
        assert_verifies(&fx).await;
    })
    .await;
}
