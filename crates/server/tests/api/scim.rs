//! The SCIM 2.0 service provider at `/scim/v2`: joiners, movers and leavers
//! as ledger events, on SQLite and PostgreSQL. The fixtures here serve the
//! `scim_*` siblings too (queries; errors, isolation and erasure).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use super::*;
use serde_json::json;
use soxctl_model::ids::{EntitlementRef, SystemId};

pub(crate) const OKTA: &str = "okta-scim-secret";
pub(crate) const ENTRA: &str = "entra-scim-secret";
pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// SCIM tokens for two systems, and a person to correlate with.
pub(crate) async fn seed(store: &Store) {
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

pub(crate) async fn scim(
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
    pub(crate) fn scim_error(&self, status: StatusCode, scim_type: Option<&str>) -> Value {
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

    pub(crate) fn ok(&self, status: StatusCode) -> Value {
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

pub(crate) fn user(name: &str, email: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    })
}

pub(crate) fn patch(operations: Value) -> Value {
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
