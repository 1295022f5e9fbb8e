//! Tests of `patch`.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
use super::*;
use serde_json::json;

struct UserSchema;
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

impl PatchSchema for UserSchema {
    fn core(&self) -> &str {
        "urn:ietf:params:scim:schemas:core:2.0:User"
    }
    fn extension(&self, uri: &str) -> Option<String> {
        uri.eq_ignore_ascii_case(ENTERPRISE)
            .then(|| ENTERPRISE.to_owned())
    }
    fn multi_valued(&self, extension: Option<&str>, name: &str) -> bool {
        extension.is_none()
            && ["emails", "phonenumbers", "members", "addresses"]
                .contains(&name.to_ascii_lowercase().as_str())
    }
}

fn patch(doc: Value, body: Value) -> Result<Value, PatchError> {
    let mut doc = doc;
    let ops = parse_request(&body)?;
    apply(&mut doc, &ops, &UserSchema)?;
    Ok(doc)
}

fn ops(list: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list})
}

#[test]
fn add_replace_remove_with_and_without_paths() {
    let doc = json!({"userName": "a", "name": {"givenName": "A", "familyName": "B"}});
    let out = patch(
        doc,
        ops(json!([
            {"op": "Replace", "value": {"active": false, "name": {"givenName": "C"}}},
            {"op": "add", "path": "emails", "value": [{"value": "a@x", "type": "work", "primary": true}]},
            {"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "home", "primary": true}]},
            {"op": "remove", "path": "name.familyName"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "7"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x"},
        ])),
    )
    .unwrap();
    assert_eq!(out["active"], false);
    assert_eq!(out["name"], json!({"givenName": "C"}));
    assert_eq!(
        out["emails"][0],
        json!({"value": "w@x", "type": "work", "primary": false})
    );
    assert_eq!(out["emails"][1]["primary"], true);
    assert_eq!(out[ENTERPRISE]["employeeNumber"], "7");

    let out = patch(
        out,
        ops(json!([
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "remove", "path": ENTERPRISE},
            {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "123"},
        ])),
    )
    .unwrap();
    assert_eq!(out["emails"].as_array().unwrap().len(), 1);
    assert!(out.get(ENTERPRISE).is_none());
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type": "mobile", "value": "123"}])
    );
}

#[test]
fn members_add_and_remove_as_okta_and_entra_send_them() {
    let doc = json!({"displayName": "g"});
    let out = patch(
        doc,
        ops(json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "add", "path": "members", "value": [{"value": "u2", "display": "Two"}]},
            {"op": "remove", "path": "members[value eq \"u1\"]"},
        ])),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "u2", "display": "Two"}]));
    let out = patch(
        out,
        ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}])),
    )
    .unwrap();
    assert!(out.get("members").is_none());
}

#[test]
fn errors_carry_scim_types() {
    let doc = json!({"userName": "a"});
    for (body, scim_type) in [
        (json!({"Operations": "x"}), "invalidSyntax"),
        (
            ops(json!([{"op": "move", "path": "a", "value": 1}])),
            "invalidSyntax",
        ),
        (ops(json!([{"op": "add", "path": "a"}])), "invalidSyntax"),
        (ops(json!([{"op": "remove"}])), "noTarget"),
        (ops(json!([{"op": "add", "value": 3}])), "invalidValue"),
        (
            ops(json!([{"op": "remove", "path": "emails[type eq]"}])),
            "invalidFilter",
        ),
        (
            ops(json!([{"op": "remove", "path": "9bad"}])),
            "invalidPath",
        ),
        (
            ops(json!([{"op": "replace", "path": "emails[type pr].value", "value": "x"}])),
            "noTarget",
        ),
        (
            ops(json!([{"op": "replace", "path": "userName[type eq \"x\"]", "value": {}}])),
            "invalidPath",
        ),
    ] {
        let error = patch(doc.clone(), body.clone()).unwrap_err();
        assert_eq!(error.scim_type, scim_type, "{body}: {error}");
    }
}
