//! Just-in-time requests over HTTP: person-bound tokens ask and decide, the
//! built-in rules answer 403 `refused`, state conflicts 409 `conflict`.

use super::*;
use soxctl_model::event::{AccountFact, EntitlementFact, SystemFact};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, Entitlement, System};

const RITA: &str = "rita-secret";
const OLGA: &str = "olga-secret";

fn person_token(id: &str, secret: &str, person: &str) -> Event {
    let Event::TokenCreated(mut t) = token_event(id, secret, &[Scope::Request], None) else {
        unreachable!()
    };
    t.person_id = Some(PersonId::parse(person).unwrap());
    Event::TokenCreated(t)
}

/// rita asks; olga owns erp:GL_POST and approves.
async fn seed(store: &Store) {
    put_person(store, &test_person("rita", PersonStatus::Active), true).await;
    put_person(store, &test_person("olga", PersonStatus::Active), true).await;
    let actor = Principal::system("test");
    let erp = SystemId::parse("erp").unwrap();
    let events = [
        Event::SystemAdded(SystemFact {
            origin: Origin::default(),
            changed: None,
            system: System {
                system_id: erp.clone(),
                name: "ERP".into(),
                kind: None,
                owner_id: None,
                sox_in_scope: true,
            },
        }),
        Event::EntitlementAdded(EntitlementFact {
            origin: Origin::default(),
            changed: None,
            entitlement: Entitlement {
                system_id: erp.clone(),
                entitlement_id: EntitlementId::parse("GL_POST").unwrap(),
                name: None,
                privileged: false,
                owner_id: Some(PersonId::parse("olga").unwrap()),
                description: None,
            },
        }),
        Event::AccountAdded(AccountFact {
            origin: Origin::default(),
            changed: None,
            account: Account {
                system_id: erp,
                account_id: AccountId::parse("rita").unwrap(),
                person_id: Some(PersonId::parse("rita").unwrap()),
                kind: AccountKind::Human,
                status: AccountStatus::Active,
                last_login: None,
                mfa: None,
                owner_id: None,
                credential_rotated_at: None,
            },
        }),
        person_token("rita-t", RITA, "rita"),
        person_token("olga-t", OLGA, "olga"),
    ];
    for event in events {
        store.append_one(&actor, &event).await.unwrap();
    }
}

#[tokio::test]
async fn people_ask_and_decide_with_their_own_tokens() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let ask = r#"{"entitlement":"erp:GL_POST","duration_secs":7200,"justification":"close","ticket":"CHG-1"}"#;
        // A reader is not a person: no asking.
        post(&app, "/api/v1/requests", Some(READ), None, ask)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let before = ledger_size(&fx.store).await;
        post(&app, "/api/v1/requests", Some(RITA), None, r#"{"entitlement":"erp:NOPE","justification":"x"}"#)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        post(&app, "/api/v1/requests", Some(RITA), None, r#"{"entitlement":"erp:GL_POST","justification":"x","colour":"red"}"#)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(ledger_size(&fx.store).await, before, "refused input records nothing");

        let created = post(&app, "/api/v1/requests", Some(RITA), Some("k1"), ask).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let body = created.json();
        let id = body["request_id"].as_str().unwrap().to_owned();
        assert_eq!(body["status"], "pending");
        assert_eq!(body["approvers"], serde_json::json!(["olga"]));
        // The same key again: the same request, nothing new.
        let again = post(&app, "/api/v1/requests", Some(RITA), Some("k1"), ask).await;
        assert_eq!(again.json()["request_id"], id.as_str());
        assert_eq!(again.header("idempotent-replayed"), "true");

        let approve = format!("/api/v1/requests/{id}/approve");
        let refused = post(&app, &approve, Some(RITA), None, "{}").await;
        let problem = refused.problem(StatusCode::FORBIDDEN, "refused");
        assert!(
            problem["detail"].as_str().unwrap().contains("nobody approves their own request"),
            "{problem}"
        );
        let approved = post(&app, &approve, Some(OLGA), None, r#"{"comment":"ok"}"#).await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        let body = approved.json();
        assert_eq!(body["status"], "approved");
        assert_eq!(body["grants"][0]["entitlement_id"], "GL_POST");
        assert_eq!(body["grants"][0]["active"], true);
        post(&app, &approve, Some(OLGA), None, "{}")
            .await
            .problem(StatusCode::CONFLICT, "conflict");

        let listed = get(&app, "/api/v1/requests?status=approved", Some(READ)).await;
        assert_eq!(listed.json()["requests"].as_array().unwrap().len(), 1);
        let shown = get(&app, &format!("/api/v1/requests/{id}"), Some(RITA)).await.json();
        assert_eq!(shown["decisions"][0]["approver_id"], "olga");
        assert_eq!(shown["decisions"][0]["actor"], "token:olga-t");
        assert_eq!(shown["decisions"][0]["mfa"], false);
        let grants = get(&app, "/api/v1/grants?expiring_within_secs=7200", Some(READ)).await.json();
        assert_eq!(grants["grants"].as_array().unwrap().len(), 1);
        let none = get(&app, "/api/v1/grants?expiring_within_secs=60", Some(READ)).await.json();
        assert_eq!(none["grants"].as_array().unwrap().len(), 0);
        get(&app, "/api/v1/requests/req_nope", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");

        // Cancelling ends the grant; the admin revokes nothing twice.
        let cancelled = post(&app, &format!("/api/v1/requests/{id}/cancel"), Some(RITA), None, r#"{"reason":"done"}"#).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
        assert_eq!(cancelled.json()["status"], "cancelled");
        assert_eq!(cancelled.json()["grants"][0]["active"], false);
        let grant_id = cancelled.json()["grants"][0]["grant_id"].as_str().unwrap().to_owned();
        post(&app, &format!("/api/v1/grants/{grant_id}/revoke"), Some(ADMIN), None, r#"{"reason":"x"}"#)
            .await
            .problem(StatusCode::CONFLICT, "conflict");
        assert_verifies(&fx).await;
    })
    .await;
}
