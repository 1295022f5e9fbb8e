//! The SCIM 2.0 service provider at `/scim/v2`: joiners, movers and leavers
//! as ledger events, filters, pagination, ETags, SCIM error bodies, and one
//! system's token seeing nothing of another's. On SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use super::*;
use serde_json::json;
use soxctl_model::ids::{EntitlementRef, SystemId};

const OKTA: &str = "okta-scim-secret";
const ENTRA: &str = "entra-scim-secret";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// SCIM tokens for two systems, and a person to correlate with.
async fn seed(store: &Store) {
    let actor = Principal::system("test");
    for (id, secret, system) in [("okta", OKTA, "okta"), ("entra", ENTRA, "entra")] {
        let event = Event::TokenCreated(TokenCreated {
            token_id: TokenId::parse(id).unwrap(),
            secret_sha256: sha256_hex(secret),
            scopes: vec![Scope::Scim],
            system_id: Some(SystemId::parse(system).unwrap()),
            person_id: None,
            expires_at: None,
            description: None,
            repo: None,
            environments: Vec::new(),
        });
        store.append_one(&actor, &event).await.unwrap();
    }
    let mut tx = store.begin_write().await.unwrap();
    let ada = Person {
        person_id: PersonId::parse("p1").unwrap(),
        name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        manager_id: None,
        department: None,
        title: None,
        status: PersonStatus::Active,
        hire_date: None,
        termination_date: None,
    };
    let sealed = tx.seal_person(&ada).await.unwrap();
    tx.append(
        &actor,
        &Event::PersonAdded(PersonFact {
            origin: Origin::default(),
            changed: None,
            person: sealed,
        }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn scim(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/scim+json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    call(app, request.body(body).unwrap()).await
}

impl Reply {
    /// Asserts a SCIM error body (RFC 7644 §3.12) and returns it.
    fn scim_error(&self, status: StatusCode, scim_type: Option<&str>) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/scim+json");
        let body = self.json();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(
            body["status"],
            status.as_u16().to_string(),
            "status is a string"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        match scim_type {
            Some(t) => assert_eq!(body["scimType"], t, "{body}"),
            None => assert!(body.get("scimType").is_none(), "{body}"),
        }
        body
    }

    fn ok(&self, status: StatusCode) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), "application/scim+json");
        self.json()
    }
}

/// Every ledger entry from `from` on, as JSON.
async fn entries_since(store: &Store, from: u64) -> Vec<Value> {
    store
        .entries(from, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|(_, _, bytes)| serde_json::from_slice(bytes).unwrap())
        .collect()
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

fn user(name: &str, email: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    })
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

#[tokio::test]
async fn joiners_movers_and_leavers_are_ledger_events() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let start = ledger_size(&fx.store).await;

        // Joiner: an account, correlated to p1 by email, in a system added and baselined.
        let created = scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(user("ada", "Ada@Example.com")),
            &[("host", "soxctl.test")],
        )
        .await;
        let ada = created.ok(StatusCode::CREATED);
        let uid = ada["id"].as_str().unwrap().to_owned();
        assert_eq!(created.header("etag"), "W/\"1\"");
        assert_eq!(
            created.header("location"),
            format!("http://soxctl.test/scim/v2/Users/{uid}")
        );
        assert_eq!(ada["meta"]["location"], created.header("location"));
        assert_eq!(ada["userName"], "ada");
        let entries = entries_since(&fx.store, start).await;
        assert_eq!(
            kinds(&entries),
            ["system.added", "system.baselined", "account.added"]
        );
        let account = &entries[2]["payload"]["account"];
        assert_eq!(account["system_id"], "okta");
        assert_eq!(account["account_id"], uid.as_str());
        assert_eq!(account["person_id"], "p1");
        assert_eq!(account["status"], "active");
        assert_eq!(entries[2]["actor"], "token:okta");
        // Personal data stays out of the ledger.
        for entry in &entries {
            let text = entry.to_string().to_lowercase();
            assert!(
                !text.contains("example.com")
                    && !text.contains("lovelace")
                    && !text.contains("\"ada\""),
                "{text}"
            );
        }

        // A Group is an entitlement; membership changes are grants.
        let group = scim(
            &app,
            Method::POST,
            "/scim/v2/Groups",
            Some(OKTA),
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "GL Posters"})),
            &[],
        )
        .await
        .ok(StatusCode::CREATED);
        let gid = group["id"].as_str().unwrap().to_owned();
        let mark = ledger_size(&fx.store).await;
        let added = scim(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": uid}]}]),
            )),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(added["members"][0]["value"], uid.as_str());
        let entries = entries_since(&fx.store, mark).await;
        assert_eq!(kinds(&entries), ["grant.added"]);
        assert_eq!(
            entries[0]["payload"]["grant"]["entitlement_id"],
            gid.as_str()
        );
        let granted_at = Timestamp::parse(entries[0]["time"].as_str().unwrap()).unwrap();
        let read = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(read["groups"][0]["value"], gid.as_str());
        assert_eq!(read["groups"][0]["display"], "GL Posters");

        // Mover: out of the group (value path), and back in.
        let mark = ledger_size(&fx.store).await;
        let removed = scim(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]),
            )),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert!(removed.get("members").is_none(), "{removed}");
        scim(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            Some(patch(
                json!([{"op": "Add", "path": "members", "value": [{"value": uid}]}]),
            )),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(
            kinds(&entries_since(&fx.store, mark).await),
            ["grant.removed", "grant.added"]
        );

        // A profile change records no event; disabling records account.changed.
        let mark = ledger_size(&fx.store).await;
        scim(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            Some(patch(
                json!([{"op": "replace", "path": "name.givenName", "value": "Augusta"}]),
            )),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(ledger_size(&fx.store).await, mark);
        let disabled = scim(
            &app,
            Method::PATCH,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            Some(patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(disabled["active"], false);
        assert_eq!(disabled["name"]["givenName"], "Augusta");
        let entries = entries_since(&fx.store, mark).await;
        assert_eq!(kinds(&entries), ["account.changed"]);
        assert_eq!(entries[0]["payload"]["changed"], json!(["status"]));
        assert_eq!(entries[0]["payload"]["account"]["status"], "disabled");

        // Leaver: grants removed, then the account; the document is gone.
        let mark = ledger_size(&fx.store).await;
        let deleted = scim(
            &app,
            Method::DELETE,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(
            kinds(&entries_since(&fx.store, mark).await),
            ["grant.removed", "account.removed"]
        );
        scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .scim_error(StatusCode::NOT_FOUND, None);
        let members = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert!(members.get("members").is_none(), "{members}");

        // History keeps the interval the account held the group.
        let reference = EntitlementRef::parse(&format!("okta:{gid}")).unwrap();
        let then = fx
            .store
            .who_has(&reference, Some(granted_at))
            .await
            .unwrap();
        assert_eq!(then.holdings.len(), 1, "{then:?}");
        assert_eq!(then.holdings[0].account_id.as_str(), uid);
        assert_eq!(
            then.holdings[0].person_id.as_ref().map(|p| p.as_str()),
            Some("p1")
        );
        assert!(
            fx.store
                .who_has(&reference, None)
                .await
                .unwrap()
                .holdings
                .is_empty()
        );

        // Deleting the group removes the entitlement.
        let mark = ledger_size(&fx.store).await;
        let deleted = scim(
            &app,
            Method::DELETE,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(
            kinds(&entries_since(&fx.store, mark).await),
            ["entitlement.removed"]
        );
        scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Groups/{gid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .scim_error(StatusCode::NOT_FOUND, None);

        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn filters_and_pagination() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let mut ids = Vec::new();
        for (name, email, title, kind) in [
            ("alice", "alice@corp.example", Some("Controller"), "work"),
            ("bob", "bob@home.example", None, "home"),
            ("carol", "carol@corp.example", Some("Clerk"), "work"),
            ("dave", "dave@corp.example", None, "work"),
            ("erin", "erin@other.example", Some("Auditor"), "other"),
        ] {
            let mut body = user(name, email);
            body["emails"][0]["type"] = kind.into();
            if let Some(title) = title {
                body["title"] = title.into();
            }
            let created = scim(
                &app,
                Method::POST,
                "/scim/v2/Users",
                Some(OKTA),
                Some(body),
                &[],
            )
            .await
            .ok(StatusCode::CREATED);
            ids.push(created["id"].as_str().unwrap().to_owned());
            // Distinct creation times for gt/lt.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let alice = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{}", ids[0]),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        let carol = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{}", ids[2]),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        let (after_alice, after_carol) = (
            alice["meta"]["created"].as_str().unwrap().to_owned(),
            carol["meta"]["created"].as_str().unwrap().to_owned(),
        );

        let names = |filter: String| {
            let app = app.clone();
            async move {
                let uri = format!("/scim/v2/Users?filter={}", urlencode(&filter));
                let list = scim(&app, Method::GET, &uri, Some(OKTA), None, &[])
                    .await
                    .ok(StatusCode::OK);
                let mut names: Vec<String> = list["Resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["userName"].as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                assert_eq!(list["totalResults"], names.len());
                names
            }
        };
        assert_eq!(names(r#"userName eq "ALICE""#.into()).await, ["alice"]);
        assert_eq!(
            names(r#"userName ne "alice""#.into()).await,
            ["bob", "carol", "dave", "erin"]
        );
        assert_eq!(
            names(r#"emails.value co "@corp.""#.into()).await,
            ["alice", "carol", "dave"]
        );
        assert_eq!(names(r#"userName sw "c""#.into()).await, ["carol"]);
        assert_eq!(names(r#"emails ew "home.example""#.into()).await, ["bob"]);
        assert_eq!(names("title pr".into()).await, ["alice", "carol", "erin"]);
        assert_eq!(
            names(format!(r#"meta.created gt "{after_alice}""#)).await,
            ["bob", "carol", "dave", "erin"]
        );
        assert_eq!(
            names(format!(r#"meta.created lt "{after_carol}""#)).await,
            ["alice", "bob"]
        );
        assert_eq!(
            names(r#"title pr and emails.value co "corp""#.into()).await,
            ["alice", "carol"]
        );
        assert_eq!(
            names(r#"userName eq "bob" or title eq "auditor""#.into()).await,
            ["bob", "erin"]
        );
        assert_eq!(
            names(r#"not (emails.value co "corp") and active eq true"#.into()).await,
            ["bob", "erin"]
        );
        assert_eq!(
            names(r#"emails[type eq "work" and value sw "d"]"#.into()).await,
            ["dave"]
        );
        assert_eq!(names(format!(r#"id eq "{}""#, ids[3])).await, ["dave"]);

        let page = scim(
            &app,
            Method::GET,
            "/scim/v2/Users?startIndex=2&count=2",
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(page["totalResults"], 5);
        assert_eq!(page["startIndex"], 2);
        assert_eq!(page["itemsPerPage"], 2);
        assert_eq!(
            page["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(page["Resources"][0]["id"], ids[1].as_str());
        let none = scim(
            &app,
            Method::GET,
            "/scim/v2/Users?count=0",
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(
            (none["totalResults"].as_u64(), none["itemsPerPage"].as_u64()),
            (Some(5), Some(0))
        );
        let searched = scim(
            &app,
            Method::POST,
            "/scim/v2/Users/.search",
            Some(OKTA),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"a\"", "attributes": ["userName"], "count": 10
            })),
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(
            searched["Resources"],
            json!([{"schemas": [USER_SCHEMA], "id": ids[0], "userName": "alice"}])
        );

        let bad = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users?filter={}", urlencode("userName eq")),
            Some(OKTA),
            None,
            &[],
        )
        .await;
        bad.scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"));
    })
    .await;
}

#[tokio::test]
async fn etags_errors_and_system_isolation() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let created = scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(user("ada", "ada@example.com")),
            &[],
        )
        .await
        .ok(StatusCode::CREATED);
        let uri = format!("/scim/v2/Users/{}", created["id"].as_str().unwrap());

        // ETags: 304 for the current version, 412 for a stale one.
        let fresh = scim(
            &app,
            Method::GET,
            &uri,
            Some(OKTA),
            None,
            &[("if-none-match", "W/\"1\"")],
        )
        .await;
        assert_eq!(fresh.status, StatusCode::NOT_MODIFIED);
        assert!(fresh.body.is_empty());
        let replaced = scim(
            &app,
            Method::PUT,
            &uri,
            Some(OKTA),
            Some(user("ada", "ada@example.com")),
            &[("if-match", "W/\"1\"")],
        )
        .await;
        replaced.ok(StatusCode::OK);
        assert_eq!(
            replaced.header("etag"),
            "W/\"1\"",
            "an unchanged PUT keeps the version"
        );
        let moved = scim(
            &app,
            Method::PATCH,
            &uri,
            Some(OKTA),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "Countess"}]),
            )),
            &[("if-match", "W/\"1\"")],
        )
        .await;
        assert_eq!(moved.header("etag"), "W/\"2\"");
        scim(
            &app,
            Method::PATCH,
            &uri,
            Some(OKTA),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            &[("if-match", "W/\"1\"")],
        )
        .await
        .scim_error(StatusCode::PRECONDITION_FAILED, None);
        scim(
            &app,
            Method::DELETE,
            &uri,
            Some(OKTA),
            None,
            &[("if-match", "W/\"7\"")],
        )
        .await
        .scim_error(StatusCode::PRECONDITION_FAILED, None);
        assert_eq!(
            scim(
                &app,
                Method::GET,
                &uri,
                Some(OKTA),
                None,
                &[("if-none-match", "W/\"1\"")]
            )
            .await
            .status,
            StatusCode::OK
        );

        // SCIM error bodies for 400, 401, 403, 404, 409, 413.
        let malformed = call(
            &app,
            Request::post("/scim/v2/Users")
                .header(header::AUTHORIZATION, format!("Bearer {OKTA}"))
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
        malformed.scim_error(StatusCode::BAD_REQUEST, Some("invalidSyntax"));
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "displayName": "no userName"})),
            &[],
        )
        .await
        .scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"));
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "perhaps"})),
            &[],
        )
        .await
        .scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"));
        scim(
            &app,
            Method::PATCH,
            &uri,
            Some(OKTA),
            Some(patch(json!([{"op": "remove"}]))),
            &[],
        )
        .await
        .scim_error(StatusCode::BAD_REQUEST, Some("noTarget"));
        let unauthenticated = scim(&app, Method::GET, "/scim/v2/Users", None, None, &[]).await;
        unauthenticated.scim_error(StatusCode::UNAUTHORIZED, None);
        assert!(
            unauthenticated
                .header("www-authenticate")
                .starts_with("Bearer")
        );
        scim(&app, Method::GET, "/scim/v2/Users", Some(READ), None, &[])
            .await
            .scim_error(StatusCode::FORBIDDEN, None);
        scim(
            &app,
            Method::GET,
            "/scim/v2/Users/nope",
            Some(OKTA),
            None,
            &[],
        )
        .await
        .scim_error(StatusCode::NOT_FOUND, None);
        scim(&app, Method::GET, "/scim/v2/Nothing", Some(OKTA), None, &[])
            .await
            .scim_error(StatusCode::NOT_FOUND, None);
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(user("ADA", "other@example.com")),
            &[],
        )
        .await
        .scim_error(StatusCode::CONFLICT, Some("uniqueness"));
        let mut huge = user("big", "big@example.com");
        huge["title"] = "x".repeat(2 * 1024 * 1024).into();
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(huge),
            &[],
        )
        .await
        .scim_error(StatusCode::PAYLOAD_TOO_LARGE, Some("tooLarge"));
        scim(
            &app,
            Method::POST,
            "/scim/v2/ServiceProviderConfig",
            Some(OKTA),
            Some(json!({})),
            &[],
        )
        .await
        .scim_error(StatusCode::METHOD_NOT_ALLOWED, None);
        // The rest of the API keeps its problem bodies.
        get(&app, "/api/v1/nothing", Some(READ))
            .await
            .problem(StatusCode::NOT_FOUND, "not_found");

        // Another system's token sees nothing of okta's.
        scim(&app, Method::GET, &uri, Some(ENTRA), None, &[])
            .await
            .scim_error(StatusCode::NOT_FOUND, None);
        scim(&app, Method::DELETE, &uri, Some(ENTRA), None, &[])
            .await
            .scim_error(StatusCode::NOT_FOUND, None);
        let theirs = scim(&app, Method::GET, "/scim/v2/Users", Some(ENTRA), None, &[])
            .await
            .ok(StatusCode::OK);
        assert_eq!(theirs["totalResults"], 0);
        // The same userName is free in another system.
        scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(ENTRA),
            Some(user("ada", "ada@example.com")),
            &[],
        )
        .await
        .ok(StatusCode::CREATED);

        // Discovery.
        let config = scim(
            &app,
            Method::GET,
            "/scim/v2/ServiceProviderConfig",
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(
            (
                config["patch"]["supported"].as_bool(),
                config["etag"]["supported"].as_bool(),
                config["bulk"]["supported"].as_bool()
            ),
            (Some(true), Some(true), Some(false))
        );
        let schemas = scim(&app, Method::GET, "/scim/v2/Schemas", Some(OKTA), None, &[])
            .await
            .ok(StatusCode::OK);
        assert_eq!(schemas["totalResults"], 3);
        let types = scim(
            &app,
            Method::GET,
            "/scim/v2/ResourceTypes/User",
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(
            types["schemaExtensions"][0]["schema"],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        );

        assert_verifies(&fx).await;
    })
    .await;
}

#[tokio::test]
async fn erasing_a_person_redacts_their_scim_documents() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let created = scim(
            &app,
            Method::POST,
            "/scim/v2/Users",
            Some(OKTA),
            Some(user("ada", "ada@example.com")),
            &[],
        )
        .await
        .ok(StatusCode::CREATED);
        let uid = created["id"].as_str().unwrap().to_owned();
        let mut tx = fx.store.begin_write().await.unwrap();
        soxctl_store::erasure::erase_person(
            &mut tx,
            &Principal::system("test"),
            &PersonId::parse("p1").unwrap(),
            "ticket 42",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let read = scim(
            &app,
            Method::GET,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await
        .ok(StatusCode::OK);
        assert_eq!(read["userName"], uid.as_str());
        assert!(
            read.get("emails").is_none() && read.get("name").is_none(),
            "{read}"
        );
        // The client can still deprovision the account.
        let deleted = scim(
            &app,
            Method::DELETE,
            &format!("/scim/v2/Users/{uid}"),
            Some(OKTA),
            None,
            &[],
        )
        .await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_verifies(&fx).await;
    })
    .await;
}

/// Garbage a SCIM client sends is refused with `invalidValue` (or
/// `invalidFilter`) and changes nothing: control and direction-changing
/// characters, a 100,000-character userName, 5,000 emails, a date filter
/// compared with text.
#[tokio::test]
async fn garbage_is_refused_and_changes_nothing() {
    on_both_backends(async |fx| {
        seed(&fx.store).await;
        let app = fx.app();
        let before = ledger_size(&fx.store).await;
        let user = |name: Value, emails: Value| {
            json!({"schemas": [USER_SCHEMA], "userName": name, "emails": emails})
        };
        let one = json!([{"value": "x@example.com"}]);
        let many: Vec<Value> = (0..5_000).map(|_| json!({"value": "dup@example.com"})).collect();
        for body in [
            user(json!("nul\u{0}name"), one.clone()),
            user(json!("x".repeat(100_000)), one.clone()),
            user(json!("evil\u{202e}gnp.exe"), one.clone()),
            user(json!("many"), json!(many)),
        ] {
            let reply = scim(&app, Method::POST, "/scim/v2/Users", Some(OKTA), Some(body), &[]).await;
            let error = reply.scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"));
            let detail = error["detail"].as_str().unwrap();
            assert!(!detail.contains('\u{0}') && !detail.contains('\u{202e}'), "{detail}");
            assert!(detail.len() < 2_000, "the error does not echo a huge value");
        }
        let filter = scim(
            &app,
            Method::GET,
            "/scim/v2/Users?filter=meta.lastModified%20gt%20%22not-a-date%22",
            Some(OKTA),
            None,
            &[],
        )
        .await;
        filter.scim_error(StatusCode::BAD_REQUEST, Some("invalidFilter"));
        // Errors that quote a filter or an id show it escaped.
        for (uri, status, scim_type) in [
            (
                "/scim/v2/Users?filter=userName%20eq%20%22a%00b%E2%80%AEc%22",
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
            ),
            (
                "/scim/v2/Users?filter=us%1Bername%20eq%20%22x%22",
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
            ),
            ("/scim/v2/Users/a%00b%E2%80%AE", StatusCode::NOT_FOUND, None),
        ] {
            let reply = scim(&app, Method::GET, uri, Some(OKTA), None, &[]).await;
            let error = reply.scim_error(status, scim_type);
            let detail = error["detail"].as_str().unwrap();
            assert!(
                !detail.chars().any(soxctl_model::identity::is_hidden),
                "{uri}: raw hidden character in {detail:?}"
            );
        }
        assert_eq!(ledger_size(&fx.store).await, before, "nothing recorded");
        // A token issued before system ids had a safe alphabet: its pushes
        // do not create the system '../x'.
        let old = Event::TokenCreated(TokenCreated {
            token_id: TokenId::parse("old-scim").unwrap(),
            secret_sha256: sha256_hex("old-scim-secret"),
            scopes: vec![Scope::Scim],
            system_id: Some(SystemId::parse("../x").unwrap()),
            person_id: None,
            expires_at: None,
            description: None,
            repo: None,
            environments: Vec::new(),
        });
        fx.store.append_one(&Principal::system("test"), &old).await.unwrap();
        let before = ledger_size(&fx.store).await;
        let body = user(json!("fine"), one.clone());
        scim(&app, Method::POST, "/scim/v2/Users", Some("old-scim-secret"), Some(body), &[])
            .await
            .scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert_eq!(ledger_size(&fx.store).await, before, "no system '../x'");
    })
    .await;
}
