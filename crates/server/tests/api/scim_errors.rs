//! What SCIM clients get wrong or must not see: stale ETags, bad or garbage
//! requests (SCIM errors, nothing changed), other systems' users, erased data.

use super::*;
use crate::scim::{ENTRA, OKTA, USER_SCHEMA, patch, scim, seed, user};
use serde_json::json;
use soxctl_model::ids::SystemId;

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
