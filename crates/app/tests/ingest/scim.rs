//! The SCIM write use cases without HTTP: a create, a create whose
//! `userName` is taken, a Group with a member, a delete refused by a stale
//! `If-Match`, then deletes, and the ledger events each left.

use crate::helpers::*;
use serde_json::json;
use soxctl_app::ingest::scim::{self, IfMatch, Kind, ScimError};
use soxctl_connectors::correlate::Rules;
use soxctl_model::access::{Caller, ScimAccess};
use soxctl_model::ids::SystemId;
use soxctl_model::principal::{Principal, Scope};

on_both_backends!(scim_create_then_taken_then_delete);

fn access() -> ScimAccess {
    Caller::authenticated(
        Principal::system("okta"),
        [Scope::Scim].into_iter().collect(),
        Some(SystemId::parse("okta_push").unwrap()),
    )
    .require()
    .unwrap()
}

fn user(name: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "emails": [{"value": format!("{}@example.com", name.trim()), "primary": true}]
    })
}

async fn scim_create_then_taken_then_delete(env: Env) {
    let (scim, rules) = (access(), Rules::default());
    let start = env.size().await;

    let mut tx = env.store.begin_write().await.unwrap();
    let created = scim::create(&mut tx, &scim, &rules, Kind::User, user("bjensen"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let id = created.document.scim_id.clone();
    assert_eq!(created.document.version, 1);
    assert_eq!(created.document.unique_name, "bjensen");
    assert!(created.links.is_empty());
    assert_eq!(
        kinds(&env.events_since(start).await),
        counts(&[
            ("system.added", 1),
            ("system.baselined", 1),
            ("account.added", 1)
        ])
    );

    // The same userName in another case and with spaces is taken; nothing is written.
    let size = env.size().await;
    let mut tx = env.store.begin_write().await.unwrap();
    match scim::create(&mut tx, &scim, &rules, Kind::User, user(" BJensen ")).await {
        Err(ScimError::Taken { kind, value }) => {
            assert_eq!(kind, Kind::User);
            assert_eq!(value, " BJensen ");
        }
        other => panic!("expected Taken, got {other:?}"),
    }
    drop(tx);
    assert_eq!(env.size().await, size);

    // A Group with the User as member: the User's document gets a version.
    let mut tx = env.store.begin_write().await.unwrap();
    let group = scim::create(
        &mut tx,
        &scim,
        &rules,
        Kind::Group,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Finance",
            "members": [{"value": id}]
        }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(group.links.len(), 1);
    assert_eq!(group.links[0].id, id);
    let user_now = env
        .store
        .scim_document(scim.system(), Kind::User.name(), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user_now.version, 2);

    // A stale If-Match refuses the delete.
    let stale = IfMatch {
        header: "W/\"1\"".into(),
        tags: vec!["1".into()],
    };
    let mut tx = env.store.begin_write().await.unwrap();
    match scim::delete(&mut tx, &scim, Kind::User, &id, Some(&stale)).await {
        Err(ScimError::Changed { version, .. }) => assert_eq!(version, 2),
        other => panic!("expected Changed, got {other:?}"),
    }
    drop(tx);

    // Deleting the User removes its grant, then the account.
    let size = env.size().await;
    let mut tx = env.store.begin_write().await.unwrap();
    scim::delete(&mut tx, &scim, Kind::User, &id, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let events = env.events_since(size).await;
    let order: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(order, ["grant.removed", "account.removed"]);

    // Gone: a second delete finds nothing, and the name is free again.
    let mut tx = env.store.begin_write().await.unwrap();
    assert!(matches!(
        scim::delete(&mut tx, &scim, Kind::User, &id, None).await,
        Err(ScimError::NotFound { .. })
    ));
    let again = scim::create(&mut tx, &scim, &rules, Kind::User, user("bjensen"))
        .await
        .unwrap();
    assert_ne!(again.document.scim_id, id);
    tx.commit().await.unwrap();
}
