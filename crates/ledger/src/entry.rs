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
        if let Some(rest) = jcs::find_number_in(&self.payload, &serde_json::Number::is_f64) {
            return Err(EntryError::FloatNumber {
                path: format!("/payload{rest}"),
            });
        }
        if let Some(rest) = jcs::find_number_in(&self.payload, &|n| !jcs::is_safe_integer(n)) {
            return Err(EntryError::UnsafeInteger {
                path: format!("/payload{rest}"),
            });
        }
        Ok(())
    }

    /// The canonical bytes of a valid entry: what is hashed and stored.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        self.validate()?;
        let mut object = Map::new();
        object.insert("v".into(), self.v.into());
        object.insert("seq".into(), self.seq.into());
        object.insert("time".into(), self.time.clone().into());
        object.insert("actor".into(), self.actor.clone().into());
        object.insert("type".into(), self.kind.clone().into());
        object.insert("payload".into(), Value::Object(self.payload.clone()));
        object.insert("prev".into(), hex::encode(self.prev).into());
        Ok(jcs::canonicalize(&Value::Object(object))?)
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
