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

/// The accounts of one system by id, in two halves by the hash's top bit,
/// so that two threads can fill one each.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountIndex {
    halves: [StrTable; 2],
}

impl AccountIndex {
    #[inline]
    pub(crate) fn half(hash: u64) -> usize {
        (hash >> 63) as usize
    }

    #[inline]
    pub(crate) fn get(&self, account: &str) -> Option<u32> {
        let hash = hash_str(account);
        self.halves.get(Self::half(hash))?.get_hashed(account, hash)
    }

    /// Adds `account` unless present; whether it was new.
    pub(crate) fn insert(&mut self, account: &str, index: u32) -> bool {
        let hash = hash_str(account);
        self.halves
            .get_mut(Self::half(hash))
            .is_some_and(|t| t.insert_hashed(account, hash, index))
    }

    pub(crate) fn halves_mut(&mut self) -> &mut [StrTable; 2] {
        &mut self.halves
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
/// linear probing over the entries themselves. Each keeps the string's full
/// hash (compared first) and the string itself when it is 16 bytes or
/// shorter (longer ones live in an arena), so a lookup of a short id costs
/// one cache line, compares bytes inline, and no key is allocated.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrTable {
    /// Power-of-two sized; an entry with hash 0 is empty (stored hashes
    /// have their lowest bit set).
    table: Vec<StrEntry>,
    len: usize,
    /// Strings longer than [`INLINE`] bytes.
    arena: String,
}

const INLINE: usize = 16;

#[derive(Debug, Clone, Copy, Default)]
struct StrEntry {
    hash: u64,
    value: u32,
    len: u32,
    /// The string if it fits; else its start in the arena (8 bytes, LE).
    data: [u8; INLINE],
}

impl StrEntry {
    #[inline]
    fn key<'t>(&'t self, arena: &'t str) -> &'t [u8] {
        let len = self.len as usize;
        if len <= INLINE {
            self.data.get(..len).unwrap_or(&[])
        } else {
            let mut start = [0u8; 8];
            start.copy_from_slice(self.data.get(..8).unwrap_or(&[0; 8]));
            let start = usize::try_from(u64::from_le_bytes(start)).unwrap_or(usize::MAX);
            arena
                .as_bytes()
                .get(start..start.saturating_add(len))
                .unwrap_or(&[])
        }
    }
}

impl StrTable {
    /// Where `key` is, or the empty entry where it would go.
    #[inline]
    fn find(&self, key: &str, hash: u64) -> (usize, Option<u32>) {
        let mask = self.table.len().wrapping_sub(1);
        let mut i = (hash as usize) & mask;
        while let Some(e) = self.table.get(i) {
            if e.hash == 0 {
                return (i, None);
            }
            if e.hash == hash && eq_bytes(e.key(&self.arena), key.as_bytes()) {
                return (i, Some(e.value));
            }
            i = (i + 1) & mask;
        }
        (0, None)
    }

    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        self.get_hashed(key, hash_str(key))
    }

    /// [`StrTable::get`] with `hash_str(key)` computed by the caller.
    #[inline]
    pub(crate) fn get_hashed(&self, key: &str, hash: u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        self.find(key, hash | 1).1
    }

    /// Maps `key` to `value` unless it is already present; whether it was new.
    pub(crate) fn insert(&mut self, key: &str, value: u32) -> bool {
        self.insert_hashed(key, hash_str(key), value)
    }

    /// Room for `additional` more strings without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let want = self.len + additional;
        let mut size = self.table.len().max(16);
        while want * 10 > size * 7 {
            size *= 2;
        }
        if size > self.table.len() {
            self.rehash(size);
        }
    }

    /// [`StrTable::insert`] with `hash_str(key)` computed by the caller.
    pub(crate) fn insert_hashed(&mut self, key: &str, hash: u64, value: u32) -> bool {
        // At most 70 % full.
        if (self.len + 1) * 10 > self.table.len() * 7 {
            self.rehash((self.table.len() * 2).max(16));
        }
        let hash = hash | 1;
        let (at, found) = self.find(key, hash);
        if found.is_some() {
            return false;
        }
        let mut data = [0u8; INLINE];
        if key.len() <= INLINE {
            if let Some(d) = data.get_mut(..key.len()) {
                d.copy_from_slice(key.as_bytes());
            }
        } else {
            let start = (self.arena.len() as u64).to_le_bytes();
            if let Some(d) = data.get_mut(..8) {
                d.copy_from_slice(&start);
            }
            self.arena.push_str(key);
        }
        if let Some(slot) = self.table.get_mut(at) {
            *slot = StrEntry {
                hash,
                value,
                len: u32::try_from(key.len()).unwrap_or(u32::MAX),
                data,
            };
            self.len += 1;
        }
        true
    }

    fn rehash(&mut self, size: usize) {
        let mask = size - 1;
        let old = std::mem::replace(&mut self.table, vec![StrEntry::default(); size]);
        for e in old.into_iter().filter(|e| e.hash != 0) {
            let mut i = (e.hash as usize) & mask;
            while self.table.get(i).is_some_and(|s| s.hash != 0) {
                i = (i + 1) & mask;
            }
            if let Some(slot) = self.table.get_mut(i) {
                *slot = e;
            }
        }
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
        let long = "A_VERY_LONG_ENTITLEMENT_ID_OF_MORE_THAN_SIXTEEN_BYTES";
        assert!(big.insert(long, 5) && big.insert(&long[1..], 6) && !big.insert(long, 7));
        assert_eq!(
            (big.get(long), big.get(&long[1..]), big.get(&long[2..])),
            (Some(5), Some(6), None)
        );
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
