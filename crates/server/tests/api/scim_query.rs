//! SCIM filters and pagination: clients page through what a system sees,
//! and a filter the service cannot answer is refused, never guessed at.

use super::*;
use crate::scim::{OKTA, USER_SCHEMA, scim, seed, user};
use serde_json::json;

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
