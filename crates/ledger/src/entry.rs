//! The ledger entry and its one byte encoding.
//!
//! An entry's bytes are the RFC 8785 canonical form of a JSON object with exactly the keys
//! `v`, `seq`, `time`, `actor`, `type`, `payload` and `prev`. The leaf hash of those bytes
//! goes into the Merkle tree and into the next entry's `prev`, so parsing insists on the
//! canonical form: two encodings of one entry would mean two hashes for one fact.

use serde_json::{Map, Value};

use crate::jcs::{self, JcsError, MAX_SAFE_INTEGER};
use crate::tree::{Hash, leaf_hash};

mod format;

/// The entry format version this crate writes and reads.
pub const ENTRY_VERSION: u32 = 1;

/// The `prev` of entry 0: there is no previous leaf.
pub const ZERO_HASH: Hash = [0; 32];

const FIELDS: [&str; 7] = ["v", "seq", "time", "actor", "type", "payload", "prev"];

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Format version, currently [`ENTRY_VERSION`].
    pub v: u32,
    /// Position in the log; equals the leaf index.
    pub seq: u64,
    /// UTC time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub time: String,
    /// `person:<id>`, `token:<id>` or `system:<component>`.
    pub actor: String,
    /// Dotted lowercase event type such as `grant.added`; serialised as `type`.
    pub kind: String,
    /// Event data. Integers only: no floating-point numbers at any depth.
    pub payload: Map<String, Value>,
    /// Leaf hash of entry `seq - 1`, or [`ZERO_HASH`] for entry 0.
    pub prev: Hash,
}

/// What is wrong with an entry or its bytes.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The bytes are not UTF-8.
    #[error("entry is not UTF-8 (invalid byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The bytes are not JSON.
    #[error("entry is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON is not an object.
    #[error("entry is not a JSON object")]
    NotAnObject,
    /// A required key is absent.
    #[error("entry has no {field:?} key")]
    MissingField {
        /// The key.
        field: &'static str,
    },
    /// A key outside the contract is present.
    #[error("entry has unexpected key {field:?}")]
    UnknownField {
        /// The key.
        field: String,
    },
    /// A key holds the wrong JSON type.
    #[error("{field:?} must be {expected}")]
    WrongType {
        /// The key.
        field: &'static str,
        /// What it must hold.
        expected: &'static str,
    },
    /// `v` is not a version this crate understands.
    #[error("entry version is {found}, expected {ENTRY_VERSION}")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// `time` is not in the one accepted spelling.
    #[error("time {found:?} is not a UTC time of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")]
    BadTime {
        /// The value found.
        found: String,
    },
    /// `actor` is not one of the three actor forms.
    #[error("actor {found:?} is not person:<id>, token:<id> or system:<component>")]
    BadActor {
        /// The value found.
        found: String,
    },
    /// `type` is not dotted lowercase.
    #[error("type {found:?} is not dotted lowercase such as grant.added")]
    BadKind {
        /// The value found.
        found: String,
    },
    /// `prev` is not a hash in lowercase hex.
    #[error("prev {found:?} is not 64 lowercase hex digits")]
    BadPrev {
        /// The value found.
        found: String,
    },
    /// A number with a fraction or exponent: floats do not round-trip across languages.
    #[error("number at {path} is not an integer; entries hold no floating-point numbers")]
    FloatNumber {
        /// JSON Pointer to the number.
        path: String,
    },
    /// An integer that RFC 8785 would round.
    #[error("integer at {path} is outside ±(2^53-1)")]
    UnsafeInteger {
        /// JSON Pointer to the number.
        path: String,
    },
    /// The bytes parse, but differ from the canonical encoding of what they say.
    #[error("entry bytes are not RFC 8785 canonical (first difference at byte {offset})")]
    NotCanonical {
        /// First byte where the input and its canonical form differ.
        offset: usize,
    },
    /// Canonicalisation failed.
    #[error(transparent)]
    Jcs(#[from] JcsError),
}

impl Entry {
    /// Checks every field against the contract.
    pub fn validate(&self) -> Result<(), EntryError> {
        if self.v != ENTRY_VERSION {
            return Err(EntryError::UnsupportedVersion {
                found: self.v.into(),
            });
        }
        if self.seq > MAX_SAFE_INTEGER {
            return Err(EntryError::UnsafeInteger {
                path: "/seq".into(),
            });
        }
        if !format::is_valid_time(&self.time) {
            return Err(EntryError::BadTime {
                found: self.time.clone(),
            });
        }
        if !format::is_valid_actor(&self.actor) {
            return Err(EntryError::BadActor {
                found: self.actor.clone(),
            });
        }
        if !format::is_valid_kind(&self.kind) {
            return Err(EntryError::BadKind {
                found: self.kind.clone(),
            });
        }
        let mut numbers = BadNumbers::default();
        let mut path = Vec::new();
        for (key, value) in &self.payload {
            path.push(Step::Key(key));
            let stop = numbers.scan(value, &mut path);
            path.pop();
            if stop {
                break;
            }
        }
        // A float anywhere is reported before an unsafe integer anywhere.
        if let Some(rest) = numbers.float {
            return Err(EntryError::FloatNumber {
                path: format!("/payload{rest}"),
            });
        }
        if let Some(rest) = numbers.unsafe_integer {
            return Err(EntryError::UnsafeInteger {
                path: format!("/payload{rest}"),
            });
        }
        Ok(())
    }

    /// The canonical bytes of a valid entry: what is hashed and stored.
    ///
    /// They are the RFC 8785 form of the object with the seven keys, written
    /// directly rather than by building that object (with a copy of the
    /// payload) and handing it to the general canonicaliser, which buffers
    /// and re-parses every key: that took most of an append's CPU time. A
    /// test checks the bytes against the general canonicaliser's.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        self.validate()?;
        let mut out = Vec::with_capacity(512);
        write_entry(self, &mut out).map_err(|e| EntryError::Jcs(JcsError::Serialize(e)))?;
        Ok(out)
    }

    /// The RFC 9162 leaf hash of the entry's canonical bytes.
    pub fn leaf_hash(&self) -> Result<Hash, EntryError> {
        Ok(leaf_hash(&self.to_bytes()?))
    }

    /// Parses entry bytes, accepting only the canonical encoding of a valid entry.
    pub fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        let text = std::str::from_utf8(bytes).map_err(|e| EntryError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let Value::Object(mut object) = serde_json::from_str(text).map_err(EntryError::Json)?
        else {
            return Err(EntryError::NotAnObject);
        };
        if let Some(field) = object.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(EntryError::UnknownField {
                field: field.clone(),
            });
        }
        let mut take = |field: &'static str| {
            object
                .remove(field)
                .ok_or(EntryError::MissingField { field })
        };
        let (v, seq, time, actor, kind, payload, prev) = (
            take("v")?,
            take("seq")?,
            take("time")?,
            take("actor")?,
            take("type")?,
            take("payload")?,
            take("prev")?,
        );

        let v = v.as_u64().ok_or(EntryError::WrongType {
            field: "v",
            expected: "an integer",
        })?;
        let entry = Entry {
            v: u32::try_from(v).map_err(|_| EntryError::UnsupportedVersion { found: v })?,
            seq: seq.as_u64().ok_or(EntryError::WrongType {
                field: "seq",
                expected: "a non-negative integer",
            })?,
            time: string(time, "time")?,
            actor: string(actor, "actor")?,
            kind: string(kind, "type")?,
            payload: match payload {
                Value::Object(map) => map,
                _ => {
                    return Err(EntryError::WrongType {
                        field: "payload",
                        expected: "an object",
                    });
                }
            },
            prev: parse_prev(&string(prev, "prev")?)?,
        };

        // Validation runs before the canonical check so that a float or a bad time is
        // reported as such rather than as a byte difference.
        let canonical = entry.to_bytes()?;
        if canonical != bytes {
            let offset = canonical
                .iter()
                .zip(bytes)
                .take_while(|(a, b)| a == b)
                .count();
            return Err(EntryError::NotCanonical { offset });
        }
        Ok(entry)
    }
}

/// Writes the RFC 8785 form of a validated entry. Its keys are fixed and
/// ASCII, so their canonical order is fixed: `actor`, `payload`, `prev`,
/// `seq`, `time`, `type`, `v`.
fn write_entry(entry: &Entry, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"actor":"#);
    serde_json::to_writer(&mut *out, &entry.actor)?;
    out.extend_from_slice(br#","payload":"#);
    write_object(&entry.payload, out)?;
    out.extend_from_slice(br#","prev":""#);
    out.extend_from_slice(hex::encode(entry.prev).as_bytes());
    out.extend_from_slice(br#"","seq":"#);
    serde_json::to_writer(&mut *out, &entry.seq)?;
    out.extend_from_slice(br#","time":"#);
    serde_json::to_writer(&mut *out, &entry.time)?;
    out.extend_from_slice(br#","type":"#);
    serde_json::to_writer(&mut *out, &entry.kind)?;
    out.extend_from_slice(br#","v":"#);
    serde_json::to_writer(&mut *out, &entry.v)?;
    out.push(b'}');
    Ok(())
}

/// Writes the RFC 8785 form of a value whose numbers are all integers within
/// ±(2^53-1), as `validate` ensures for a payload. Such an integer's
/// canonical form (ECMAScript's for the same double) is its plain decimal
/// spelling, which `serde_json` writes; strings are escaped as `serde_json`
/// escapes them, which is RFC 8785's escaping: `\"`, `\\`, the short forms
/// `\b \t \n \f \r`, other control characters as lowercase `\u00xx`, and
/// everything else verbatim.
fn write_value(value: &Value, out: &mut Vec<u8>) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
            Ok(())
        }
        // Unreachable after validation; the general canonicaliser knows
        // ECMAScript's number formatting, should it ever be needed.
        Value::Number(n) if n.is_f64() => serde_json_canonicalizer::to_writer(n, out),
        _ => serde_json::to_writer(&mut *out, value),
    }
}

/// An object's members in RFC 8785 order: by the UTF-16 code units of their
/// keys. (`Map` orders by UTF-8 bytes, that is by code point, which differs
/// between supplementary characters and U+E000..U+FFFF.)
fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// One step of a JSON Pointer.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// JSON Pointer (RFC 6901) of a path.
fn pointer(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        out.push('/');
        match step {
            Step::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Step::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// The first float and the first unsafe integer in document order, found
/// in one walk that builds a pointer only for a number it reports.
#[derive(Default)]
struct BadNumbers {
    float: Option<String>,
    unsafe_integer: Option<String>,
}

impl BadNumbers {
    /// Scans `value` at `path`; true once a float is found (nothing found
    /// later would be reported).
    fn scan<'a>(&mut self, value: &'a Value, path: &mut Vec<Step<'a>>) -> bool {
        match value {
            Value::Number(n) if n.is_f64() => {
                self.float = Some(pointer(path));
                true
            }
            Value::Number(n) => {
                if self.unsafe_integer.is_none() && !jcs::is_safe_integer(n) {
                    self.unsafe_integer = Some(pointer(path));
                }
                false
            }
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                path.push(Step::Index(i));
                let stop = self.scan(item, path);
                path.pop();
                stop
            }),
            Value::Object(map) => map.iter().any(|(key, item)| {
                path.push(Step::Key(key));
                let stop = self.scan(item, path);
                path.pop();
                stop
            }),
            _ => false,
        }
    }
}

fn string(value: Value, field: &'static str) -> Result<String, EntryError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(EntryError::WrongType {
            field,
            expected: "a string",
        }),
    }
}

fn parse_prev(text: &str) -> Result<Hash, EntryError> {
    let bad = || EntryError::BadPrev {
        found: text.to_owned(),
    };
    // hex::decode also accepts uppercase, which would give one hash two spellings.
    if text.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(bad());
    }
    let mut hash = ZERO_HASH;
    hex::decode_to_slice(text, &mut hash).map_err(|_| bad())?;
    Ok(hash)
}

#[cfg(test)]
mod tests;

/// `to_bytes` writes the entry object member by member and validates in one
/// walk: both must agree exactly with canonicalising the whole object and
/// with searching for floats, then unsafe integers, as separate walks.
#[cfg(test)]
mod member_by_member {
    use super::*;
    use proptest::prelude::*;

    fn whole_object(entry: &Entry) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("v".into(), entry.v.into());
        object.insert("seq".into(), entry.seq.into());
        object.insert("time".into(), entry.time.clone().into());
        object.insert("actor".into(), entry.actor.clone().into());
        object.insert("type".into(), entry.kind.clone().into());
        object.insert("payload".into(), Value::Object(entry.payload.clone()));
        object.insert("prev".into(), hex::encode(entry.prev).into());
        jcs::canonicalize(&Value::Object(object)).unwrap()
    }

    fn two_walks(payload: &Map<String, Value>) -> Option<String> {
        if let Some(rest) = jcs::find_number_in(payload, &serde_json::Number::is_f64) {
            return Some(format!(
                "{:?}",
                EntryError::FloatNumber {
                    path: format!("/payload{rest}"),
                }
            ));
        }
        jcs::find_number_in(payload, &|n| !jcs::is_safe_integer(n)).map(|rest| {
            format!(
                "{:?}",
                EntryError::UnsafeInteger {
                    path: format!("/payload{rest}"),
                }
            )
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z~/_]{0,4}",
            // Code point order and UTF-16 order disagree on these.
            "[a\u{e000}\u{ffff}\u{10000}\u{1f600}]{1,3}",
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        let safe = MAX_SAFE_INTEGER as i64;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-safe..=safe).prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[\\x00-\\x7f\u{80}\u{7ff}\u{800}\u{2028}\u{2029}\u{e000}\u{fb33}\u{ffff}\u{10000}\u{1f600}]{0,6}"
                .prop_map(Value::from),
            // Rare in the mix, so that most payloads canonicalise.
            (0..20u8, any::<u64>(), any::<i64>(), -1e20..1e20f64).prop_map(|(pick, u, i, f)| {
                match pick {
                    0 => Value::from(u),
                    1 => Value::from(i),
                    2 => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
                    _ => Value::from(u64::from(pick)),
                }
            }),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn agrees_with_the_whole_object(
            payload in prop::collection::btree_map(key(), json(), 0..8),
            seq in 0..=MAX_SAFE_INTEGER,
            prev in any::<[u8; 32]>(),
            actor in "(person|token|system):[!-~]{1,12}",
            kind in "[a-z][a-z_]{0,6}\\.[a-z][a-z_]{0,6}",
        ) {
            let entry = Entry {
                v: ENTRY_VERSION,
                seq,
                time: "2025-01-02T03:04:05.000006Z".into(),
                actor,
                kind,
                payload: payload.into_iter().collect(),
                prev,
            };
            match entry.to_bytes() {
                Ok(bytes) => {
                    prop_assert_eq!(two_walks(&entry.payload), None);
                    prop_assert_eq!(&bytes, &whole_object(&entry));
                    prop_assert_eq!(Entry::parse(&bytes).unwrap(), entry);
                }
                Err(e) => prop_assert_eq!(Some(format!("{e:?}")), two_walks(&entry.payload)),
            }
        }
    }
}
