use serde_json::json;

use super::*;

fn sample() -> Entry {
    let Value::Object(payload) = json!({"user": "bob", "role": "admin", "n": [1, -2]}) else {
        unreachable!()
    };
    Entry {
        v: 1,
        seq: 0,
        time: "2025-01-02T03:04:05.000006Z".into(),
        actor: "person:alice".into(),
        kind: "grant.added".into(),
        payload,
        prev: ZERO_HASH,
    }
}

const SAMPLE: &str = concat!(
    r#"{"actor":"person:alice","payload":{"n":[1,-2],"role":"admin","user":"bob"},"#,
    r#""prev":"0000000000000000000000000000000000000000000000000000000000000000","#,
    r#""seq":0,"time":"2025-01-02T03:04:05.000006Z","type":"grant.added","v":1}"#
);

/// Parses `SAMPLE` with one substring replaced.
fn parse_edited(from: &str, to: &str) -> Result<Entry, EntryError> {
    assert!(SAMPLE.contains(from), "{from}");
    Entry::parse(SAMPLE.replacen(from, to, 1).as_bytes())
}

#[test]
fn encodes_canonically_and_round_trips() {
    let entry = sample();
    assert_eq!(
        String::from_utf8(entry.to_bytes().unwrap()).unwrap(),
        SAMPLE
    );
    assert_eq!(Entry::parse(SAMPLE.as_bytes()).unwrap(), entry);
    assert_eq!(entry.leaf_hash().unwrap(), leaf_hash(SAMPLE.as_bytes()));

    let next = Entry {
        seq: 1,
        prev: entry.leaf_hash().unwrap(),
        ..sample()
    };
    assert_eq!(Entry::parse(&next.to_bytes().unwrap()).unwrap(), next);
}

#[test]
fn rejects_bytes_that_are_not_a_json_object() {
    assert!(matches!(
        Entry::parse(b"{\"a\":\xff}"),
        Err(EntryError::NotUtf8 { valid_up_to: 5 })
    ));
    assert!(matches!(Entry::parse(b"{"), Err(EntryError::Json(_))));
    assert!(matches!(Entry::parse(b""), Err(EntryError::Json(_))));
    assert!(matches!(Entry::parse(b"[1]"), Err(EntryError::NotAnObject)));
}

#[test]
fn rejects_missing_and_extra_keys() {
    assert!(matches!(
        parse_edited(r#""actor":"person:alice","#, ""),
        Err(EntryError::MissingField { field: "actor" })
    ));
    assert!(matches!(
        parse_edited(r#","v":1}"#, "}"),
        Err(EntryError::MissingField { field: "v" })
    ));
    assert!(matches!(
        parse_edited(r#""v":1}"#, r#""v":1,"w":2}"#),
        Err(EntryError::UnknownField { field }) if field == "w"
    ));
    assert!(matches!(
        parse_edited(r#""type""#, r#""kind""#),
        Err(EntryError::UnknownField { field }) if field == "kind"
    ));
}

fn assert_wrong_type(from: &str, to: &str, expected_field: &str) {
    let err = parse_edited(from, to).unwrap_err();
    assert!(
        matches!(err, EntryError::WrongType { field, .. } if field == expected_field),
        "{from} -> {to}: {err}"
    );
}

#[test]
fn rejects_wrong_types_and_versions() {
    assert_wrong_type(r#""v":1"#, r#""v":"1""#, "v");
    assert_wrong_type(r#""v":1"#, r#""v":-1"#, "v");
    assert_wrong_type(r#""seq":0"#, r#""seq":-1"#, "seq");
    assert_wrong_type(r#""seq":0"#, r#""seq":0.5"#, "seq");
    assert_wrong_type(r#""seq":0"#, r#""seq":"0""#, "seq");
    assert_wrong_type(
        r#""time":"2025-01-02T03:04:05.000006Z""#,
        r#""time":1"#,
        "time",
    );
    assert_wrong_type(r#""actor":"person:alice""#, r#""actor":null"#, "actor");
    assert_wrong_type(
        r#""type":"grant.added""#,
        r#""type":["grant.added"]"#,
        "type",
    );
    assert_wrong_type(
        r#""payload":{"n":[1,-2],"role":"admin","user":"bob"}"#,
        r#""payload":[]"#,
        "payload",
    );
    assert_wrong_type(
        &format!(r#""prev":"{}""#, "0".repeat(64)),
        r#""prev":0"#,
        "prev",
    );

    assert!(matches!(
        parse_edited(r#""v":1"#, r#""v":2"#),
        Err(EntryError::UnsupportedVersion { found: 2 })
    ));
    assert!(matches!(
        parse_edited(r#""v":1"#, r#""v":4294967296"#),
        Err(EntryError::UnsupportedVersion {
            found: 4_294_967_296
        })
    ));
}

#[test]
fn rejects_malformed_strings() {
    assert!(matches!(
        parse_edited("05.000006Z", "05.000006+00:00"),
        Err(EntryError::BadTime { found }) if found == "2025-01-02T03:04:05.000006+00:00"
    ));
    assert!(matches!(
        parse_edited("person:alice", "user:alice"),
        Err(EntryError::BadActor { .. })
    ));
    assert!(matches!(
        parse_edited("grant.added", "GrantAdded"),
        Err(EntryError::BadKind { .. })
    ));
    assert!(matches!(
        parse_edited("00000000000\"", "0000000000A\""),
        Err(EntryError::BadPrev { .. })
    ));
    assert!(matches!(
        parse_edited("00000000000\"", "0000000000\""),
        Err(EntryError::BadPrev { .. })
    ));
    assert!(matches!(
        parse_edited("00000000000\"", "0000000000g\""),
        Err(EntryError::BadPrev { .. })
    ));
}

#[test]
fn rejects_floats_and_unsafe_integers_anywhere_in_the_payload() {
    assert!(matches!(
        parse_edited("[1,-2]", "[1,{\"x\":2.5}]"),
        Err(EntryError::FloatNumber { path }) if path == "/payload/n/1/x"
    ));
    // An integral float is still a float: writers must not produce one.
    assert!(matches!(
        parse_edited("[1,-2]", "[1.0]"),
        Err(EntryError::FloatNumber { path }) if path == "/payload/n/0"
    ));
    assert!(matches!(
        parse_edited("[1,-2]", "[1,9007199254740992]"),
        Err(EntryError::UnsafeInteger { path }) if path == "/payload/n/1"
    ));
    assert!(matches!(
        parse_edited(r#""seq":0"#, r#""seq":9007199254740992"#),
        Err(EntryError::UnsafeInteger { path }) if path == "/seq"
    ));

    let mut entry = sample();
    entry.payload.insert("amount".into(), json!(1.5));
    assert!(
        matches!(entry.to_bytes(), Err(EntryError::FloatNumber { path }) if path == "/payload/amount")
    );
}

#[test]
fn rejects_non_canonical_spellings() {
    let not_canonical = |bytes: &str, at: usize| {
        let err = Entry::parse(bytes.as_bytes()).unwrap_err();
        assert!(
            matches!(err, EntryError::NotCanonical { offset } if offset == at),
            "{bytes}: {err}"
        );
    };
    not_canonical(&format!("{SAMPLE}\n"), SAMPLE.len());
    not_canonical(&format!(" {SAMPLE}"), 0);
    not_canonical(
        &SAMPLE.replace(
            r#""role":"admin","user":"bob""#,
            r#""user":"bob","role":"admin""#,
        ),
        47,
    );
    not_canonical(
        &SAMPLE.replace(r#""user":"bob""#, r#""user":"\u0062ob""#),
        69,
    );
    not_canonical(
        &SAMPLE.replace(r#""user":"bob""#, r#""user":"x","user":"bob""#),
        69,
    );
    not_canonical(&SAMPLE.replace(r#""seq":0"#, r#""seq":0,"seq":0"#), 158);
}
