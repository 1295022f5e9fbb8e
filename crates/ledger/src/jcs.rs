//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The serialisation itself is delegated to `serde_json_canonicalizer`; this module only
//! adds the guard that makes canonical bytes a faithful image of the value.

use serde_json::{Map, Number, Value};

/// Largest integer that survives the IEEE 754 double round trip JCS mandates (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no faithful canonical form.
#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    /// JCS writes every number as a double, so a larger integer would silently change value.
    #[error("integer at {path} is outside ±(2^53-1) and would change value under RFC 8785")]
    UnsafeInteger {
        /// JSON Pointer (RFC 6901) to the number.
        path: String,
    },
    /// The canonicalizer itself refused the value.
    #[error("cannot canonicalize: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// Returns the RFC 8785 canonical bytes of `value`.
///
/// Integers outside ±(2^53-1) are rejected rather than rounded: a hash over a rounded
/// value would vouch for data nobody wrote.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    if let Some(path) = find_number(value, &|n| !is_safe_integer(n) && !n.is_f64()) {
        return Err(JcsError::UnsafeInteger { path });
    }
    serde_json_canonicalizer::to_vec(value).map_err(JcsError::Serialize)
}

/// Reports whether `bytes` are exactly the canonical form of the JSON they encode.
///
/// Parsing keeps only the last of duplicate keys, so a document with duplicates
/// re-canonicalises to different bytes and is reported as not canonical.
pub fn is_canonical(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| canonicalize(&value).ok())
        .is_some_and(|canonical| canonical == bytes)
}

/// True for integers JCS can represent exactly.
pub(crate) fn is_safe_integer(n: &Number) -> bool {
    n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
        || n.as_i64()
            .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER)
}

/// Depth-first search for the first number matching `pred`, returned as a JSON Pointer.
pub(crate) fn find_number(value: &Value, pred: &impl Fn(&Number) -> bool) -> Option<String> {
    match value {
        Value::Number(n) if pred(n) => Some(String::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_number(item, pred).map(|rest| format!("/{i}{rest}"))),
        Value::Object(map) => find_number_in(map, pred),
        _ => None,
    }
}

/// [`find_number`] over the members of an object.
pub(crate) fn find_number_in(
    map: &Map<String, Value>,
    pred: &impl Fn(&Number) -> bool,
) -> Option<String> {
    map.iter().find_map(|(key, item)| {
        let key = key.replace('~', "~0").replace('/', "~1");
        find_number(item, pred).map(|rest| format!("/{key}{rest}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jcs(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(canonicalize(&value).unwrap()).unwrap()
    }

    /// RFC 8785 §3.2.2, "Sample input" and the canonical output that follows it:
    /// whitespace removal, number serialisation and string escaping.
    #[test]
    fn rfc8785_section_3_2_2_sample() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(jcs(input), expected);
        assert!(is_canonical(expected.as_bytes()));
        assert!(!is_canonical(input.as_bytes()));
    }

    /// RFC 8785 §3.2.3: keys sort by UTF-16 code units, so the emoji (surrogate pair
    /// D83D DE00) sorts before U+FB33 although its code point is larger.
    #[test]
    fn rfc8785_section_3_2_3_sorting() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(jcs(input), expected);
        assert!(is_canonical(expected.as_bytes()));
    }

    #[test]
    fn duplicate_keys_are_not_canonical() {
        assert!(is_canonical(br#"{"a":1}"#));
        assert!(!is_canonical(br#"{"a":1,"a":1}"#));
        assert!(!is_canonical(br#"{"a":{"b":1,"b":2}}"#));
    }

    #[test]
    fn rejects_non_json_and_non_canonical_spellings() {
        for bytes in [
            &b""[..],
            b"{",
            b"\xff",
            b" {}",
            b"{} ",
            b"[1.0]",
            b"[-0]",
            b"\"\\u0041\"",
        ] {
            assert!(!is_canonical(bytes), "{:?}", String::from_utf8_lossy(bytes));
        }
        for bytes in [&b"{}"[..], b"[]", b"0", b"-1", b"\"A\"", b"1e+30"] {
            assert!(is_canonical(bytes), "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn unsafe_integers_are_refused_with_their_path() {
        let value = serde_json::json!({"a": [1, {"b~/c": 9_007_199_254_740_992_u64}]});
        let err = canonicalize(&value).unwrap_err();
        assert!(matches!(err, JcsError::UnsafeInteger { ref path } if path == "/a/1/b~0~1c"));

        let edge = serde_json::json!([9_007_199_254_740_991_u64, -9_007_199_254_740_991_i64]);
        assert_eq!(
            canonicalize(&edge).unwrap(),
            b"[9007199254740991,-9007199254740991]"
        );
        assert!(canonicalize(&serde_json::json!([i64::MIN])).is_err());
    }
}
