//! Who may call what: health and readiness open to all, everything else
//! behind a valid token with the right scope; metrics; people who leave.

use super::*;

#[tokio::test]
async fn health_readiness_and_openapi_need_no_token() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let health = get(&app, "/healthz", None).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.json(), serde_json::json!({"status": "ok"}));
        let ready = get(&app, "/readyz", None).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
        let doc = get(&app, "/api/v1/openapi.json", None).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.header("content-type"), "application/json");
        assert_eq!(doc.json()["openapi"], "3.1.0");
        assert_eq!(doc.text(), openapi_json());
    })
    .await;
}

#[tokio::test]
async fn readiness_fails_with_a_problem_when_the_store_is_closed() {
    on_both_backends(async |fx| {
        let app = fx.app();
        fx.store.close().await;
        get(&app, "/readyz", None)
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        // Liveness is about the process only.
        assert_eq!(get(&app, "/healthz", None).await.status, StatusCode::OK);
        // Authentication needs the store too: an outage, not a credential problem.
        get(&app, "/api/v1/store", Some(READ))
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    })
    .await;
}

#[tokio::test]
async fn everything_else_needs_a_valid_token_with_the_right_scope() {
    on_both_backends(async |fx| {
        let app = fx.app();
        for uri in PROTECTED {
            let missing = get(&app, uri, None).await;
            let body = missing.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(
                missing.header("www-authenticate").starts_with("Bearer"),
                "{uri}"
            );
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Authorization: Bearer"),
                "{body}"
            );

            for (token, hint) in [
                ("wrong-secret", "not known"),
                (REVOKED, "revoked"),
                (EXPIRED, "expired"),
                ("", "not a bearer token"),
            ] {
                let reply = get(&app, uri, Some(token)).await;
                let body = reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
                assert!(
                    reply.header("www-authenticate").starts_with("Bearer"),
                    "{uri}"
                );
                assert!(
                    body["detail"].as_str().unwrap().contains(hint),
                    "{uri} {token}: {body}"
                );
            }
            let basic = call(
                &app,
                Request::get(uri)
                    .header(header::AUTHORIZATION, "Basic cmVhZDpzZWNyZXQ=")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            basic.problem(StatusCode::UNAUTHORIZED, "unauthenticated");

            let body = get(&app, uri, Some(GATE))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
            assert!(
                body["detail"]
                    .as_str()
                    .unwrap()
                    .contains("token:gatekeeper lacks the"),
                "{body}"
            );
        }
        // Read tokens read but do not scrape; metrics tokens scrape but do not read.
        for uri in &PROTECTED[..5] {
            assert_eq!(
                get(&app, uri, Some(READ)).await.status,
                StatusCode::OK,
                "{uri}"
            );
            assert_eq!(
                get(&app, uri, Some(ADMIN)).await.status,
                StatusCode::OK,
                "{uri}"
            );
            get(&app, uri, Some(METRICS))
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
        }
        get(&app, "/metrics", Some(READ))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn metrics_with_the_metrics_scope_or_when_public() {
    on_both_backends(async |fx| {
        let app = fx.app();
        get(&app, "/api/v1/store", Some(READ)).await;
        get(&app, "/api/v1/ledger/proof/inclusion?seq=0", Some(READ)).await;
        let reply = get(&app, "/metrics", Some(METRICS)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        // Prometheus text by default.
        assert_eq!(reply.header("content-type"), PROMETHEUS_TEXT_CONTENT_TYPE);
        assert_eq!(reply.header("vary"), "accept");
        let text = reply.text();
        for line in [
            "soxctl_http_requests_total{method=\"GET\",route=\"/api/v1/store\",status=\"200\"} 1",
            "soxctl_http_requests_total{method=\"GET\",route=\"/api/v1/ledger/proof/inclusion\",status=\"200\"} 1",
            "soxctl_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/store\"} 1",
            "soxctl_store_up 1",
            "soxctl_ledger_size 9",
            "soxctl_ledger_entries_appended_total 9",
            "soxctl_checkpoint_size 8",
            "soxctl_outbox_pending 0",
            "soxctl_outbox_dead_letters 0",
            "soxctl_outbox_lag_seconds 0",
            "# TYPE soxctl_http_requests_total counter",
            "# TYPE soxctl_ledger_entries_appended_total counter",
            "# TYPE soxctl_checkpoint_age_seconds gauge",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_prometheus_text(&text);
        assert_eq!(get(&app, "/metrics", Some(ADMIN)).await.status, StatusCode::OK);

        // OpenMetrics when asked for, or preferred as Prometheus does.
        for accept in [
            "application/openmetrics-text",
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ] {
            let reply = call(
                &app,
                Request::get("/metrics")
                    .header(header::AUTHORIZATION, format!("Bearer {METRICS}"))
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            assert_eq!(reply.header("content-type"), OPENMETRICS_CONTENT_TYPE);
            let text = reply.text();
            assert!(text.contains("\nsoxctl_ledger_entries_appended_total 9\n"), "{text}");
            assert!(text.contains("\n# TYPE soxctl_http_requests counter\n"), "{text}");
            assert!(text.contains("\n# UNIT soxctl_checkpoint_age_seconds seconds\n"), "{text}");
            assert!(text.ends_with("# EOF\n"), "{text}");
        }
        // Plain text when asked for, or when OpenMetrics is not preferred.
        for accept in ["text/plain; version=0.0.4", "application/openmetrics-text;q=0.1, text/plain"] {
            let reply = call(
                &app,
                Request::get("/metrics")
                    .header(header::AUTHORIZATION, format!("Bearer {METRICS}"))
                    .header(header::ACCEPT, accept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.header("content-type"), PROMETHEUS_TEXT_CONTENT_TYPE);
            assert_prometheus_text(&reply.text());
        }

        let public = router(AppState::new(fx.store.clone(), fx.key.clone(), ServerOptions { metrics_public: true, ..Default::default() }));
        let reply = get(&public, "/metrics", None).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.text().contains("soxctl_ledger_size 9"));
        // Public metrics open nothing else.
        get(&public, "/api/v1/store", None).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    })
    .await;
}

#[tokio::test]
async fn readiness_checks_the_store_at_most_once_a_second() {
    on_both_backends(async |fx| {
        let state = fx.state();
        let app = router(state.clone());
        let started = std::time::Instant::now();
        let mut probes = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let app = app.clone();
            probes.spawn(async move { get(&app, "/readyz", None).await.status });
        }
        while let Some(status) = probes.join_next().await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
        let elapsed = started.elapsed();
        let checks = state.readiness_checks();
        assert!(checks >= 1, "readiness never checked the store");
        assert!(
            checks <= elapsed.as_secs() + 1,
            "{checks} store checks for 200 probes in {elapsed:?}"
        );

        // The answer is at most a second old: a closed store shows soon.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        fx.store.close().await;
        get(&app, "/readyz", None)
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        assert_eq!(state.readiness_checks(), checks + 1);
        // Failures are cached too: probes do not hammer a broken store.
        for _ in 0..20 {
            get(&app, "/readyz", None)
                .await
                .problem(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        }
        assert!(state.readiness_checks() <= checks + 2);
    })
    .await;
}

#[tokio::test]
async fn tokens_of_terminated_or_unknown_people_stop_working() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let actor = Principal::system("test");
        put_person(&fx.store, &test_person("ada", PersonStatus::Active), true).await;
        put_person(&fx.store, &test_person("bob", PersonStatus::Leave), true).await;
        put_person(
            &fx.store,
            &test_person("eve", PersonStatus::Terminated),
            true,
        )
        .await;
        for (id, secret, person) in [
            ("ada-token", "ada-secret", "ada"),
            ("bob-token", "bob-secret", "bob"),
            ("eve-token", "eve-secret", "eve"),
            ("ghost-token", "ghost-secret", "ghost"),
        ] {
            fx.store
                .append_one(&actor, &bound_token_event(id, secret, person))
                .await
                .unwrap();
        }

        // Active and on leave: the token works.
        for secret in ["ada-secret", "bob-secret"] {
            let reply = get(&app, "/api/v1/store", Some(secret)).await;
            assert_eq!(reply.status, StatusCode::OK, "{secret}: {}", reply.text());
        }
        // Terminated or not in the inventory: 401, saying why.
        for (secret, why) in [
            ("eve-secret", "person eve, who is terminated"),
            ("ghost-secret", "person ghost, who is not in the inventory"),
        ] {
            let reply = get(&app, "/api/v1/store", Some(secret)).await;
            let body = reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert!(reply.header("www-authenticate").starts_with("Bearer"));
            assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
        }

        // Ada leaves: her token stops at once, without a revocation.
        put_person(
            &fx.store,
            &test_person("ada", PersonStatus::Terminated),
            false,
        )
        .await;
        let body = get(&app, "/api/v1/store", Some("ada-secret"))
            .await
            .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("person ada, who is terminated"),
            "{body}"
        );
        // Tokens bound to nobody are unaffected.
        assert_eq!(
            get(&app, "/api/v1/store", Some(READ)).await.status,
            StatusCode::OK
        );
        assert_verifies(&fx).await;
    })
    .await;
}
