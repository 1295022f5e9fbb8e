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

/// A string → `u32` map for lookups on hot paths: the table holds only
/// hashes, the strings live in one arena, so a lookup touches two compact
/// arrays instead of chasing a pointer per probe. Strings whose 64-bit hash
/// collides with another's go to a (normally empty) overflow map.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrTable {
    slots: FastMap<u64, u32>,
    arena: String,
    /// Per slot: end of its string in `arena`, and its value.
    entries: Vec<(usize, u32)>,
    overflow: FastMap<Box<str>, u32>,
}

impl StrTable {
    fn hash(key: &str) -> u64 {
        use std::hash::BuildHasher;
        BuildHasherDefault::<WordHasher>::default().hash_one(key)
    }

    fn key(&self, slot: u32) -> &str {
        let slot = slot as usize;
        let start = match slot.checked_sub(1) {
            Some(prev) => self.entries.get(prev).map_or(0, |e| e.0),
            None => 0,
        };
        let end = self.entries.get(slot).map_or(0, |e| e.0);
        self.arena.get(start..end).unwrap_or("")
    }

    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        if let Some(&slot) = self.slots.get(&Self::hash(key))
            && self.key(slot) == key
        {
            return self.entries.get(slot as usize).map(|e| e.1);
        }
        if self.overflow.is_empty() {
            None
        } else {
            self.overflow.get(key).copied()
        }
    }

    /// Maps `key` to `value` unless it is already present; whether it was new.
    pub(crate) fn insert(&mut self, key: &str, value: u32) -> bool {
        if self.get(key).is_some() {
            return false;
        }
        let hash = Self::hash(key);
        if self.slots.contains_key(&hash) {
            self.overflow.insert(Box::from(key), value);
            return true;
        }
        self.arena.push_str(key);
        self.slots.insert(hash, dense_id(self.entries.len()));
        self.entries.push((self.arena.len(), value));
        true
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
    }
}
