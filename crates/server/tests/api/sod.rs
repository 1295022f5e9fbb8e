//! Continuous SoD (the monitor following the ledger) and the what-if API.

use super::*;
use axum::http::StatusCode;
use serde_json::json;
use soxctl_app::sod::monitor::{SodMonitor, VIOLATION_OPENED};
use soxctl_model::document::DocumentKind;
use soxctl_model::event::{AccountFact, GrantFact};
use soxctl_model::finding::FindingStatus;
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, Grant, GrantSource};
use soxctl_store::findings::Filter;

const RULES: &str = r#"
[[function]]
id = "VENDOR"
entitlements = ["erp:VENDOR_CREATE"]

[[function]]
id = "PAY"
entitlements = ["erp:PAYMENT_APPROVE"]

[[risk]]
id = "P2P-01"
severity = "critical"
functions = ["VENDOR", "PAY"]
"#;

fn account(id: &str, person: &str) -> Event {
    Event::AccountAdded(AccountFact {
        origin: Origin::default(),
        changed: None,
        account: Account {
            system_id: SystemId::parse("erp").unwrap(),
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
}

fn grant(added: bool, account: &str, entitlement: &str) -> Event {
    let fact = GrantFact {
        origin: Origin::default(),
        changed: None,
        grant: Grant {
            system_id: SystemId::parse("erp").unwrap(),
            account_id: AccountId::parse(account).unwrap(),
            entitlement_id: EntitlementId::parse(entitlement).unwrap(),
            granted_at: None,
            source: GrantSource::Direct,
        },
    };
    if added {
        Event::GrantAdded(fact)
    } else {
        Event::GrantRemoved(fact)
    }
}

async fn sod_findings(store: &Store) -> Vec<(String, FindingStatus)> {
    store
        .findings(&Filter {
            kind: Some("sod_violation".into()),
            ..Filter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.subject, f.status))
        .collect()
}

#[tokio::test]
async fn the_monitor_follows_the_ledger_and_simulate_answers_from_it() {
    on_both_backends(async |fx| {
        let store = &fx.store;
        let actor = Principal::system("test");
        for e in [
            account("u1", "p1"),
            account("u2", "p2"),
            grant(true, "u1", "VENDOR_CREATE"),
        ] {
            store.append_one(&actor, &e).await.unwrap();
        }
        let monitor = SodMonitor::new();
        // No rule set yet: nothing to follow.
        assert_eq!(monitor.catch_up(store).await.unwrap().entries, 0);
        let mut tx = store.begin_write().await.unwrap();
        tx.load_document(&actor, DocumentKind::Rules, "rules.toml", RULES)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(monitor.catch_up(store).await.unwrap().rebuilt);
        assert!(sod_findings(store).await.is_empty());

        // A grant completes the conflict: a finding and a notification.
        let outbox_before = store.outbox_status().await.unwrap().pending;
        store
            .append_one(&actor, &grant(true, "u1", "PAYMENT_APPROVE"))
            .await
            .unwrap();
        let done = monitor.catch_up(store).await.unwrap();
        assert_eq!((done.opened, done.resolved), (1, 0), "{done:?}");
        assert_eq!(
            sod_findings(store).await,
            [("risk:P2P-01:p1".to_owned(), FindingStatus::Open)]
        );
        assert_eq!(store.outbox_status().await.unwrap().pending, outbox_before + 1);
        let message = store.outbox_records(0, 100).await.unwrap().pop().unwrap();
        assert_eq!(message.topic, VIOLATION_OPENED);

        // Nothing new: nothing written.
        let size = store.head().await.unwrap().size;
        assert_eq!(monitor.catch_up(store).await.unwrap().opened, 0);
        assert_eq!(store.head().await.unwrap().size, size);

        // Granted and taken away between two looks: the removal wins.
        store.append_one(&actor, &grant(true, "u2", "VENDOR_CREATE")).await.unwrap();
        store.append_one(&actor, &grant(true, "u2", "PAYMENT_APPROVE")).await.unwrap();
        store.append_one(&actor, &grant(false, "u2", "PAYMENT_APPROVE")).await.unwrap();
        store.append_one(&actor, &grant(false, "u1", "VENDOR_CREATE")).await.unwrap();
        let done = monitor.catch_up(store).await.unwrap();
        assert_eq!((done.opened, done.resolved), (0, 1), "{done:?}");
        assert_eq!(
            sod_findings(store).await,
            [("risk:P2P-01:p1".to_owned(), FindingStatus::Resolved)]
        );

        // What-if over HTTP: p2 holds VENDOR_CREATE; PAYMENT_APPROVE would conflict.
        let app = fx.app();
        let post = |body: serde_json::Value| {
            let app = app.clone();
            async move {
                let request = Request::post("/api/v1/sod/simulate")
                    .header(header::AUTHORIZATION, format!("Bearer {READ}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap();
                call(&app, request).await
            }
        };
        let reply = post(serde_json::json!({"person_id": "p2", "add": ["erp:PAYMENT_APPROVE"]})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let body = reply.json();
        assert_eq!(body["clear"], false);
        assert_eq!(body["violations"][0]["risk_id"], "P2P-01");
        assert_eq!(body["violations"][0]["person_id"], "p2");
        let reply = post(serde_json::json!({"person_id": "p1", "add": ["erp:PAYMENT_APPROVE"]})).await;
        assert_eq!(reply.json()["clear"], true, "p1 no longer holds VENDOR_CREATE");
        // Time-bound: two grants whose windows overlap conflict, apart they do not.
        let reply = post(serde_json::json!({"person_id": "p1", "add": ["erp:PAYMENT_APPROVE", "erp:VENDOR_CREATE"],
            "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"})).await;
        assert_eq!(reply.json()["clear"], false, "{}", reply.text());
        post(serde_json::json!({"person_id": "p1"}))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        post(serde_json::json!({"person_id": "p1", "add": ["nocolon"]}))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        post(serde_json::json!({"person_id": "p1", "roles": ["ghost"]}))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        post(serde_json::json!({"person_id": "p1", "add": ["erp:X"], "colour": "red"}))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

/// One simulate, two interfaces: the answer over HTTP (the engine that
/// follows the ledger) equals the command line's (an engine built for the
/// call, `soxctl_app::sod::simulate`) for every input, and both refuse the
/// same bad ones with the same words.
#[tokio::test]
async fn the_api_and_the_command_line_simulate_alike() {
    on_both_backends(async |fx| {
        let store = &fx.store;
        let actor = Principal::system("test");
        for e in [
            account("u1", "p1"),
            account("u2", "p2"),
            grant(true, "u2", "VENDOR_CREATE"),
        ] {
            store.append_one(&actor, &e).await.unwrap();
        }
        let mut tx = store.begin_write().await.unwrap();
        tx.load_document(&actor, DocumentKind::Rules, "rules.toml", RULES)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let app = fx.app();
        let over_http = |body: serde_json::Value| {
            let app = app.clone();
            async move {
                let request = Request::post("/api/v1/sod/simulate")
                    .header(header::AUTHORIZATION, format!("Bearer {READ}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap();
                call(&app, request).await
            }
        };
        let good = [
            json!({"person_id": "p2", "add": ["erp:PAYMENT_APPROVE"]}),
            json!({"person_id": "p1", "add": ["erp:PAYMENT_APPROVE"]}),
            json!({"person_id": "p1", "add": ["erp:PAYMENT_APPROVE", "erp:VENDOR_CREATE"]}),
            json!({"person_id": "p1", "add": ["erp:PAYMENT_APPROVE", "erp:VENDOR_CREATE"],
                "from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}),
            json!({"person_id": "p2", "add": ["erp:PAYMENT_APPROVE"], "from": "2030-01-01", "to": "2030-01-02"}),
        ];
        let mut violations = 0;
        for body in good {
            let request: soxctl_api::sod::SimulateRequest =
                serde_json::from_value(body.clone()).unwrap();
            let cli = soxctl_app::sod::simulate(store, &request, None).await.unwrap();
            let cli = serde_json::to_value(soxctl_app::sod::view(&cli)).unwrap();
            let reply = over_http(body.clone()).await;
            assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.text());
            assert_eq!(reply.json(), cli, "{body}");
            violations += cli["violations"].as_array().unwrap().len();
        }
        assert_eq!(violations, 4, "p2 now, p1 with both now and in the window, p2 in the window");
        let bad = [
            (json!({"person_id": "p1", "add": ["erp:X"], "from": "2030-01-02", "to": "2030-01-02"}), "must be after"),
            (json!({"person_id": "p1", "add": ["erp:X"], "from": "2030-01-03", "to": "2030-01-02"}), "must be after"),
            (json!({"person_id": "p1", "add": ["erp:X"], "from": "2030-01-03"}), "both from and to"),
            (json!({"person_id": "p1"}), "nothing to simulate"),
            (json!({"person_id": "p1", "add": ["nocolon"]}), "is not system_id:entitlement_id"),
            (json!({"person_id": "p1", "add": vec!["erp:X"; 1_001]}), "at most 1000"),
        ];
        for (body, words) in bad {
            let request: soxctl_api::sod::SimulateRequest =
                serde_json::from_value(body.clone()).unwrap();
            let cli = soxctl_app::sod::simulate(store, &request, None).await.unwrap_err();
            assert!(cli.to_string().contains(words), "{body}: {cli}");
            let problem = over_http(body.clone()).await.problem(StatusCode::BAD_REQUEST, "bad_request");
            assert_eq!(problem["detail"], cli.to_string(), "{body}");
        }
    })
    .await;
}
