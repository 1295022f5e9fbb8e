//! `/api/v1/who-has` and `/api/v1/people/{id}/access|history`: the point-in-time
//! answers of the temporal history, with "unknown" before a system's first import.

use super::*;
use axum::http::StatusCode;
use soxctl_model::event::{AccountFact, Baselined, GrantFact, SystemFact};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, Grant, GrantSource, System};

fn at(t: &str) -> Origin {
    Origin {
        import_id: Some("imp_test".into()),
        as_of: Some(Timestamp::parse(t).unwrap()),
    }
}

/// ERP imported on 1 January; p1's account u1 holds GL_POST from 1 March
/// until 1 May.
async fn seed(store: &Store) {
    let erp = SystemId::parse("erp").unwrap();
    let account = Account {
        system_id: erp.clone(),
        account_id: AccountId::parse("u1").unwrap(),
        person_id: Some(PersonId::parse("p1").unwrap()),
        kind: AccountKind::Human,
        status: AccountStatus::Active,
        last_login: None,
        mfa: None,
        owner_id: None,
        credential_rotated_at: None,
    };
    let grant = Grant {
        system_id: erp.clone(),
        account_id: account.account_id.clone(),
        entitlement_id: EntitlementId::parse("GL_POST").unwrap(),
        granted_at: None,
        source: GrantSource::Direct,
    };
    let fact = |origin: Origin, grant: &Grant| GrantFact {
        origin,
        changed: None,
        grant: grant.clone(),
    };
    let actor = Principal::system("import");
    for event in [
        Event::SystemAdded(SystemFact {
            origin: at("2025-01-01T00:00:00Z"),
            changed: None,
            system: System {
                system_id: erp.clone(),
                name: "ERP".into(),
                kind: None,
                owner_id: None,
                sox_in_scope: true,
            },
        }),
        Event::EntitlementAdded(soxctl_model::event::EntitlementFact {
            origin: at("2025-01-01T00:00:00Z"),
            changed: None,
            entitlement: soxctl_model::inventory::Entitlement {
                system_id: erp.clone(),
                entitlement_id: EntitlementId::parse("GL_POST").unwrap(),
                name: Some("Post journal entries".into()),
                privileged: false,
                owner_id: None,
                description: None,
            },
        }),
        Event::AccountAdded(AccountFact {
            origin: at("2025-01-01T00:00:00Z"),
            changed: None,
            account,
        }),
        Event::SystemBaselined(Baselined {
            system_id: erp,
            import_id: "imp_test".into(),
            as_of: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
        }),
        Event::GrantAdded(fact(at("2025-03-01T00:00:00Z"), &grant)),
        Event::GrantRemoved(fact(at("2025-05-01T00:00:00Z"), &grant)),
    ] {
        store.append_one(&actor, &event).await.unwrap();
    }
}

#[tokio::test]
async fn point_in_time_questions_over_http() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let april = get(
            &app,
            "/api/v1/who-has?entitlement=erp:GL_POST&at=2025-04-01",
            Some(READ),
        )
        .await;
        assert_eq!(april.status, StatusCode::OK, "{}", april.text());
        let body = april.json();
        assert_eq!(body["coverage"]["state"], "known");
        assert_eq!(body["holdings"][0]["person_id"], "p1");
        assert_eq!(
            body["holdings"][0]["valid_to"],
            "2025-05-01T00:00:00.000000Z"
        );

        let now = get(&app, "/api/v1/who-has?entitlement=erp:GL_POST", Some(READ)).await;
        assert_eq!(now.json()["holdings"], serde_json::json!([]));
        // A typo is not "nobody": an entitlement the inventory never had.
        get(&app, "/api/v1/who-has?entitlement=erp:GL_PSOT", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        let before = get(
            &app,
            "/api/v1/who-has?entitlement=erp:GL_POST&at=2024-12-31",
            Some(READ),
        )
        .await;
        assert_eq!(before.json()["coverage"]["state"], "unknown");

        let access = get(
            &app,
            "/api/v1/people/p1/access?at=2025-03-15T12:00:00Z",
            Some(READ),
        )
        .await;
        assert_eq!(access.status, StatusCode::OK, "{}", access.text());
        assert_eq!(access.json()["holdings"][0]["entitlement_id"], "GL_POST");

        let history = get(
            &app,
            "/api/v1/people/p1/history?from=2025-02-01&to=2025-12-31",
            Some(READ),
        )
        .await;
        let changes: Vec<String> = history
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["change"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(changes, ["granted", "revoked"]);

        get(&app, "/api/v1/who-has?entitlement=erp:GL_POST", None)
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        get(&app, "/api/v1/who-has?entitlement=no-colon", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        get(&app, "/api/v1/who-has?entitlement=crm:X", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        get(&app, "/api/v1/people/ghost/access", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        get(
            &app,
            "/api/v1/people/p1/history?from=2025-06-01&to=2025-01-01",
            Some(READ),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

#[tokio::test]
async fn findings_are_listed_and_filtered() {
    on_both_backends(async |fx| {
        use soxctl_model::finding::{Detail, FindingOpened, FindingResolved, Severity, finding_id};
        let actor = Principal::system("hygiene");
        let open = |subject: &str, severity: Severity| {
            Event::FindingOpened(FindingOpened {
                finding_id: finding_id("orphan_account", subject),
                kind: "orphan_account".into(),
                subject: subject.into(),
                severity,
                control_ids: vec!["AC-ORPHANS".into()],
                first_seen: Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
                owner_id: None,
                due: None,
                summary: format!("orphan {subject}"),
                detail: Detail::new(),
            })
        };
        for event in [
            open("account:erp:a", Severity::Low),
            open("account:erp:b", Severity::Critical),
            open("account:crm:c", Severity::High),
            Event::FindingResolved(FindingResolved {
                finding_id: finding_id("orphan_account", "account:crm:c"),
                reason: "no longer detected".into(),
            }),
        ] {
            fx.store.append_one(&actor, &event).await.unwrap();
        }
        let app = fx.app();
        let subjects = |reply: Reply| -> Vec<String> {
            reply
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["subject"].as_str().unwrap().to_owned())
                .collect()
        };
        let open_ones = get(&app, "/api/v1/findings", Some(READ)).await;
        assert_eq!(open_ones.status, StatusCode::OK, "{}", open_ones.text());
        assert_eq!(subjects(open_ones), ["account:erp:a", "account:erp:b"]);
        let all = get(
            &app,
            "/api/v1/findings?status=all&subject=account:crm:",
            Some(READ),
        )
        .await;
        assert_eq!(subjects(all), ["account:crm:c"]);
        let high = get(&app, "/api/v1/findings?severity=high", Some(READ)).await;
        assert_eq!(subjects(high), ["account:erp:b"]);
        get(&app, "/api/v1/findings?severity=urgent", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
    })
    .await;
}

#[tokio::test]
async fn the_hygiene_job_reevaluates_after_changes_only() {
    use soxctl_server::housekeeping::evaluate_hygiene;
    use std::sync::atomic::AtomicU64;
    on_both_backends(async |fx| {
        let store = &fx.store;
        let last = (AtomicU64::new(u64::MAX), AtomicU64::new(0));
        let policy = Default::default();
        let findings = async || {
            store
                .findings(&soxctl_store::findings::Filter::default())
                .await
                .unwrap()
        };
        // An account pushed for nobody (as a SCIM client would): an orphan.
        let orphan = Account {
            system_id: SystemId::parse("okta").unwrap(),
            account_id: AccountId::parse("ghost").unwrap(),
            person_id: None,
            kind: AccountKind::Human,
            status: AccountStatus::Active,
            last_login: None,
            mfa: None,
            owner_id: None,
            credential_rotated_at: None,
        };
        let actor = Principal::system("scim");
        let fact = |account: Account| AccountFact {
            origin: Origin::default(),
            changed: None,
            account,
        };
        store
            .append_one(&actor, &Event::AccountAdded(fact(orphan.clone())))
            .await
            .unwrap();
        evaluate_hygiene(store, &policy, &last).await.unwrap();
        let open = findings().await;
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, "orphan_account");
        let size = store.head().await.unwrap().size;
        evaluate_hygiene(store, &policy, &last).await.unwrap();
        assert_eq!(
            store.head().await.unwrap().size,
            size,
            "nothing changed, nothing written"
        );

        let disabled = Account {
            status: AccountStatus::Disabled,
            ..orphan
        };
        store
            .append_one(&actor, &Event::AccountChanged(fact(disabled)))
            .await
            .unwrap();
        evaluate_hygiene(store, &policy, &last).await.unwrap();
        let after = findings().await;
        assert_eq!(
            after[0].status,
            soxctl_model::finding::FindingStatus::Resolved
        );
    })
    .await;
}

/// People are found by part of their id, name or email, without regard to
/// case and with `%` and `_` taken literally; answers name the people they
/// mention, and an erased person shows as erased, never by their old name.
#[tokio::test]
async fn people_systems_and_entitlements_are_found_by_name() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let ann = Person {
            name: Some("Ann Example".into()),
            email: Some("ann.example@acme.test".into()),
            ..test_person("p1", PersonStatus::Active)
        };
        put_person(&fx.store, &ann, true).await;
        let bob = Person {
            name: Some("Bob Other".into()),
            email: Some("bob_other@acme.test".into()),
            ..test_person("p2", PersonStatus::Active)
        };
        put_person(&fx.store, &bob, true).await;
        let app = fx.app();
        let ids = |uri: &str| {
            let app = app.clone();
            let uri = uri.to_owned();
            async move {
                let reply = get(&app, &uri, Some(READ)).await;
                assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
                let body = reply.json();
                let ids: Vec<String> = body["people"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["person_id"].as_str().unwrap().to_owned())
                    .collect();
                (ids, body["truncated"].as_bool().unwrap())
            }
        };
        assert_eq!(ids("/api/v1/people?q=aNN").await.0, ["p1"]);
        assert_eq!(ids("/api/v1/people?q=ACME.test").await.0, ["p1", "p2"]);
        assert_eq!(ids("/api/v1/people?q=b_o").await.0, ["p2"]);
        assert_eq!(ids("/api/v1/people?q=n%25e").await.0, Vec::<String>::new());
        assert_eq!(ids("/api/v1/people?q=p2").await.0, ["p2"]);
        assert_eq!(
            ids("/api/v1/people?limit=1").await,
            (vec!["p1".into()], true)
        );
        get(&app, "/api/v1/people?limit=1001", Some(READ))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");

        let april = get(
            &app,
            "/api/v1/who-has?entitlement=erp:GL_POST&at=2025-04-01",
            Some(READ),
        )
        .await
        .json();
        assert_eq!(april["holdings"][0]["person_name"], "Ann Example");
        let access = get(&app, "/api/v1/people/p1/access?at=2025-04-01", Some(READ))
            .await
            .json();
        assert_eq!(access["person_name"], "Ann Example");

        let systems = get(&app, "/api/v1/systems", Some(READ)).await.json();
        assert_eq!(systems["systems"][0]["system_id"], "erp");
        assert_eq!(systems["systems"][0]["name"], "ERP");
        let entitlements = get(&app, "/api/v1/entitlements?system=erp", Some(READ))
            .await
            .json();
        assert!(entitlements["entitlements"].is_array(), "{entitlements}");
        get(&app, "/api/v1/entitlements?system=nope", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");

        // Erased: found by id only, never by the old name, and shown as erased.
        let mut tx = fx.store.begin_write().await.unwrap();
        soxctl_store::erasure::erase_person(
            &mut tx,
            &Principal::system("test"),
            &PersonId::parse("p1").unwrap(),
            "request 42 under GDPR article 17",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(ids("/api/v1/people?q=ann").await.0, Vec::<String>::new());
        let found = get(&app, "/api/v1/people?q=p1", Some(READ)).await.json();
        assert_eq!(found["people"][0]["erased"], true, "{found}");
        assert_eq!(found["people"][0]["name"], serde_json::Value::Null);
        let april = get(
            &app,
            "/api/v1/who-has?entitlement=erp:GL_POST&at=2025-04-01",
            Some(READ),
        )
        .await
        .json();
        assert_eq!(april["holdings"][0]["person_erased"], true, "{april}");
        assert_eq!(april["holdings"][0]["person_name"], serde_json::Value::Null);
    })
    .await;
}
