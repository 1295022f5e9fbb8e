//! A fast, non-cryptographic hash for the interning maps, and the interner.
//!
//! Loading a full-scale snapshot hashes tens of millions of short ids; std's
//! SipHash costs several times more there. The inputs are the organisation's
//! own exports, so flooding resistance is not a concern.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Multiply-rotate hashing of 8-byte words.
#[derive(Default, Clone, Copy)]
pub(crate) struct WordHasher {
    state: u64,
}

impl WordHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Multiplication only carries upwards; fold the well-mixed high bits
        // into the low ones, which pick hashbrown's bucket.
        let x = (self.state ^ (self.state >> 32)).wrapping_mul(SEED);
        x ^ (x >> 29)
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<WordHasher>>;

/// Strings to dense `u32` ids and back; each string is stored once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: FastMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = dense_id(self.names.len());
        let name: Arc<str> = Arc::from(name);
        self.ids.insert(Arc::clone(&name), id);
        self.names.push(name);
        id
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
        self.names.reserve(additional);
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// A collection index as a dense `u32` id. Beyond 4 billion items the data
/// would not fit in memory long before, so saturating is only a formality.
pub(crate) fn dense_id(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Hash of a string, as a `FastMap<&str, _>` would compute it.
#[inline]
pub(crate) fn hash_str(key: &str) -> u64 {
    let mut h = WordHasher::default();
    h.write(key.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

/// Equality of two short byte strings without a call to `memcmp`: ids are
/// mostly 3 to 16 bytes, where the call costs more than the comparison.
#[inline]
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    match n {
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// A string → `u32` map for lookups on hot paths: open addressing with
/// linear probing over a table of entry numbers; the entries keep each
/// string's full hash (compared first) and its end in one arena holding the
/// strings, so a lookup touches two compact arrays and compares bytes
/// inline, with no allocation per key.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrTable {
    /// Power-of-two sized; 0 is empty, else entry index + 1.
    slots: Vec<u32>,
    entries: Vec<StrEntry>,
    arena: String,
}

#[derive(Debug, Clone, Copy)]
struct StrEntry {
    hash: u64,
    /// End of the string in the arena; it starts where the previous ends.
    end: usize,
    value: u32,
}

impl StrTable {
    fn key(&self, entry: usize) -> &str {
        let start = match entry.checked_sub(1) {
            Some(prev) => self.entries.get(prev).map_or(0, |e| e.end),
            None => 0,
        };
        let end = self.entries.get(entry).map_or(0, |e| e.end);
        self.arena.get(start..end).unwrap_or("")
    }

    /// The slot holding `key`, or the empty slot where it would go.
    #[inline]
    fn find(&self, key: &str, hash: u64) -> (usize, Option<u32>) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (hash as usize) & mask;
        while let Some(&slot) = self.slots.get(i) {
            if slot == 0 {
                return (i, None);
            }
            let entry = slot as usize - 1;
            if let Some(e) = self.entries.get(entry)
                && e.hash == hash
                && eq_bytes(self.key(entry).as_bytes(), key.as_bytes())
            {
                return (i, Some(e.value));
            }
            i = (i + 1) & mask;
        }
        (0, None)
    }

    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        if self.entries.is_empty() {
            return None;
        }
        self.find(key, hash_str(key)).1
    }

    /// Maps `key` to `value` unless it is already present; whether it was new.
    pub(crate) fn insert(&mut self, key: &str, value: u32) -> bool {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let hash = hash_str(key);
        let (at, found) = self.find(key, hash);
        if found.is_some() {
            return false;
        }
        self.arena.push_str(key);
        self.entries.push(StrEntry {
            hash,
            end: self.arena.len(),
            value,
        });
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = dense_id(self.entries.len());
        }
        true
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let mask = size - 1;
        let mut slots = vec![0u32; size];
        for (n, e) in self.entries.iter().enumerate() {
            let mut i = (e.hash as usize) & mask;
            while slots.get(i).is_some_and(|&s| s != 0) {
                i = (i + 1) & mask;
            }
            if let Some(slot) = slots.get_mut(i) {
                *slot = dense_id(n + 1);
            }
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_str_table_maps_strings_to_values() {
        let mut t = StrTable::default();
        assert!(t.insert("VENDOR_1", 7));
        assert!(t.insert("VENDOR_10", 8));
        assert!(!t.insert("VENDOR_1", 9));
        assert_eq!(
            (t.get("VENDOR_1"), t.get("VENDOR_10"), t.get("VENDOR")),
            (Some(7), Some(8), None)
        );
        let mut big = StrTable::default();
        for i in 0..10_000u32 {
            assert!(big.insert(&format!("ENT_{i}"), i));
        }
        for i in 0..10_000u32 {
            assert_eq!(big.get(&format!("ENT_{i}")), Some(i));
        }
        assert_eq!((big.get(""), big.get("ENT_10000")), (None, None));
        assert!(big.insert("", 1) && big.get("") == Some(1));
    }

    #[test]
    fn short_comparisons_agree_with_slices() {
        let words = [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnoq",
            "bbcdefgh",
        ];
        for a in words {
            for b in words {
                assert_eq!(eq_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
            }
        }
    }
}
