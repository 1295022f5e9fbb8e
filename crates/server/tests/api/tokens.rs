//! API tokens over HTTP: issued, listed and revoked by admins; bad input
//! changes nothing; Idempotency-Key replays and refusals.

use super::*;

#[tokio::test]
async fn admins_issue_list_and_revoke_tokens_recorded_as_themselves() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        let created = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            None,
            r#"{"scopes":["read","metrics","read"],"description":"nightly export","expires_at":"2999-06-30T17:00:00+02:00"}"#,
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let body = created.json();
        let id = body["token_id"].as_str().unwrap().to_owned();
        let secret = body["token"].as_str().unwrap().to_owned();
        assert!(
            id.len() == 16 && id.starts_with("tok_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(secret.starts_with("sxt_") && secret.len() == 4 + 43, "{secret}");
        assert_eq!(body["scopes"], serde_json::json!(["metrics", "read"]));
        assert_eq!(body["created_by"], "token:root");
        assert_eq!(body["description"], "nightly export");
        assert_eq!(body["expires_at"], "2999-06-30T15:00:00.000000Z");
        assert_eq!(body["ledger_seq"], size);
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The ledger records the calling token as the actor, and only the secret's hash.
        let recorded = entry(&fx.store, size).await;
        assert_eq!(recorded["actor"], "token:root", "{recorded}");
        assert_eq!(recorded["type"], "token.created", "{recorded}");
        assert_eq!(recorded["payload"]["token_id"], id.as_str());
        assert_eq!(recorded["payload"]["secret_sha256"], sha256_hex(&secret));
        assert!(!recorded.to_string().contains(&secret[4..]));

        // The new secret authenticates with its scopes.
        assert_eq!(get(&app, "/api/v1/store", Some(&secret)).await.status, StatusCode::OK);
        get(&app, "/api/v1/tokens", Some(&secret))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");

        // Listed without any secret material.
        let listed = get(&app, "/api/v1/tokens", Some(ADMIN)).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
        let text = listed.text();
        assert!(!text.contains(&secret[4..]) && !text.contains(&sha256_hex(&secret)), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let list = listed.json();
        let tokens = list["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 8, "{list}");
        let mine = tokens.iter().find(|t| t["token_id"] == id.as_str()).unwrap();
        assert_eq!(mine["state"], "active");
        assert_eq!(mine["created_by"], "token:root");
        assert_eq!(mine["scopes"], serde_json::json!(["metrics", "read"]));
        let state_of = |name: &str| {
            tokens.iter().find(|t| t["token_id"] == name).unwrap()["state"].clone()
        };
        assert_eq!(state_of("old"), "revoked");
        assert_eq!(state_of("stale"), "expired");

        // Revoked by the admin: recorded as the admin, and the secret stops working.
        let uri = format!("/api/v1/tokens/{id}/revoke");
        let revoked = post(&app, &uri, Some(ADMIN), None, "").await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
        let body = revoked.json();
        assert_eq!(body["token_id"], id.as_str());
        assert_eq!(body["already_revoked"], false);
        assert_eq!(body["ledger_seq"], size + 1);
        let recorded = entry(&fx.store, size + 1).await;
        assert_eq!(recorded["actor"], "token:root", "{recorded}");
        assert_eq!(recorded["type"], "token.revoked", "{recorded}");
        get(&app, "/api/v1/store", Some(&secret))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");

        // Again: nothing recorded; `{}` is an accepted empty body.
        let again = post(&app, &uri, Some(ADMIN), None, "{}").await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text());
        assert_eq!(again.json()["already_revoked"], true);
        assert_eq!(again.json()["revoked_at"], body["revoked_at"]);
        assert_eq!(ledger_size(&fx.store).await, size + 2);

        let missing = post(&app, "/api/v1/tokens/tok_000000000000/revoke", Some(ADMIN), None, "")
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        assert!(
            missing["detail"].as_str().unwrap().contains("no token 'tok_000000000000'"),
            "{missing}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 2);
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn bad_token_requests_are_400_problems_that_change_nothing() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        let cases: &[(&str, &[&str])] = &[
            ("not json", &["not valid JSON", "line 1 column 2"]),
            ("", &["missing field `scopes`"]),
            (r#"{"scopes":["read"]} trailing"#, &["trailing characters"]),
            (r#"["read"]"#, &["not an object (an array)"]),
            (
                r#"{"scopes":["read"],}"#,
                &["not valid JSON", "trailing comma"],
            ),
            (
                r#"{"scopes":["read"],"colour":"blue"}"#,
                &["unknown field `colour`", "expected one of"],
            ),
            (
                r#"{"scopes":"read"}"#,
                &[
                    "field `scopes`",
                    "invalid type: string \"read\", expected a sequence",
                ],
            ),
            (
                r#"{"scopes":["read","superuser"]}"#,
                &["field `scopes[1]`", "unknown variant `superuser`"],
            ),
            (
                r#"{"scopes":["read"],"system_id":5}"#,
                &["field `system_id`", "invalid type: integer `5`"],
            ),
            (
                r#"{"scopes":["read"],"person_id":" p "}"#,
                &["field `person_id`", "leading/trailing space"],
            ),
            (
                r#"{"scopes":["read"],"expires_at":"tomorrow"}"#,
                &["field `expires_at`", "RFC 3339"],
            ),
            (
                r#"{"scopes":["read"],"description":["x"]}"#,
                &["field `description`", "invalid type"],
            ),
            (r#"{"scopes":[]}"#, &["at least one scope"]),
            (r#"{"scopes":["scim"]}"#, &["scim", "system_id"]),
            (
                r#"{"scopes":["read"],"person_id":"E404"}"#,
                &["unknown person 'E404'"],
            ),
            (
                r#"{"scopes":["read"],"expires_at":"2001-01-01T00:00:00Z"}"#,
                &["in the past"],
            ),
        ];
        for (body, needles) in cases {
            let problem = post(&app, "/api/v1/tokens", Some(ADMIN), Some("k-bad"), body)
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
            let detail = problem["detail"].as_str().unwrap();
            for needle in *needles {
                assert!(
                    detail.contains(needle),
                    "{body}: {needle:?} not in {detail:?}"
                );
            }
        }
        let long = "d".repeat(1001);
        let problem = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            None,
            &format!(r#"{{"scopes":["read"],"description":"{long}"}}"#),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("1001 characters"),
            "{problem}"
        );

        // Not JSON by its content type.
        let reply = call(
            &app,
            Request::post("/api/v1/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(r#"{"scopes":["read"]}"#))
                .unwrap(),
        )
        .await;
        let problem = reply.problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{problem}"
        );

        // Idempotency keys: at most 255 characters, one header.
        let ok = r#"{"scopes":["read"]}"#;
        let problem = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            Some(&"k".repeat(256)),
            ok,
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"].as_str().unwrap().contains("255"),
            "{problem}"
        );
        post(&app, "/api/v1/tokens", Some(ADMIN), Some(""), ok)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        let reply = call(
            &app,
            Request::post("/api/v1/tokens")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .header("idempotency-key", "a")
                .header("idempotency-key", "b")
                .body(Body::from(ok))
                .unwrap(),
        )
        .await;
        reply.problem(StatusCode::BAD_REQUEST, "bad_request");

        // Revocations take no body and a well-formed id.
        let problem = post(
            &app,
            "/api/v1/tokens/reader/revoke",
            Some(ADMIN),
            None,
            r#"{"reason":"x"}"#,
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("unknown field `reason`"),
            "{problem}"
        );
        let problem = post(&app, "/api/v1/tokens/a:b/revoke", Some(ADMIN), None, "")
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("token_id 'a:b'"),
            "{problem}"
        );

        assert_eq!(
            ledger_size(&fx.store).await,
            size,
            "refused requests record nothing"
        );
        assert_eq!(fx.store.tokens().await.unwrap().len(), 7);
        assert!(
            fx.store
                .idempotent_response(&Principal::Token(TokenId::parse("root").unwrap()), "k-bad")
                .await
                .unwrap()
                .is_none(),
            "failed requests leave no idempotency record"
        );
        // A key whose request failed can be used once the request is right.
        let created = post(&app, "/api/v1/tokens", Some(ADMIN), Some("k-bad"), ok).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn token_endpoints_need_the_admin_scope() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = ledger_size(&fx.store).await;
        for token in [READ, METRICS, GATE] {
            get(&app, "/api/v1/tokens", Some(token))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
            let body = post(
                &app,
                "/api/v1/tokens",
                Some(token),
                Some("k"),
                r#"{"scopes":["admin"]}"#,
            )
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
            assert!(
                body["detail"].as_str().unwrap().contains("'admin' scope"),
                "{body}"
            );
            post(&app, "/api/v1/tokens/root/revoke", Some(token), None, "")
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
        }
        // Authentication comes before the body is looked at.
        post(&app, "/api/v1/tokens", None, None, "not json")
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        post(&app, "/api/v1/tokens", Some(READ), None, "not json")
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        post(
            &app,
            "/api/v1/tokens",
            Some(REVOKED),
            None,
            r#"{"scopes":["read"]}"#,
        )
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(ledger_size(&fx.store).await, size);
        assert!(
            fx.store
                .tokens()
                .await
                .unwrap()
                .iter()
                .all(|t| t.token_id.as_str() != "root" || t.revoked_at.is_none())
        );
    })
    .await;
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_reuse_and_never_store_secrets() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let root = Principal::Token(TokenId::parse("root").unwrap());
        let size = ledger_size(&fx.store).await;
        let body = r#"{"scopes":["admin"],"description":"second admin"}"#;
        let first = post(&app, "/api/v1/tokens", Some(ADMIN), Some("create-1"), body).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
        assert!(first.headers.get("idempotent-replayed").is_none());
        let created = first.json();
        let id = created["token_id"].as_str().unwrap().to_owned();
        let secret = created["token"].as_str().unwrap().to_owned();
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The record holds the answer without the secret.
        let stored = fx
            .store
            .idempotent_response(&root, "create-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, 201);
        assert!(
            !stored.response.contains(&secret[4..]),
            "{}",
            stored.response
        );
        let remembered: Value = serde_json::from_str(&stored.response).unwrap();
        assert_eq!(remembered["token_id"], id.as_str());
        assert!(remembered.get("token").is_none(), "{remembered}");

        // The same request again: nothing new; 409 names the token, the secret is gone.
        let replay = post(&app, "/api/v1/tokens", Some(ADMIN), Some("create-1"), body).await;
        let problem = replay.problem(StatusCode::CONFLICT, "token_secret_shown_once");
        assert_eq!(replay.header("idempotent-replayed"), "true");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(&id) && detail.contains("revoke"),
            "{detail}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // The same key with another body: refused, nothing done.
        let reused = post(
            &app,
            "/api/v1/tokens",
            Some(ADMIN),
            Some("create-1"),
            r#"{"scopes":["admin"],"description":"third admin"}"#,
        )
        .await;
        let problem = reused.problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert!(reused.headers.get("idempotent-replayed").is_none());
        assert!(
            problem["detail"].as_str().unwrap().contains("create-1"),
            "{problem}"
        );
        assert_eq!(ledger_size(&fx.store).await, size + 1);

        // Keys are per principal: the second admin may use the same key.
        let other = post(
            &app,
            "/api/v1/tokens",
            Some(&secret),
            Some("create-1"),
            body,
        )
        .await;
        assert_eq!(other.status, StatusCode::CREATED, "{}", other.text());
        let by_other = other.json();
        assert_eq!(by_other["created_by"], format!("token:{id}"));
        assert_eq!(
            entry(&fx.store, size + 1).await["actor"],
            format!("token:{id}")
        );
        assert_eq!(ledger_size(&fx.store).await, size + 2);

        // Revocations replay their first answer exactly.
        let victim = by_other["token_id"].as_str().unwrap();
        let uri = format!("/api/v1/tokens/{victim}/revoke");
        let revoked = post(&app, &uri, Some(ADMIN), Some("revoke-1"), "").await;
        assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
        assert_eq!(revoked.json()["already_revoked"], false);
        let replay = post(&app, &uri, Some(ADMIN), Some("revoke-1"), "").await;
        assert_eq!(replay.status, StatusCode::OK, "{}", replay.text());
        assert_eq!(replay.header("idempotent-replayed"), "true");
        assert_eq!(replay.header("content-type"), "application/json");
        assert_eq!(
            replay.json(),
            revoked.json(),
            "the first answer, not `already_revoked`"
        );
        // The same key for another path is another request.
        post(
            &app,
            "/api/v1/tokens/reader/revoke",
            Some(ADMIN),
            Some("revoke-1"),
            "",
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
        assert_eq!(ledger_size(&fx.store).await, size + 3);
        assert!(
            fx.store
                .tokens()
                .await
                .unwrap()
                .iter()
                .any(|t| t.token_id.as_str() == "reader" && t.revoked_at.is_none())
        );

        // Concurrent duplicates: one effect, the others replay it.
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let app = app.clone();
            set.spawn(async move {
                post(
                    &app,
                    "/api/v1/tokens",
                    Some(ADMIN),
                    Some("burst"),
                    r#"{"scopes":["read"]}"#,
                )
                .await
            });
        }
        let mut created = 0;
        let mut replayed = 0;
        while let Some(reply) = set.join_next().await {
            let reply = reply.unwrap();
            match reply.status {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {
                    assert_eq!(reply.header("idempotent-replayed"), "true");
                    replayed += 1;
                }
                other => panic!("{other}: {}", reply.text()),
            }
        }
        assert_eq!((created, replayed), (1, 5));
        assert_eq!(ledger_size(&fx.store).await, size + 4);
        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn a_key_taken_inside_the_transaction_is_reported_not_overwritten() {
    on_both_backends(async |fx| {
        let root = Principal::Token(TokenId::parse("root").unwrap());
        let mut tx = fx.store.begin_write().await.unwrap();
        let answer = serde_json::json!({"n": 1});
        assert!(
            tx.remember_response(&root, "k", "h1", 200, &answer)
                .await
                .unwrap()
        );
        assert!(
            !tx.remember_response(&root, "k", "h2", 201, &serde_json::json!({"n": 2}))
                .await
                .unwrap()
        );
        let seen = tx.idempotent_response(&root, "k").await.unwrap().unwrap();
        assert_eq!((seen.request_hash.as_str(), seen.status), ("h1", 200));
        // Rolled back with its transaction.
        drop(tx);
        assert!(
            fx.store
                .idempotent_response(&root, "k")
                .await
                .unwrap()
                .is_none()
        );
        let mut tx = fx.store.begin_write().await.unwrap();
        assert!(
            tx.remember_response(&root, "k", "h3", 200, &answer)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let seen = fx
            .store
            .idempotent_response(&root, "k")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.request_hash, "h3");
        assert_eq!(
            serde_json::from_str::<Value>(&seen.response).unwrap(),
            answer
        );
        // Another principal's key space.
        assert!(
            fx.store
                .idempotent_response(&Principal::system("cli"), "k")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            fx.store
                .idempotent_response(&root, &"k".repeat(256))
                .await
                .is_err()
        );
    })
    .await;
}
