//! Just-in-time requests over HTTP: person-bound tokens ask and decide, the
//! built-in rules answer 403 `refused`, state conflicts 409 `conflict`.

use super::*;
use soxctl_model::event::{AccountFact, EntitlementFact, SystemFact};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, Entitlement, System};

const RITA: &str = "rita-secret";
const OLGA: &str = "olga-secret";
const PIPELINE: &str = "pipeline-secret";

fn person_token(id: &str, secret: &str, person: &str) -> Event {
    let Event::TokenCreated(mut t) = token_event(id, secret, &[Scope::Request], None) else {
        unreachable!()
    };
    t.person_id = Some(PersonId::parse(person).unwrap());
    Event::TokenCreated(t)
}

/// rita asks; olga owns erp:GL_POST and approves.
async fn seed(store: &Store) {
    let rita = Person {
        manager_id: Some(PersonId::parse("olga").unwrap()),
        ..test_person("rita", PersonStatus::Active)
    };
    put_person(store, &rita, true).await;
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
        // People are named beside their ids.
        assert_eq!(body["requester_name"], "Person rita", "{body}");
        assert_eq!(body["approver_names"], serde_json::json!(["Person olga"]));
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
        assert_eq!(body["grants"][0]["person_name"], "Person rita");
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

#[tokio::test]
async fn pipelines_ask_the_gate_and_executors_use_approvals_once() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        put_person(&fx.store, &test_person("dave", PersonStatus::Active), true).await;
        let pipeline = {
            let Event::TokenCreated(mut t) = token_event("pipeline-t", PIPELINE, &[Scope::Gate], None) else {
                unreachable!()
            };
            t.repo = Some("github.com/acme/ledger-app".into());
            t.environments = vec!["prod".into()];
            Event::TokenCreated(t)
        };
        fx.store.append_one(&Principal::system("test"), &pipeline).await.unwrap();
        let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
        let check = format!("/api/v1/gate/check?commit={commit}&env=prod&deployer=dave%40example.com");
        let verdict = get(&app, &check, Some(PIPELINE)).await.json();
        assert_eq!(verdict["allowed"], false);
        // An executor's unbound gate token is no repository's pipeline.
        get(&app, &check, Some(GATE)).await.problem(StatusCode::FORBIDDEN, "refused");
        // The gate is the pipelines': readers and people do not ask it.
        get(&app, &check, Some(READ)).await.problem(StatusCode::FORBIDDEN, "forbidden");
        get(&app, &check, Some(RITA)).await.problem(StatusCode::FORBIDDEN, "forbidden");
        get(&app, "/api/v1/changes/last-deployed?env=prod", Some(READ))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        get(&app, "/api/v1/gate/check?commit=abc&env=prod&deployer=x", Some(PIPELINE))
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        // A deployer that names nobody, or several, is refused as input.
        for bad in ["Olga%20Person", "olga%40example.com%3E", "olga%40example.com%2Cci%40example.com"] {
            get(&app, &format!("/api/v1/gate/check?commit={commit}&env=prod&deployer={bad}"), Some(PIPELINE))
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
        }

        // A person never names a change's authors, nor registers a deployment.
        let before = fx.store.head().await.unwrap().size;
        let ask = serde_json::json!({
            "action": {"kind": "deploy", "env": "prod", "payload": {"commit": commit}, "authors": ["Someone Else <someone@elsewhere.test>"]},
            "justification": "release 4.2"
        });
        post(&app, "/api/v1/requests", Some(RITA), None, &ask.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let ask = serde_json::json!({
            "action": {"kind": "deploy", "env": "prod", "payload": {"commit": commit}},
            "justification": "release 4.2"
        });
        post(&app, "/api/v1/requests", Some(RITA), None, &ask.to_string())
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        // The pipeline registers it: an unbound gate token may not.
        let register = serde_json::json!({
            "env": "prod",
            "commit": commit,
            "commits": [{"sha": commit, "author": "Rita <rita@example.com>", "committer": "GitHub <noreply@github.com>"}],
            "triggered_by": "rita@example.com",
        });
        post(&app, "/api/v1/gate/requests", Some(GATE), None, &register.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        post(&app, "/api/v1/gate/requests", Some(RITA), None, &register.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let staging = serde_json::json!({"env": "staging", "commit": commit, "commits": register["commits"], "triggered_by": "rita"});
        post(&app, "/api/v1/gate/requests", Some(PIPELINE), None, &staging.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        assert_eq!(fx.store.head().await.unwrap().size, before, "nothing recorded");
        let created = post(&app, "/api/v1/gate/requests", Some(PIPELINE), None, &register.to_string()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        assert_eq!(created.json()["requester_id"], "rita", "{}", created.text());
        assert_eq!(created.json()["ask"]["action"]["author_people"], serde_json::json!(["rita"]));
        let id = created.json()["request_id"].as_str().unwrap().to_owned();
        let approved = post(&app, &format!("/api/v1/requests/{id}/approve"), Some(OLGA), None, "{}").await;
        assert_eq!(approved.json()["status"], "approved", "{}", approved.text());
        let verdict = get(&app, &check, Some(PIPELINE)).await.json();
        assert_eq!(verdict["allowed"], true, "{verdict}");
        assert_eq!(verdict["request_id"], id.as_str());
        for who in ["rita%40example.com", "rita%2Bci%40example.com", "mailto%3Arita%40example.com", "olga", "OLGA%40example.com."] {
            let v = get(&app, &format!("/api/v1/gate/check?commit={commit}&env=prod&deployer={who}"), Some(PIPELINE)).await.json();
            assert_eq!(v["allowed"], false, "{who}: {v}");
        }

        // A deployment's approval is used through the gate only: no
        // execution token for it, and none for a pipeline's credential.
        let digest = soxctl_app::gate::deploy_digest("prod", commit).unwrap();
        let exec = serde_json::json!({"request_id": id, "digest": digest, "env": "prod"});
        let refused = post(&app, "/api/v1/actions/token", Some(GATE), None, &exec.to_string()).await;
        assert!(refused.problem(StatusCode::FORBIDDEN, "refused")["detail"].as_str().unwrap().contains("is a deployment"));
        let refused = post(&app, "/api/v1/actions/token", Some(PIPELINE), None, &exec.to_string()).await;
        assert!(refused.problem(StatusCode::FORBIDDEN, "refused")["detail"].as_str().unwrap().contains("pipeline credential"));
        let body = serde_json::json!({"commit": commit, "env": "prod", "deployer": "dave@example.com", "repo": "elsewhere/app"});
        post(&app, "/api/v1/changes/deployed", Some(PIPELINE), None, &body.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let body = serde_json::json!({"commit": commit, "env": "prod", "deployer": "dave@example.com"});
        let deployed = post(&app, "/api/v1/changes/deployed", Some(PIPELINE), None, &body.to_string()).await;
        assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text());
        assert_eq!(deployed.json()["request_id"], id.as_str());
        assert_eq!(get(&app, &check, Some(PIPELINE)).await.json()["allowed"], false, "consumed");
        let last = get(&app, "/api/v1/changes/last-deployed?env=prod", Some(PIPELINE)).await.json();
        assert_eq!(last["commit"], commit);

        // A payment: token bound to digest, environment and executor, used once.
        let payload = serde_json::json!({"invoice": "991"});
        let ask = serde_json::json!({"action": {"kind": "payment", "env": "prod", "payload": payload}, "justification": "invoice 991"});
        let id = post(&app, "/api/v1/requests", Some(RITA), None, &ask.to_string()).await.json()["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(&app, &format!("/api/v1/requests/{id}/approve"), Some(OLGA), None, "{}").await;
        let digest = soxctl_ledger::digest::action_digest("prod", "payment", &payload).unwrap();
        let wrong = serde_json::json!({"request_id": id, "digest": "sha256:00", "env": "prod"});
        post(&app, "/api/v1/actions/token", Some(GATE), None, &wrong.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let good = serde_json::json!({"request_id": id, "digest": digest, "env": "prod"});
        let issued = post(&app, "/api/v1/actions/token", Some(GATE), None, &good.to_string()).await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text());
        let token = issued.json()["token"].as_str().unwrap().to_owned();
        let claims = soxctl_ledger::jws::verify(&fx.key.verifier(), &token).unwrap();
        assert_eq!(claims["sub"], "token:gatekeeper");
        let report = serde_json::json!({"token": token, "outcome": "paid"}).to_string();
        // A person's request token can neither report it nor get tokens:
        // executing is for pipelines and executors (scope gate).
        post(&app, "/api/v1/actions/executed", Some(RITA), None, &report)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        post(&app, "/api/v1/actions/token", Some(RITA), None, &good.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        post(&app, "/api/v1/changes/deployed", Some(RITA), None, &body.to_string())
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let done = post(&app, "/api/v1/actions/executed", Some(GATE), None, &report).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        post(&app, "/api/v1/actions/executed", Some(GATE), None, &report)
            .await
            .problem(StatusCode::CONFLICT, "conflict");
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn break_glass_is_granted_at_once_and_reviewed_by_the_owner() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let body =
            r#"{"entitlements":["erp:GL_POST"],"duration_secs":1800,"reason":"close blocked"}"#;
        post(&app, "/api/v1/breakglass", Some(RITA), None, body)
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let mut tx = fx.store.begin_write().await.unwrap();
        tx.load_document(
            &Principal::system("test"),
            soxctl_model::document::DocumentKind::Policies,
            "approvals.toml",
            "[break_glass]\npeople = [\"rita\"]\nmax_duration = \"1h\"\n",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let used = post(&app, "/api/v1/breakglass", Some(RITA), None, body).await;
        assert_eq!(used.status, StatusCode::CREATED, "{}", used.text());
        let used = used.json();
        assert_eq!(used["reviewer_id"], "olga");
        assert_eq!(used["reviewer_name"], "Person olga");
        assert_eq!(used["person_name"], "Person rita");
        let id = used["use_id"].as_str().unwrap().to_owned();
        let listed = get(&app, "/api/v1/breakglass", Some(READ)).await.json();
        assert_eq!(listed["uses"].as_array().unwrap().len(), 1);
        let review = format!("/api/v1/breakglass/{id}/review");
        let body = r#"{"outcome":"appropriate","notes":"INC-7","evidence":"siem:session/1"}"#;
        // Reviewed once the window is over: here, ended early by an admin.
        post(&app, &review, Some(OLGA), None, body)
            .await
            .problem(StatusCode::CONFLICT, "conflict");
        for grant in used["grant_ids"].as_array().unwrap() {
            let revoke = format!("/api/v1/grants/{}/revoke", grant.as_str().unwrap());
            let ended = post(
                &app,
                &revoke,
                Some(ADMIN),
                None,
                r#"{"reason":"incident closed"}"#,
            )
            .await;
            assert_eq!(ended.status, StatusCode::OK, "{}", ended.text());
        }
        post(&app, &review, Some(RITA), None, body)
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let reviewed = post(&app, &review, Some(OLGA), None, body).await;
        assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.text());
        assert_eq!(reviewed.json()["outcome"], "appropriate");
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn denials_activation_and_delegations_over_http() {
    const DANA: &str = "dana-secret";
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        put_person(&fx.store, &test_person("dana", PersonStatus::Active), true).await;
        fx.store
            .append_one(&Principal::system("test"), &person_token("dana-t", DANA, "dana"))
            .await
            .unwrap();
        let app = fx.app();
        let ask = |activation: &str| {
            format!(
                r#"{{"entitlement":"erp:GL_POST","duration_secs":3600,"justification":"close","activation":"{activation}"}}"#
            )
        };
        let create = |body: String| {
            let app = app.clone();
            async move {
                let created = post(&app, "/api/v1/requests", Some(RITA), None, &body).await;
                assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
                created.json()["request_id"].as_str().unwrap().to_owned()
            }
        };

        // A denial needs its reason, and is final.
        let id = create(ask("on_approval")).await;
        let deny = format!("/api/v1/requests/{id}/deny");
        post(&app, &deny, Some(OLGA), None, "{}")
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let denied = post(&app, &deny, Some(OLGA), None, r#"{"comment":"no ticket"}"#).await;
        assert_eq!(denied.status, StatusCode::OK, "{}", denied.text());
        assert_eq!(denied.json()["status"], "denied");
        post(&app, &format!("/api/v1/requests/{id}/approve"), Some(OLGA), None, "{}")
            .await
            .problem(StatusCode::CONFLICT, "conflict");

        // Manual activation: approved, no grant until the requester starts it.
        let id = create(ask("manual")).await;
        let approved = post(&app, &format!("/api/v1/requests/{id}/approve"), Some(OLGA), None, "{}").await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        assert_eq!(approved.json()["grants"].as_array().unwrap().len(), 0);
        let activate = format!("/api/v1/requests/{id}/activate");
        post(&app, &activate, Some(OLGA), None, "{}")
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let active = post(&app, &activate, Some(RITA), None, "{}").await;
        assert_eq!(active.status, StatusCode::OK, "{}", active.text());
        assert_eq!(active.json()["grants"][0]["active"], true);
        post(&app, &activate, Some(RITA), None, "{}")
            .await
            .problem(StatusCode::CONFLICT, "conflict");

        // Delegation: olga's seat goes to dana for a day.
        let now = fx.store.context().clock.now().as_datetime();
        let hour = std::time::Duration::from_secs(3_600);
        let at = |hours: i64| {
            let t = if hours < 0 {
                now - hour * u32::try_from(-hours).unwrap()
            } else {
                now + hour * u32::try_from(hours).unwrap()
            };
            Timestamp::from_datetime(t).to_canonical()
        };
        let backdated = format!(
            r#"{{"delegate_id":"dana","starts_at":"{}","ends_at":"{}","reason":"holiday"}}"#,
            at(-2),
            at(24)
        );
        post(&app, "/api/v1/delegations", Some(OLGA), None, &backdated)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let body = format!(r#"{{"delegate_id":"dana","ends_at":"{}","reason":"holiday"}}"#, at(24));
        let delegated = post(&app, "/api/v1/delegations", Some(OLGA), None, &body).await;
        assert_eq!(delegated.status, StatusCode::CREATED, "{}", delegated.text());
        let delegation = delegated.json()["delegation_id"].as_str().unwrap().to_owned();
        let listed = get(&app, "/api/v1/delegations", Some(READ)).await.json();
        assert_eq!(listed["delegations"].as_array().unwrap().len(), 1, "{listed}");
        let id = create(ask("on_approval")).await;
        let by_dana = post(&app, &format!("/api/v1/requests/{id}/approve"), Some(DANA), None, "{}").await;
        assert_eq!(by_dana.status, StatusCode::OK, "{}", by_dana.text());
        let shown = get(&app, &format!("/api/v1/requests/{id}"), Some(READ)).await.json();
        assert_eq!(shown["decisions"][0]["approver_id"], "dana");
        assert_eq!(shown["decisions"][0]["on_behalf_of"], "olga");
        let revoke = format!("/api/v1/delegations/{delegation}/revoke");
        post(&app, &revoke, Some(RITA), None, "{}")
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        let revoked = post(&app, &revoke, Some(OLGA), None, "{}").await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
        post(&app, &revoke, Some(OLGA), None, "{}")
            .await
            .problem(StatusCode::CONFLICT, "conflict");
        let id = create(ask("on_approval")).await;
        post(&app, &format!("/api/v1/requests/{id}/approve"), Some(DANA), None, "{}")
            .await
            .problem(StatusCode::FORBIDDEN, "refused");
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn nobody_decides_through_a_token_they_issued_for_someone_else() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        // rita is an admin too, with a token of her own.
        let Event::TokenCreated(mut admin) =
            token_event("rita-admin-t", "rita-admin-secret", &[Scope::Admin], None)
        else {
            unreachable!()
        };
        admin.person_id = Some(PersonId::parse("rita").unwrap());
        fx.store
            .append_one(&Principal::system("test"), &Event::TokenCreated(admin))
            .await
            .unwrap();
        let app = fx.app();
        let ask = r#"{"entitlement":"erp:GL_POST","duration_secs":7200,"justification":"close"}"#;
        let created = post(&app, "/api/v1/requests", Some(RITA), None, ask).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let id = created.json()["request_id"].as_str().unwrap().to_owned();
        // With her admin token rita makes a request token for olga, the approver.
        let made = post(
            &app,
            "/api/v1/tokens",
            Some("rita-admin-secret"),
            None,
            r#"{"scopes":["request"],"person_id":"olga"}"#,
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
        let olga_by_rita = made.json()["token"].as_str().unwrap().to_owned();
        let approve = format!("/api/v1/requests/{id}/approve");
        let before = ledger_size(&fx.store).await;
        let refused = post(&app, &approve, Some(&olga_by_rita), None, "{}").await;
        let problem = refused.problem(StatusCode::FORBIDDEN, "refused");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("issued by rita"),
            "{problem}"
        );
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");
        // Nor through a token made with such a token, for the same person.
        let made = post(
            &app,
            "/api/v1/tokens",
            Some("rita-admin-secret"),
            None,
            r#"{"scopes":["admin","request"],"person_id":"olga"}"#,
        )
        .await;
        let olga_admin_by_rita = made.json()["token"].as_str().unwrap().to_owned();
        let made = post(
            &app,
            "/api/v1/tokens",
            Some(&olga_admin_by_rita),
            None,
            r#"{"scopes":["request"],"person_id":"olga"}"#,
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
        let laundered = made.json()["token"].as_str().unwrap().to_owned();
        let before = ledger_size(&fx.store).await;
        let refused = post(&app, &approve, Some(&laundered), None, "{}").await;
        let problem = refused.problem(StatusCode::FORBIDDEN, "refused");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("issued by rita"),
            "{problem}"
        );
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");
        // olga's token was made by someone else too (the test's system
        // actor): the decision passes the built-in rules and names its issuer.
        let approved = post(&app, &approve, Some(OLGA), None, "{}").await;
        assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
        let entries = get(
            &app,
            &format!("/api/v1/ledger/entries?from={before}&count=1"),
            Some(READ),
        )
        .await
        .text();
        let entry: serde_json::Value =
            serde_json::from_str(entries.lines().next().unwrap()).unwrap();
        assert_eq!(entry["type"], "request.approved", "{entry}");
        assert_eq!(entry["payload"]["issued_by"], "system:test", "{entry}");
        assert_verifies(&fx).await;
    })
    .await;
}
