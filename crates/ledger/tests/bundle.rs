//! Bundle verification end to end: build a chain, sign its head, then break it.

#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap in a test helper is a test failure"
)]

use serde_json::{Map, json};
use soxctl_ledger::bundle::{ChainVerifier, VerifyError, verify_bundle};
use soxctl_ledger::entry::{Entry, EntryError, ZERO_HASH};
use soxctl_ledger::note::{Checkpoint, NoteError, SigningKey};
use soxctl_ledger::proof::MemoryTree;
use soxctl_ledger::tree::leaf_hash;

const ORIGIN: &str = "soxctl.test/ledger";

fn key() -> SigningKey {
    SigningKey::generate(ORIGIN, [42; 32]).unwrap()
}

fn entry(seq: u64, prev: [u8; 32]) -> Entry {
    let mut payload = Map::new();
    payload.insert(
        "grant".into(),
        json!({"user": format!("u{seq}"), "role": "reader"}),
    );
    Entry {
        v: 1,
        seq,
        time: format!("2025-03-01T12:00:00.{seq:06}Z"),
        actor: "system:test".into(),
        kind: "grant.added".into(),
        payload,
        prev,
    }
}

/// The canonical bytes of a well-chained log of `n` entries.
fn chain(n: u64) -> Vec<Vec<u8>> {
    let mut prev = ZERO_HASH;
    (0..n)
        .map(|seq| {
            let bytes = entry(seq, prev).to_bytes().unwrap();
            prev = leaf_hash(&bytes);
            bytes
        })
        .collect()
}

fn jsonl(lines: &[Vec<u8>]) -> Vec<u8> {
    lines
        .iter()
        .flat_map(|line| line.iter().copied().chain([b'\n']))
        .collect()
}

fn signed_head(lines: &[Vec<u8>]) -> String {
    let tree: MemoryTree = lines.iter().map(|line| leaf_hash(line)).collect();
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: tree.size(),
        root: tree.root(),
    };
    key().sign_checkpoint(&checkpoint).unwrap()
}

fn verify(lines: &[Vec<u8>], note: &str) -> Result<u64, VerifyError> {
    verify_bundle(&jsonl(lines), note, &key().verifier()).map(|report| report.entries)
}

#[test]
fn a_well_formed_bundle_verifies() {
    let lines = chain(20);
    let note = signed_head(&lines);
    let report = verify_bundle(&jsonl(&lines), &note, &key().verifier()).unwrap();
    let tree: MemoryTree = lines.iter().map(|line| leaf_hash(line)).collect();
    assert_eq!(report.entries, 20);
    assert_eq!(report.root, tree.root());
    assert_eq!(
        report.checkpoint,
        Checkpoint {
            origin: ORIGIN.into(),
            size: 20,
            root: tree.root()
        }
    );

    assert_eq!(verify(&[], &signed_head(&[])).unwrap(), 0);
}

#[test]
fn an_edited_entry_breaks_the_next_prev() {
    let mut lines = chain(20);
    let note = signed_head(&lines);
    let mut edited = entry(16, Entry::parse(&lines[16]).unwrap().prev);
    edited.actor = "person:mallory".into();
    lines[16] = edited.to_bytes().unwrap();

    let err = verify(&lines, &note).unwrap_err();
    let (found, expected) = (
        hex::encode(leaf_hash(&chain(20)[16])),
        hex::encode(leaf_hash(&lines[16])),
    );
    assert_eq!(
        err.to_string(),
        format!("entry 17: prev is {found}, expected {expected} (leaf hash of entry 16)")
    );
}

#[test]
fn an_edited_last_entry_changes_the_root() {
    let mut lines = chain(5);
    let note = signed_head(&lines);
    let mut edited = Entry::parse(&lines[4]).unwrap();
    edited.kind = "grant.removed".into();
    lines[4] = edited.to_bytes().unwrap();
    let err = verify(&lines, &note).unwrap_err();
    assert!(
        matches!(err, VerifyError::RootMismatch { size: 5, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("checkpoint root for 5 entries is "),
        "{err}"
    );
}

#[test]
fn entry_counts_must_match_the_checkpoint() {
    let lines = chain(12);
    let err = verify(&lines, &signed_head(&lines[..10])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint covers 10 entries but the bundle holds 12"
    );
    let err = verify(&lines[..11], &signed_head(&lines)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint covers 12 entries but the bundle holds 11"
    );
}

#[test]
fn a_dropped_entry_is_a_seq_gap() {
    let mut lines = chain(8);
    let note = signed_head(&lines);
    lines.remove(3);
    let err = verify(&lines, &note).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::SeqMismatch {
                position: 3,
                found: 4
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "entry 3: seq is 4, expected 3");
}

#[test]
fn the_first_entry_must_chain_to_zero() {
    let lines = vec![entry(0, [1; 32]).to_bytes().unwrap()];
    let err = verify(&lines, &signed_head(&lines)).unwrap_err();
    assert!(
        err.to_string().ends_with("(all zeros for the first entry)"),
        "{err}"
    );
}

#[test]
fn lines_must_be_canonical_and_terminated() {
    let lines = chain(3);
    let note = signed_head(&lines);
    let mut bytes = jsonl(&lines);
    bytes.pop();
    let err = verify_bundle(&bytes, &note, &key().verifier()).unwrap_err();
    assert!(
        matches!(err, VerifyError::MissingNewline { seq: 2 }),
        "{err}"
    );

    let mut crlf = lines.clone();
    crlf[1].push(b'\r');
    let err = verify(&crlf, &note).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Entry {
                seq: 1,
                source: EntryError::NotCanonical { .. }
            }
        ),
        "{err}"
    );

    let mut blank = jsonl(&lines);
    blank.push(b'\n');
    let err = verify_bundle(&blank, &note, &key().verifier()).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Entry {
                seq: 3,
                source: EntryError::Json(_)
            }
        ),
        "{err}"
    );
}

#[test]
fn the_checkpoint_must_be_signed_by_the_key() {
    let lines = chain(3);
    let note = signed_head(&lines);
    let stranger = SigningKey::generate(ORIGIN, [43; 32]).unwrap().verifier();
    let err = verify_bundle(&jsonl(&lines), &note, &stranger).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Checkpoint(NoteError::NoSignatureByKey { .. })
        ),
        "{err}"
    );

    let forged = note.replacen("\n3\n", "\n2\n", 1);
    let err = verify(&lines[..2], &forged).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Checkpoint(NoteError::InvalidSignature { .. })
        ),
        "{err}"
    );
}

#[test]
fn chain_verifier_streams_and_reports_roots() {
    let lines = chain(40);
    let mut chain = ChainVerifier::new();
    let mut tree = MemoryTree::new();
    for line in &lines {
        let entry = chain.push(line).unwrap();
        assert_eq!(entry.seq, tree.size());
        tree.push(leaf_hash(line));
        assert_eq!(chain.root(), tree.root());
        assert_eq!(chain.last_leaf_hash(), leaf_hash(line));
    }
    let head = Checkpoint {
        origin: ORIGIN.into(),
        size: 40,
        root: tree.root(),
    };
    assert!(chain.check(&head).is_ok());
    // A rejected entry leaves the verifier where it was.
    assert!(chain.push(&lines[0]).is_err());
    assert_eq!(chain.size(), 40);
}
