//! The HTTP edge: request ids, opaque internal errors, body limits, a real
//! socket, and the OpenAPI document kept in step with the routes.

use super::*;

#[tokio::test]
async fn request_ids_are_echoed_or_made_and_appear_in_problems() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let echoed = call(
            &app,
            Request::get("/api/v1/store")
                .header("x-request-id", "trace-me-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(echoed.header("x-request-id"), "trace-me-42");
        assert_eq!(
            echoed.problem(StatusCode::UNAUTHORIZED, "unauthenticated")["request_id"],
            "trace-me-42"
        );

        let made = get(&app, "/healthz", None).await;
        let id = made.header("x-request-id");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(id.matches('-').count(), 4, "a UUID: {id}");

        // Only 1-128 visible ASCII characters are kept; anything else is
        // replaced by a fresh UUID, in the header and in problems alike.
        let longest = "x".repeat(MAX_REQUEST_ID_LEN);
        for kept in ["a", "~!#$%&'*+-.^_`|/:;<=>?@[]{}()", longest.as_str()] {
            let reply = call(
                &app,
                Request::get("/api/v1/store")
                    .header("x-request-id", kept)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.header("x-request-id"), kept);
            reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        let too_long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        let mut replaced: Vec<Request<Body>> = [
            "",
            "has space",
            " padded",
            "tab\there",
            "caf\u{e9}",
            too_long.as_str(),
        ]
        .into_iter()
        .map(|bad| {
            Request::get("/api/v1/store")
                .header(
                    "x-request-id",
                    axum::http::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
                )
                .body(Body::empty())
                .unwrap()
        })
        .collect();
        // Two ids are as good as none.
        replaced.push(
            Request::get("/api/v1/store")
                .header("x-request-id", "one")
                .header("x-request-id", "two")
                .body(Body::empty())
                .unwrap(),
        );
        for request in replaced {
            let sent: Vec<Vec<u8>> = request
                .headers()
                .get_all("x-request-id")
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect();
            let reply = call(&app, request).await;
            let ids: Vec<&str> = reply
                .headers
                .get_all("x-request-id")
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(ids.len(), 1, "{sent:?}: {ids:?}");
            assert_eq!(ids[0].len(), 36, "{sent:?} replaced by a UUID: {ids:?}");
            assert_eq!(ids[0].matches('-').count(), 4, "a UUID: {ids:?}");
            assert_eq!(
                reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated")["request_id"],
                ids[0]
            );
        }

        // Errors the framework makes are problems as well.
        get(&app, "/no/such/thing", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");
        let post = call(&app, Request::post("/healthz").body(Body::empty()).unwrap()).await;
        post.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert!(post.header("allow").contains("GET"));
    })
    .await;
}

#[tokio::test]
async fn internal_errors_are_opaque_to_clients_and_logged_with_the_request_id() {
    // A global subscriber: a thread-scoped one misses spans whose callsites
    // other tests' threads registered first (tracing caches interest globally).
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    });
    on_both_backends(async |fx| {
        let app = fx.app();
        fx.store
            .execute_unchecked("DELETE FROM ledger_entries WHERE seq = 3")
            .await
            .unwrap();
        let request_id = format!("boom-{}", fx.store.backend());
        let reply = call(
            &app,
            Request::get("/api/v1/ledger/proof/inclusion?seq=3")
                .header(header::AUTHORIZATION, format!("Bearer {READ}"))
                .header("x-request-id", &request_id)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let body = reply.problem(StatusCode::INTERNAL_SERVER_ERROR, "internal");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("entry 3") && detail.contains("request id"),
            "{detail}"
        );

        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let line = logs
            .lines()
            .find(|line| line.contains("entry 3 is missing") && line.contains(&request_id))
            .unwrap_or_else(|| panic!("the error is not logged:\n{logs}"));
        for field in [
            format!("request_id={request_id}"),
            "method=GET".to_owned(),
            "route=/api/v1/ledger/proof/inclusion".to_owned(),
            "principal=token:reader".to_owned(),
        ] {
            assert!(line.contains(&field), "{field} missing from {line}");
        }
    })
    .await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let size = soxctl_server::BODY_LIMIT + 1;
        let request = Request::builder()
            .method(Method::GET)
            .uri("/api/v1/ledger/checkpoint")
            .header(header::AUTHORIZATION, format!("Bearer {READ}"))
            .header(header::CONTENT_LENGTH, size)
            .body(Body::from(vec![b'x'; size]))
            .unwrap();
        let body = call(&app, request)
            .await
            .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        assert!(body["detail"].as_str().unwrap().contains("1 MiB"), "{body}");
        let metrics = get(&app, "/metrics", Some(METRICS)).await.text();
        assert!(
            metrics.contains("route=\"/api/v1/ledger/checkpoint\",status=\"413\"} 1"),
            "413s are counted under their route:\n{metrics}"
        );
    })
    .await;
}

#[tokio::test]
async fn serve_answers_over_a_real_socket_and_signs_on_shutdown() {
    on_both_backends(async |fx| {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = fx.state().with_checkpoint_policy(CheckpointPolicy {
            max_interval: Duration::from_secs(3600),
            max_entries: 1_000,
        });
        let server = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));

        let (head, body) =
            raw_http(address, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.to_ascii_lowercase().contains("\r\nx-request-id: "), "{head}");
        assert_eq!(body, r#"{"status":"ok"}"#);

        // The checkpointer signed the unsigned entry on start.
        wait_for_checkpoint(&fx.store, 9).await;
        let (head, body) = raw_http(
            address,
            &format!(
                "GET /api/v1/ledger/checkpoint HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {READ}\r\n\
                 x-request-id: raw-1\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("x-request-id: raw-1"), "{head}");
        assert_eq!(open_checkpoint(&body, &fx.key.verifier()).unwrap().size, 9);

        let (head, body) =
            raw_http(address, "GET /api/v1/store HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        assert!(body.contains(r#""code":"unauthenticated""#), "{body}");

        // An entry appended while serving is signed at shutdown at the latest.
        fx.store.append_one(&Principal::system("test"), &token_event("last", "last", &[Scope::Read], None)).await.unwrap();
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
        assert_eq!(fx.store.latest_checkpoint().await.unwrap().unwrap().size, 10);
        assert!(tokio::net::TcpStream::connect(address).await.is_err(), "the listener is closed");
    })
    .await;
}

/// `docs/openapi.json` is the committed copy of the generated description;
/// `UPDATE_OPENAPI=1 cargo test -p soxctl-server openapi` rewrites it.
#[test]
fn openapi_document_matches_docs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the handlers' annotations; run `UPDATE_OPENAPI=1 cargo test -p soxctl-server \
         openapi` and commit the result",
        path.display()
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/store",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/proof/inclusion",
        "/api/v1/ledger/proof/consistency",
        "/api/v1/tokens",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for path in ["/api/v1/tokens", "/api/v1/tokens/{token_id}/revoke"] {
        let operation = &doc["paths"][path]["post"];
        assert!(operation.is_object(), "POST {path} missing");
        assert!(
            operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "POST {path} documents Idempotency-Key"
        );
        assert!(operation["responses"]["422"].is_object(), "{path}");
    }
    // The SCIM service provider is registered like the rest (issue 14):
    // every operation under /scim/v2 is tagged scim, needs the bearer
    // token and answers application/scim+json; lists document their query.
    let scim: Vec<(&String, &String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/scim/v2/"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (path, method, op))
        })
        .collect();
    assert_eq!(scim.len(), 20, "SCIM operations in the document");
    for (path, method, op) in &scim {
        assert_eq!(op["tags"], serde_json::json!(["scim"]), "{method} {path}");
        assert_eq!(
            op["security"],
            serde_json::json!([{"bearer": []}]),
            "{method} {path}"
        );
        for (status, response) in op["responses"].as_object().unwrap() {
            if !["204", "304"].contains(&status.as_str()) {
                assert!(
                    response["content"]["application/scim+json"].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
        assert!(
            op["responses"]["403"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("scim scope")),
            "{method} {path}"
        );
    }
    for path in ["/scim/v2/Users", "/scim/v2/Groups"] {
        let names: Vec<&str> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "filter",
                "startIndex",
                "count",
                "attributes",
                "excludedAttributes"
            ],
            "{path}"
        );
    }
    let scopes =
        &doc["components"]["schemas"]["CreateToken"]["properties"]["scopes"]["items"]["enum"];
    assert_eq!(
        scopes,
        &serde_json::json!(Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>())
    );
}
