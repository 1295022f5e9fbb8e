//! Every path of the OpenAPI document, asked by every kind of credential
//! and with hostile query values: the scopes answer as one declared table
//! says, and no value a client sends makes a worker fail.

use super::*;

const PERSON: &str = "person-secret";
const SCIM: &str = "scim-secret";

/// The credentials, by the name the table uses.
fn credentials() -> [(&'static str, Option<&'static str>); 7] {
    [
        ("none", None),
        ("read", Some(READ)),
        ("metrics", Some(METRICS)),
        ("gate", Some(GATE)),
        ("admin", Some(ADMIN)),
        ("request", Some(PERSON)),
        ("scim", Some(SCIM)),
    ]
}

/// Who gets past authentication and authorisation, per operation: the
/// declared table (the own-security issue extends it with roles). A 401,
/// or a 403 `forbidden` (a missing scope), is a denial; anything else —
/// including 400, 404 or a 403 `refused` by a business rule — got in.
/// Under `/scim/v2` errors are SCIM error bodies, not problems: there a
/// 401, or a 403 whose `detail` says the token lacks the scim scope, is a
/// denial (see [`denied`]).
const ALLOWED: &[(&str, &str, &[&str])] = &[
    ("POST", "/api/v1/actions/executed", &["gate", "admin"]),
    ("POST", "/api/v1/actions/token", &["gate", "admin"]),
    (
        "GET",
        "/api/v1/breakglass",
        &["read", "admin", "request", "gate"],
    ),
    ("POST", "/api/v1/breakglass", &["request"]),
    ("POST", "/api/v1/breakglass/{use_id}/review", &["request"]),
    ("POST", "/api/v1/changes/deployed", &["gate", "admin"]),
    ("GET", "/api/v1/changes/last-deployed", &["gate", "admin"]),
    (
        "GET",
        "/api/v1/delegations",
        &["read", "admin", "request", "gate"],
    ),
    ("POST", "/api/v1/delegations", &["request"]),
    (
        "POST",
        "/api/v1/delegations/{delegation_id}/revoke",
        &["request"],
    ),
    ("GET", "/api/v1/entitlements", &["read", "admin"]),
    ("GET", "/api/v1/findings", &["read", "admin"]),
    ("GET", "/api/v1/gate/check", &["gate", "admin"]),
    ("POST", "/api/v1/gate/requests", &["gate", "admin"]),
    (
        "GET",
        "/api/v1/grants",
        &["read", "admin", "request", "gate"],
    ),
    ("POST", "/api/v1/grants/{grant_id}/revoke", &["admin"]),
    ("GET", "/api/v1/ledger/checkpoint", &["read", "admin"]),
    ("GET", "/api/v1/ledger/entries", &["read", "admin"]),
    (
        "GET",
        "/api/v1/ledger/proof/consistency",
        &["read", "admin"],
    ),
    ("GET", "/api/v1/ledger/proof/inclusion", &["read", "admin"]),
    (
        "GET",
        "/api/v1/openapi.json",
        &[
            "none", "read", "metrics", "gate", "admin", "request", "scim",
        ],
    ),
    ("GET", "/api/v1/people", &["read", "admin"]),
    (
        "GET",
        "/api/v1/people/{person_id}/access",
        &["read", "admin"],
    ),
    (
        "GET",
        "/api/v1/people/{person_id}/history",
        &["read", "admin"],
    ),
    (
        "GET",
        "/api/v1/requests",
        &["read", "admin", "request", "gate"],
    ),
    ("POST", "/api/v1/requests", &["request"]),
    (
        "GET",
        "/api/v1/requests/{request_id}",
        &["read", "admin", "request", "gate"],
    ),
    (
        "POST",
        "/api/v1/requests/{request_id}/activate",
        &["request"],
    ),
    (
        "POST",
        "/api/v1/requests/{request_id}/approve",
        &["request"],
    ),
    ("POST", "/api/v1/requests/{request_id}/cancel", &["request"]),
    ("POST", "/api/v1/requests/{request_id}/deny", &["request"]),
    ("POST", "/api/v1/sod/simulate", &["read", "admin"]),
    ("GET", "/api/v1/store", &["read", "admin"]),
    ("GET", "/api/v1/systems", &["read", "admin"]),
    ("GET", "/api/v1/tokens", &["admin"]),
    ("POST", "/api/v1/tokens", &["admin"]),
    ("POST", "/api/v1/tokens/{token_id}/revoke", &["admin"]),
    ("GET", "/api/v1/who-has", &["read", "admin"]),
    (
        "GET",
        "/healthz",
        &[
            "none", "read", "metrics", "gate", "admin", "request", "scim",
        ],
    ),
    ("GET", "/metrics", &["metrics", "admin"]),
    (
        "GET",
        "/readyz",
        &[
            "none", "read", "metrics", "gate", "admin", "request", "scim",
        ],
    ),
    ("GET", "/scim/v2/ServiceProviderConfig", &["scim"]),
    ("GET", "/scim/v2/Schemas", &["scim"]),
    ("GET", "/scim/v2/Schemas/{id}", &["scim"]),
    ("GET", "/scim/v2/ResourceTypes", &["scim"]),
    ("GET", "/scim/v2/ResourceTypes/{id}", &["scim"]),
    ("GET", "/scim/v2/Users", &["scim"]),
    ("POST", "/scim/v2/Users", &["scim"]),
    ("POST", "/scim/v2/Users/.search", &["scim"]),
    ("GET", "/scim/v2/Users/{id}", &["scim"]),
    ("PUT", "/scim/v2/Users/{id}", &["scim"]),
    ("PATCH", "/scim/v2/Users/{id}", &["scim"]),
    ("DELETE", "/scim/v2/Users/{id}", &["scim"]),
    ("GET", "/scim/v2/Groups", &["scim"]),
    ("POST", "/scim/v2/Groups", &["scim"]),
    ("POST", "/scim/v2/Groups/.search", &["scim"]),
    ("GET", "/scim/v2/Groups/{id}", &["scim"]),
    ("PUT", "/scim/v2/Groups/{id}", &["scim"]),
    ("PATCH", "/scim/v2/Groups/{id}", &["scim"]),
    ("DELETE", "/scim/v2/Groups/{id}", &["scim"]),
    ("POST", "/scim/v2/.search", &["scim"]),
];

fn operations() -> Vec<(String, String, Vec<String>)> {
    let doc: Value = serde_json::from_str(&soxctl_server::openapi_json()).unwrap();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let params = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            out.push((method.to_uppercase(), path.clone(), params));
        }
    }
    out
}

/// `{id}` path parameters filled with a harmless value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "x" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// The methods an operation of the document may have; each is sent with
/// the JSON body `{}`.
async fn send(app: &Router, method: &str, uri: &str, token: Option<&str>) -> Reply {
    let method = match method {
        "GET" => return get(app, uri, token).await,
        "POST" => return post(app, uri, token, None, "{}").await,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        other => panic!("the OpenAPI document has a {other} operation; teach this test to send it"),
    };
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    call(app, request.body(Body::from("{}")).unwrap()).await
}

/// Whether `reply` to a request for `path` denies the caller. Under
/// `/api` (and the operations paths): a 401, or a 403 problem `forbidden`
/// (a missing scope). Under `/scim/v2`, where every error must be a SCIM
/// error body: a 401, or a 403 whose `detail` says the token lacks the
/// scim scope (bound to a system). Any other 403 there is a test failure,
/// not a denial: SCIM has no business-rule refusals.
fn denied(path: &str, reply: &Reply) -> bool {
    if !path.starts_with("/scim/") {
        return reply.status == StatusCode::UNAUTHORIZED
            || (reply.status == StatusCode::FORBIDDEN
                && serde_json::from_slice::<Value>(&reply.body)
                    .is_ok_and(|b| b["code"] == "forbidden"));
    }
    if !reply.status.is_client_error() {
        return false;
    }
    let body = reply.json();
    assert_eq!(
        reply.header("content-type"),
        "application/scim+json",
        "{path}: {body}"
    );
    assert_eq!(
        body["schemas"],
        serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{path}: {body}"
    );
    assert_eq!(body["status"], reply.status.as_str(), "{path}: {body}");
    match reply.status {
        StatusCode::UNAUTHORIZED => true,
        StatusCode::FORBIDDEN => {
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("lacks the 'scim (with --system)' scope"),
                "{path}: a 403 that is not a missing scim scope: {body}"
            );
            true
        }
        _ => false,
    }
}

/// The token that gets into `path`'s handler, so that its query
/// parameters are parsed at all: the SCIM one (system erp) under
/// `/scim/v2`, the admin one elsewhere. Needs [`extra_tokens`].
fn token_for(path: &str) -> &'static str {
    if path.starts_with("/scim/") {
        SCIM
    } else {
        ADMIN
    }
}

/// A SCIM User and a Group with it as member in system erp, so lists have
/// something to filter and select from; `path` with its `{id}` filled:
/// the User's or Group's id under `/scim/v2/Users` or `/Groups`, else `x`.
async fn scim_resources(app: &Router) -> impl Fn(&str) -> String {
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "hostile@example.com",
        "name": {"givenName": "Hos", "familyName": "Tile"},
        "emails": [{"value": "hostile@example.com", "type": "work", "primary": true}],
    });
    let reply = post(app, "/scim/v2/Users", Some(SCIM), None, &user.to_string()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let user_id = reply.json()["id"].as_str().unwrap().to_owned();
    let group = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Hostile",
        "members": [{"value": user_id}],
    });
    let reply = post(app, "/scim/v2/Groups", Some(SCIM), None, &group.to_string()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let group_id = reply.json()["id"].as_str().unwrap().to_owned();
    move |path: &str| {
        let id = match path {
            "/scim/v2/Users/{id}" => user_id.as_str(),
            "/scim/v2/Groups/{id}" => group_id.as_str(),
            _ => return concrete(path),
        };
        path.replace("{id}", id)
    }
}

async fn extra_tokens(store: &Store) {
    let actor = Principal::system("test");
    put_person(store, &test_person("pat", PersonStatus::Active), true).await;
    let Event::TokenCreated(mut person) = token_event("person-t", PERSON, &[Scope::Request], None)
    else {
        unreachable!()
    };
    person.person_id = Some(PersonId::parse("pat").unwrap());
    let Event::TokenCreated(mut scim) = token_event("scim-t", SCIM, &[Scope::Scim], None) else {
        unreachable!()
    };
    scim.system_id = Some(soxctl_model::ids::SystemId::parse("erp").unwrap());
    for event in [Event::TokenCreated(person), Event::TokenCreated(scim)] {
        store.append_one(&actor, &event).await.unwrap();
    }
}

#[tokio::test]
async fn every_operation_answers_its_declared_scopes() {
    on_both_backends(async |fx| {
        extra_tokens(&fx.store).await;
        let app = fx.app();
        let mut seen = Vec::new();
        let mut wrong = Vec::new();
        for (method, path, _) in operations() {
            let uri = concrete(&path);
            let mut allowed = Vec::new();
            for (name, token) in credentials() {
                let reply = send(&app, &method, &uri, token).await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{method} {uri} as {name}: {}",
                    reply.text()
                );
                if !denied(&path, &reply) {
                    allowed.push(name);
                }
            }
            let declared = ALLOWED
                .iter()
                .find(|(m, p, _)| *m == method && *p == path)
                .map(|(_, _, scopes)| scopes.to_vec());
            let same = declared
                .as_ref()
                .is_some_and(|d| d.len() == allowed.len() && d.iter().all(|s| allowed.contains(s)));
            if !same {
                wrong.push(format!(
                    "{method} {path}: declared {declared:?}, answered {allowed:?}"
                ));
            }
            seen.push((method, path));
        }
        for (m, p, _) in ALLOWED {
            assert!(
                seen.iter().any(|(sm, sp)| sm == m && sp == p),
                "the table declares {m} {p}, which the OpenAPI document does not have"
            );
        }
        assert!(
            wrong.is_empty(),
            "scopes differ from the table:\n{}",
            wrong.join("\n")
        );
    })
    .await;
}

/// Values a client may send for any query parameter: numbers past every
/// bound, negative, fractional, dates past year 9999, long and binary text.
fn hostile_values() -> Vec<String> {
    vec![
        u64::MAX.to_string(),
        "18446744073709551616".into(),
        i64::MAX.to_string(),
        "9000000000000".into(),
        "-1".into(),
        "1.5".into(),
        "0".into(),
        "+262143-01-01".into(),
        "99999-12-31".into(),
        "9999-12-31".into(),
        "9999-12-31T23:59:59.999999Z".into(),
        "0000-01-01".into(),
        "-0001-01-01".into(),
        "%00%01%7F".into(),
        "%E2%80%AE".into(),
        "x".repeat(20_000),
    ]
}

#[tokio::test]
async fn no_query_value_makes_a_worker_fail() {
    on_both_backends(async |fx| {
        extra_tokens(&fx.store).await;
        let app = fx.app();
        let fill = scim_resources(&app).await;
        for (method, path, params) in operations() {
            if method != "GET" || params.is_empty() {
                continue;
            }
            let uri = fill(&path);
            let token = token_for(&path);
            for param in &params {
                for value in hostile_values() {
                    let target = format!("{uri}?{param}={value}");
                    let reply = get(&app, &target, Some(token)).await;
                    assert!(
                        reply.status.as_u16() < 500,
                        "GET {target}: {} {}",
                        reply.status,
                        reply.text()
                    );
                    assert!(
                        !denied(&path, &reply),
                        "GET {target}: the token must get in for its query to be parsed: {}",
                        reply.text()
                    );
                }
            }
        }
        let too_far = get(
            &app,
            "/api/v1/grants?expiring_within_secs=9000000000000",
            Some(READ),
        )
        .await;
        let problem = too_far.problem(StatusCode::BAD_REQUEST, "bad_request");
        assert!(
            problem["detail"].as_str().unwrap().contains("315360000"),
            "{problem}"
        );
    })
    .await;
}

/// Any text, number or date as any query parameter of any GET: a property
/// test beside the fixed hostile list above. No answer is a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_query_values_never_fail_a_worker() {
    use proptest::prelude::*;
    on_both_backends(async |fx| {
        extra_tokens(&fx.store).await;
        let app = fx.app();
        let fill = scim_resources(&app).await;
        let targets: Vec<(String, String, &str)> = operations()
            .into_iter()
            .filter(|(method, _, _)| method == "GET")
            .flat_map(|(_, path, params)| {
                let uri = fill(&path);
                let token = token_for(&path);
                params.into_iter().map(move |p| (uri.clone(), p, token))
            })
            .collect();
        assert!(targets.len() > 20, "{targets:?}");
        let value = prop_oneof![
            any::<i128>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| n.to_string()),
            (-300_000i32..300_000, 0u8..100, 0u8..100)
                .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
            (0i32..10_000, 0u8..14, 0u8..33, 0u8..61, 0u32..2_000_000)
                .prop_map(|(y, mo, d, s, us)| format!("{y:04}-{mo:02}-{d:02}T23:59:{s:02}.{us}Z")),
            any::<String>(),
        ];
        let handle = tokio::runtime::Handle::current();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let outcome = tokio::task::block_in_place(|| {
            runner.run(&(0..targets.len(), value), |(i, value)| {
                let (uri, param, token) = &targets[i];
                let target = format!("{uri}?{param}={}", urlencode(&value));
                let reply = handle.block_on(get(&app, &target, Some(*token)));
                prop_assert!(
                    reply.status.as_u16() < 500,
                    "GET {target}: {} {}",
                    reply.status,
                    reply.text()
                );
                Ok(())
            })
        });
        if let Err(e) = outcome {
            panic!("{e}");
        }
    })
    .await;
}

/// Ids and free text that enter now meet the stricter rule: a token's
/// description without control or direction-changing characters, a SCIM
/// token's system from a safe alphabet; a commit is a commit. Nothing is
/// recorded, and errors show what was sent escaped.
#[tokio::test]
async fn garbage_input_is_refused_with_escaped_errors() {
    on_both_backends(async |fx| {
        let app = fx.app();
        let before = ledger_size(&fx.store).await;
        for description in ["nul\u{0}byte", "rtl\u{202e}override", "bell\u{7}"] {
            let body = serde_json::json!({"scopes": ["read"], "description": description});
            let reply = post(&app, "/api/v1/tokens", Some(ADMIN), None, &body.to_string()).await;
            let problem = reply.problem(StatusCode::BAD_REQUEST, "bad_request");
            let detail = problem["detail"].as_str().unwrap();
            assert!(!detail.contains(['\u{0}', '\u{202e}', '\u{7}']), "{detail}");
            assert!(
                detail.contains("\\0") || detail.contains("\\u{"),
                "{detail}"
            );
        }
        // Whatever quotes the input — a path id, a JSON error, an unknown
        // person — shows it escaped.
        let escaped = |reply: &Reply, status: StatusCode, code: &str| {
            let problem = reply.problem(status, code);
            let detail = problem["detail"].as_str().unwrap().to_owned();
            assert!(
                !detail.chars().any(soxctl_model::identity::is_hidden),
                "raw hidden character in {detail:?}"
            );
            detail
        };
        let detail = escaped(
            &get(
                &app,
                "/api/v1/requests/a%00b%E2%80%AEc%1B%5B31m",
                Some(ADMIN),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        assert!(detail.contains("a\\0b\\u{202e}c\\u{1b}[31m"), "{detail}");
        let body = r#"{"scopes":["re\u0000ad"]}"#;
        escaped(
            &post(&app, "/api/v1/tokens", Some(ADMIN), None, body).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        let body = serde_json::json!({"scopes": ["request"], "person_id": "E\u{202e}1"});
        escaped(
            &post(&app, "/api/v1/tokens", Some(ADMIN), None, &body.to_string()).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        for system in ["../x", "..", ".", "a b"] {
            let body = serde_json::json!({"scopes": ["scim"], "system_id": system});
            post(&app, "/api/v1/tokens", Some(ADMIN), None, &body.to_string())
                .await
                .problem(StatusCode::BAD_REQUEST, "bad_request");
        }
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");
    })
    .await;
}

/// A request, grant, delegation or break-glass id in a path, or a request
/// id in a body, is parsed into its type before anything is looked up: one
/// that cannot be an id is a 400 that names the kind and shows the value
/// escaped, and nothing is recorded.
#[tokio::test]
async fn ids_that_cannot_be_ids_are_refused_before_any_lookup() {
    on_both_backends(async |fx| {
        extra_tokens(&fx.store).await;
        let app = fx.app();
        let before = ledger_size(&fx.store).await;
        let long = "r".repeat(600);
        for (path, kind) in [
            ("/api/v1/requests/req:1".to_owned(), "request_id"),
            (format!("/api/v1/requests/{long}"), "request_id"),
        ] {
            let reply = get(&app, &path, Some(ADMIN)).await;
            let detail = reply.problem(StatusCode::BAD_REQUEST, "bad_request")["detail"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(detail.contains(kind), "{path}: {detail}");
        }
        for (path, body, token, kind) in [
            ("/api/v1/requests/req:1/approve", "{}", PERSON, "request_id"),
            (
                "/api/v1/requests/%20req/cancel",
                r#"{"reason":"x"}"#,
                PERSON,
                "request_id",
            ),
            (
                "/api/v1/grants/agr:1/revoke",
                r#"{"reason":"x"}"#,
                ADMIN,
                "grant_id",
            ),
            (
                "/api/v1/delegations/dlg:1/revoke",
                "{}",
                PERSON,
                "delegation_id",
            ),
            (
                "/api/v1/breakglass/bgl:1/review",
                r#"{"outcome":"appropriate","notes":"n"}"#,
                PERSON,
                "request_id",
            ),
        ] {
            let reply = post(&app, path, Some(token), None, body).await;
            let detail = reply.problem(StatusCode::BAD_REQUEST, "bad_request")["detail"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(detail.contains(kind), "{path}: {detail}");
        }
        let body = r#"{"request_id":"req:1","digest":"sha256:00","env":"prod"}"#;
        post(&app, "/api/v1/actions/token", Some(GATE), None, body)
            .await
            .problem(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");
    })
    .await;
}
