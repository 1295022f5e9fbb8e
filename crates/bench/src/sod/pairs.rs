//! How engines are compared: one hash over the sorted (risk, identity) lines,
//! so any engine's answer can be checked against any other's without the pairs.

use sha2::{Digest, Sha256};

/// Count and SHA-256 (hex) of the sorted lines `risk_id,identity\n`.
pub fn pair_hash<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (usize, String) {
    let mut lines: Vec<String> = pairs
        .into_iter()
        .map(|(risk, identity)| format!("{risk},{identity}\n"))
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    (lines.len(), hex::encode(hasher.finalize()))
}

/// Whether every run found the same pairs: the line saying so, or (as the
/// error) the line naming every run that differs from the first.
pub(super) fn agreement(hashes: &[(&str, usize, String)]) -> Result<String, String> {
    let Some((first, pairs, sha)) = hashes.first() else {
        return Err("DISAGREEMENT: no engine ran".into());
    };
    let differ: Vec<String> = hashes
        .iter()
        .filter(|h| (h.1, &h.2) != (*pairs, sha))
        .map(|h| format!("{}: {} pairs, sha256 {}", h.0, h.1, h.2))
        .collect();
    if differ.is_empty() {
        let mut engines: Vec<&str> = hashes.iter().map(|h| h.0).collect();
        engines.dedup();
        Ok(format!(
            "agreement: {} all find the same {pairs} pairs (sha256 {sha})",
            engines.join(", ")
        ))
    } else {
        Err(format!(
            "DISAGREEMENT: {first}: {pairs} pairs, sha256 {sha}; {}",
            differ.join("; ")
        ))
    }
}
