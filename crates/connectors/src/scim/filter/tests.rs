//! Tests of `filter`.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
use super::*;
use serde_json::json;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn user() -> Value {
    json!({
        "id": "2819c223",
        "userName": "BJensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": true,
        "title": "Tour Guide",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "meta": {"lastModified": "2011-05-13T04:42:34Z", "resourceType": "User"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
    })
}

fn is(filter: &str) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(&user(), CORE)
}

#[test]
fn every_operator() {
    assert!(is(r#"userName eq "bjensen@example.com""#));
    assert!(is(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#));
    assert!(!is(r#"id eq "2819C223""#), "id is caseExact");
    assert!(is(r#"userName ne "other""#));
    assert!(!is(r#"userName ne "bjensen@example.com""#));
    assert!(is(r#"name.familyName co "ens""#));
    assert!(is(r#"userName sw "bj""#));
    assert!(is(r#"userName ew "example.com""#));
    assert!(is("title pr"));
    assert!(!is("nickName pr"));
    assert!(is(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#));
    assert!(is(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#));
    assert!(is(r#"meta.lastModified lt "2011-05-14""#));
    assert!(is(r#"meta.lastModified le "2011-05-13T04:42:34Z""#));
    assert!(!is(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#));
    for bad in [
        r#"meta.lastModified gt "not-a-date""#,
        r#"meta.lastModified gt 12"#,
        r#"meta.created eq true"#,
        r#"META.LASTMODIFIED lt "yesterday""#,
    ] {
        assert!(Filter::parse(bad).is_err(), "{bad}");
    }
    assert!(is("active eq true"));
    assert!(!is("active eq false"));
    assert!(is("nickName eq null"));
}

#[test]
fn logic_precedence_and_grouping() {
    assert!(is(r#"title pr and userType eq "x" or active eq true"#));
    assert!(!is(r#"title pr and (userType eq "x" or active eq false)"#));
    assert!(is(r#"not (userName eq "x") and active eq true"#));
    assert!(!is(r#"not(active eq true)"#));
}

#[test]
fn multi_valued_and_value_paths() {
    assert!(is(r#"emails eq "babs@jensen.org""#));
    assert!(is(r#"emails.type eq "home""#));
    assert!(is(r#"emails[type eq "work" and value co "@example.com"]"#));
    assert!(!is(r#"emails[type eq "home" and value co "@example.com"]"#));
    assert!(is(r#"emails[not (type eq "work")]"#));
}

#[test]
fn schema_qualified_paths() {
    assert!(is(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(is(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#
    ));
    let path =
        AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
    assert_eq!(path.uri.as_deref(), Some(CORE));
    assert_eq!(
        (path.name.as_str(), path.sub.as_deref()),
        ("name", Some("givenName"))
    );
}

#[test]
fn bad_filters_say_why() {
    for (bad, why) in [
        ("", "empty"),
        ("userName", "no operator"),
        ("userName eq", "no value"),
        (r#"userName xx "a""#, "not an operator"),
        (r#"userName eq "a"#, "not closed"),
        (r#"(userName eq "a""#, "not closed"),
        (r#"emails[type eq "a""#, "not closed"),
        (r#"userName eq "a" userName eq "b""#, "unexpected"),
        ("userName eq bare", "expected a value"),
        ("9x eq 1", "not a number"),
    ] {
        let error = Filter::parse(bad).unwrap_err();
        assert!(error.0.contains(why), "{bad}: {error}");
    }
    let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
    assert!(Filter::parse(&deep).unwrap_err().0.contains("deeper"));
    let wide = vec!["a pr"; MAX_TERMS + 1].join(" and ");
    assert!(Filter::parse(&wide).unwrap_err().0.contains("comparisons"));
}

proptest::proptest! {
    #[test]
    fn random_input_never_panics(input in ".{0,200}") {
        if let Ok(filter) = Filter::parse(&input) {
            let _ = filter.matches(&user(), CORE);
        }
    }

    #[test]
    fn filter_shaped_input_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "userName", "emails", "emails.value", "[", "]", "(", ")", "not", "and", "or",
                "eq", "ne", "co", "sw", "ew", "gt", "lt", "pr", "\"x\"", "1", "-2.5e3", "true",
                "null", "urn:a:b:c", "meta.lastModified", "\"2011-05-13\"", "\"\\u00e9\"", "\"",
            ]),
            0..40,
        )
    ) {
        let input = parts.join(" ");
        if let Ok(filter) = Filter::parse(&input) {
            let _ = filter.matches(&user(), CORE);
        }
    }
}
