//! `soxctl verify` on a store: every leaf, the chain, every persisted
//! subtree hash, every checkpoint (signature, root, consistency with the
//! previous one), the head, the signer's witness and a trusted checkpoint
//! held elsewhere, and that the state tables equal a replay of the ledger.

use crate::Store;
use crate::backend::sqlite::sql::write::NODE_STRIDE;
use crate::checkpoint::{WitnessError, read_witness};
use crate::error::StoreError;
use soxctl_ledger::bundle::ChainVerifier;
use soxctl_ledger::entry::ZERO_HASH;
use soxctl_ledger::note::{self, Checkpoint, VerifierKey};
use soxctl_ledger::proof;
use soxctl_ledger::tree::{Frontier, Hash};
use soxctl_model::event::Event;
use soxctl_model::principal::Principal;
use soxctl_model::projection::{self, EntryContext, State};
use soxctl_model::time::Timestamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const PAGE: u64 = 10_000;

/// The first inconsistency found, precise enough to locate it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("entry {seq}: {reason}")]
    Entry { seq: u64, reason: String },
    #[error(
        "entry {seq}: stored leaf hash is {found}, expected {expected} (hash of the stored bytes)"
    )]
    LeafHash {
        seq: u64,
        expected: String,
        found: String,
    },
    #[error("the ledger head says {head} entries but {found} are stored")]
    EntryCount { head: u64, found: u64 },
    #[error(
        "the ledger head's compact range does not match the entries: root {found}, expected {expected}"
    )]
    HeadRoot { expected: String, found: String },
    #[error(
        "the ledger head's last leaf hash is {found}, expected {expected} (the next entry would chain to the wrong one)"
    )]
    HeadLastLeaf { expected: String, found: String },
    #[error("stored subtree hash level {level} index {index} is {found}, expected {expected}")]
    Node {
        level: u32,
        index: u64,
        expected: String,
        found: String,
    },
    #[error("checkpoint at size {size}: {reason}")]
    Checkpoint { size: u64, reason: String },
    #[error(
        "the ledger holds {entries} entries but no signed checkpoint: nothing proves they were not rewritten (checkpoints deleted?)"
    )]
    Unsigned { entries: u64 },
    #[error("damaged data: {0}")]
    Malformed(String),
    #[error("trusted checkpoint: {0}")]
    Trusted(String),
    /// The signer's witness file (outside the database) is not extended by
    /// the store, or is not a checkpoint signed by the key.
    #[error("checkpoint witness {}: {reason}", path.display())]
    Witness { path: PathBuf, reason: String },
    #[error(
        "state table {table}, row {key}: expected {expected}, found {found} (the row was changed without a ledger entry)"
    )]
    State {
        table: &'static str,
        key: String,
        expected: String,
        found: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("verification failed: {0}")]
    Failed(#[from] Failure),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub entries: u64,
    pub root: Hash,
    pub checkpoints: u64,
    pub state_rows: u64,
    pub trusted_size: Option<u64>,
    /// The size the signer's witness covers, when a witness file was read
    /// (the store extends it).
    pub witness_size: Option<u64>,
    /// Entries after the newest signed checkpoint checked, stored or the
    /// witness: not yet covered by a signature (normal for a few seconds on
    /// a busy server).
    pub unsigned_entries: u64,
    /// The witness covers more than the newest stored checkpoint: the
    /// signer stores each checkpoint before it writes the witness, so the
    /// newest checkpoint rows were deleted. The entries still extend the
    /// witness, so this is a note, not a failure.
    pub witness_checkpoint_missing: bool,
}

pub struct Options<'a> {
    pub key: &'a VerifierKey,
    /// A signed checkpoint note held outside the store.
    pub trusted_checkpoint: Option<&'a str>,
}

fn hex(h: &Hash) -> String {
    ::hex::encode(h)
}

/// Verifies a store against its own checkpoints (and
/// [`Options::trusted_checkpoint`]); see [`verify_against_witness`].
pub async fn verify(
    store: &Store,
    options: Options<'_>,
    progress: impl FnMut(u64, u64),
) -> Result<Report, VerifyError> {
    verify_witnessed(store, options, None, progress).await
}

/// [`verify`], and also that the store extends the signer's witness `file`
/// (`signing.key.checkpoint` beside the signing key, outside the database;
/// see [`crate::checkpoint`]): an attacker who deletes the newest stored
/// checkpoints and rewrites the entries after the rest consistently is
/// caught. A missing file is no failure: [`Report::witness_size`] is `None`.
pub async fn verify_against_witness(
    store: &Store,
    options: Options<'_>,
    file: &Path,
    progress: impl FnMut(u64, u64),
) -> Result<Report, VerifyError> {
    verify_witnessed(store, options, Some(file), progress).await
}

async fn verify_witnessed(
    store: &Store,
    options: Options<'_>,
    witness: Option<&Path>,
    progress: impl FnMut(u64, u64),
) -> Result<Report, VerifyError> {
    verify_store(store, options, witness, progress)
        .await
        .map_err(|e| match e {
            VerifyError::Store(e) => classify(e),
            failed => failed,
        })
}

/// Damaged data met while reading is a verification failure (exit 1), not an
/// operational error: an attacker who writes a malformed row or head must
/// not turn "tampered" into "could not check".
fn classify(e: StoreError) -> VerifyError {
    match e {
        StoreError::Row { .. }
        | StoreError::Head(_)
        | StoreError::Proof(_)
        | StoreError::Entry(_)
        | StoreError::Projection(_)
        | StoreError::Invalid(_)
        | StoreError::Tampered(_)
        | StoreError::Database(sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => {
            VerifyError::Failed(Failure::Malformed(e.to_string()))
        }
        other => VerifyError::Store(other),
    }
}

async fn verify_store(
    store: &Store,
    options: Options<'_>,
    witness_file: Option<&Path>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, VerifyError> {
    // The witness is read before the head, as the signer does: it is written
    // only after its checkpoint's entries commit, so a signer working
    // meanwhile cannot make an honest head look older than the witness.
    // A witness this key did not sign is reported after the stored
    // checkpoints, whose failures (a wrong key) say more.
    let witness = match witness_file {
        Some(file) => match read_witness(file, options.key) {
            Ok(found) => found.map(|checkpoint| (file, Ok(checkpoint))),
            Err(WitnessError::NotSigned { path, source }) => Some((
                file,
                Err(Failure::Witness {
                    path,
                    reason: format!("not a checkpoint signed by the verifier key: {source}"),
                }),
            )),
            Err(WitnessError::Io { path, source }) => {
                return Err(StoreError::Io { path, source }.into());
            }
        },
        None => None,
    };
    let head = store.head().await?;
    let checkpoints = store.checkpoints().await?;
    let wanted_roots: BTreeMap<u64, ()> = checkpoints.iter().map(|c| (c.size, ())).collect();
    let trusted =
        match options.trusted_checkpoint {
            Some(text) => Some(note::open_checkpoint(text, options.key).map_err(|e| {
                Failure::Trusted(format!("does not verify with the given key: {e}"))
            })?),
            None => None,
        };

    let mut stored_nodes: BTreeMap<(u32, u64), Hash> = BTreeMap::new();
    for level in store.node_levels().await? {
        for (index, hash) in store.nodes_of_level(level).await? {
            stored_nodes.insert((level, index), hash);
        }
    }

    let keys = store.person_keys().await?;
    let mut chain = ChainVerifier::new();
    let mut frontier = Frontier::new();
    let mut state = State::default();
    let mut shredded = Shredded::default();
    let mut roots_at: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut next = 0u64;
    loop {
        let page = store.entries(next, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for (seq, stored_leaf, bytes) in page {
            if seq != next {
                return Err(Failure::Entry {
                    seq: next,
                    reason: format!("missing (next stored entry is {seq})"),
                }
                .into());
            }
            let entry = chain.push(&bytes).map_err(|e| Failure::Entry {
                seq,
                reason: e.to_string(),
            })?;
            let leaf = chain.last_leaf_hash();
            if leaf != stored_leaf {
                return Err(Failure::LeafHash {
                    seq,
                    expected: hex(&leaf),
                    found: hex(&stored_leaf),
                }
                .into());
            }
            for (node, hash) in frontier.push(leaf) {
                let found = match stored_nodes.remove(&(node.level, node.index)) {
                    Some(stored) if stored != hash => hex(&stored),
                    // Persisted levels must be complete: proofs are served from them.
                    None if node.level % NODE_STRIDE == 0 => "missing".into(),
                    _ => continue,
                };
                return Err(Failure::Node {
                    level: node.level,
                    index: node.index,
                    expected: hex(&hash),
                    found,
                }
                .into());
            }
            let event = replay(&mut state, seq, &entry, &keys)?;
            shredded.observe(seq, &event, &keys);
            next += 1;
            if wanted_roots.contains_key(&next) {
                roots_at.insert(next, frontier.root());
            }
        }
        progress(next, head.size);
    }
    if let Some(((level, index), found)) = stored_nodes.into_iter().next() {
        return Err(Failure::Node {
            level,
            index,
            expected: "no such subtree".into(),
            found: hex(&found),
        }
        .into());
    }
    shredded.check()?;
    if next != head.size {
        return Err(Failure::EntryCount {
            head: head.size,
            found: next,
        }
        .into());
    }
    let root = frontier.root();
    if head.frontier.root() != root {
        return Err(Failure::HeadRoot {
            expected: hex(&root),
            found: hex(&head.frontier.root()),
        }
        .into());
    }
    let last_leaf = if head.size == 0 {
        ZERO_HASH
    } else {
        chain.last_leaf_hash()
    };
    if head.last_leaf != last_leaf {
        return Err(Failure::HeadLastLeaf {
            expected: hex(&last_leaf),
            found: hex(&head.last_leaf),
        }
        .into());
    }

    if head.size > 0 && checkpoints.is_empty() {
        return Err(Failure::Unsigned { entries: head.size }.into());
    }
    let mut previous: Option<(u64, Hash)> = None;
    for stored in &checkpoints {
        let fail = |reason: String| Failure::Checkpoint {
            size: stored.size,
            reason,
        };
        let opened = note::open_checkpoint(&stored.note, options.key)
            .map_err(|e| fail(format!("signature: {e}")))?;
        if opened.size != stored.size || opened.root != stored.root {
            return Err(fail("the signed note does not match the checkpoint row".into()).into());
        }
        let Some(expected) = roots_at.get(&stored.size) else {
            return Err(fail(format!(
                "covers more entries than the ledger holds ({})",
                head.size
            ))
            .into());
        };
        if *expected != opened.root {
            return Err(fail(format!(
                "signed root {} but the entries give {}",
                hex(&opened.root),
                hex(expected)
            ))
            .into());
        }
        if let Some((size1, root1)) = previous {
            let proof = store.consistency_proof(size1, stored.size).await?;
            proof::verify_consistency(size1, stored.size, &proof, &root1, &opened.root).map_err(
                |e| {
                    fail(format!(
                        "not consistent with the checkpoint at size {size1}: {e}"
                    ))
                },
            )?;
        }
        previous = Some((stored.size, opened.root));
    }

    let mut witness_size = None;
    if let Some((file, w)) = witness {
        let w = w?;
        if let Some(reason) = not_extended(store, head.size, &root, &w).await? {
            return Err(Failure::Witness {
                path: file.to_owned(),
                reason,
            }
            .into());
        }
        witness_size = Some(w.size);
    }
    let mut trusted_size = None;
    if let Some(t) = trusted {
        if let Some(reason) = not_extended(store, head.size, &root, &t).await? {
            return Err(Failure::Trusted(reason).into());
        }
        trusted_size = Some(t.size);
    }

    let rows = store.all_rows().await?;
    compare_state(&state, &rows)?;
    let newest_stored = checkpoints.last().map_or(0, |c| c.size);
    Ok(Report {
        witness_checkpoint_missing: witness_size.is_some_and(|w| w > newest_stored),
        entries: head.size,
        root,
        checkpoints: checkpoints.len() as u64,
        state_rows: rows.len() as u64,
        trusted_size,
        witness_size,
        unsigned_entries: head.size - newest_stored.max(witness_size.unwrap_or(0)),
    })
}

/// Why the store of `size` entries and root `root` does not extend the
/// signed checkpoint `t`, if it does not.
async fn not_extended(
    store: &Store,
    size: u64,
    root: &Hash,
    t: &Checkpoint,
) -> Result<Option<String>, VerifyError> {
    if t.size > size {
        return Ok(Some(format!(
            "it covers {} entries but the store holds only {size}: the ledger was truncated or rolled back",
            t.size
        )));
    }
    let ours = if t.size == size {
        *root
    } else {
        store.root_at(t.size).await?
    };
    if ours != t.root {
        return Ok(Some(format!(
            "at size {} it has root {} but the store gives {}: the ledger was rewritten",
            t.size,
            hex(&t.root),
            hex(&ours)
        )));
    }
    if t.size > 0 && t.size < size {
        let proof = store.consistency_proof(t.size, size).await?;
        if let Err(e) = proof::verify_consistency(t.size, size, &proof, &t.root, root) {
            return Ok(Some(format!("the store does not extend it: {e}")));
        }
    }
    Ok(None)
}

/// Keys missing from the store must have been shredded by a `person.erased`
/// entry recorded after them; otherwise someone deleted keys and blanked rows
/// behind the ledger's back, and the replay alone would agree with them.
#[derive(Default)]
struct Shredded {
    unexplained: BTreeMap<soxctl_model::ids::PersonId, (u64, soxctl_model::sealed::KeyId)>,
}

impl Shredded {
    fn observe(&mut self, seq: u64, event: &Event, keys: &soxctl_model::projection::PersonKeys) {
        use soxctl_model::projection::KeyRing;
        match event {
            Event::PersonAdded(f) | Event::PersonChanged(f) => {
                let p = &f.person;
                for sealed in [&p.name, &p.email].into_iter().flatten() {
                    if keys.person_key(&p.person_id, sealed.kid).is_none() {
                        self.unexplained
                            .entry(p.person_id.clone())
                            .or_insert((seq, sealed.kid));
                    }
                }
            }
            Event::PersonErased(e)
                if self
                    .unexplained
                    .get(&e.person_id)
                    .is_some_and(|(_, kid)| *kid <= seq) =>
            {
                self.unexplained.remove(&e.person_id);
            }
            _ => {}
        }
    }

    fn check(&self) -> Result<(), Failure> {
        match self.unexplained.iter().next() {
            Some((person, (seq, kid))) => Err(Failure::Entry {
                seq: *seq,
                reason: format!(
                    "person {person}: key {kid} that seals this entry is missing, and no person.erased entry shredded it (keys deleted outside the ledger)"
                ),
            }),
            None => Ok(()),
        }
    }
}

fn replay(
    state: &mut State,
    seq: u64,
    entry: &soxctl_ledger::entry::Entry,
    keys: &soxctl_model::projection::PersonKeys,
) -> Result<Event, Failure> {
    let fail = |reason: String| Failure::Entry { seq, reason };
    let event = Event::from_parts(&entry.kind, &entry.payload).map_err(|e| fail(e.to_string()))?;
    let actor: Principal = entry
        .actor
        .parse()
        .map_err(|e: soxctl_model::principal::PrincipalError| fail(e.to_string()))?;
    let time = Timestamp::parse(&entry.time).map_err(|e| fail(e.to_string()))?;
    let changes = projection::project(
        &EntryContext {
            seq,
            time,
            actor: &actor,
        },
        &event,
        keys,
    )
    .map_err(|e| fail(e.to_string()))?;
    state.apply(changes).map_err(|e| fail(e.to_string()))?;
    Ok(event)
}

fn compare_state(
    replayed: &State,
    stored: &BTreeMap<soxctl_model::projection::RowKey, soxctl_model::projection::Row>,
) -> Result<(), Failure> {
    let mut a = replayed.rows.iter().peekable();
    let mut b = stored.iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => return Ok(()),
            (Some((ka, ra)), Some((kb, rb))) if ka == kb => {
                if ra != rb {
                    return Err(Failure::State {
                        table: ka.table(),
                        key: format!("{ka:?}"),
                        expected: format!("{ra:?}"),
                        found: format!("{rb:?}"),
                    });
                }
                a.next();
                b.next();
            }
            (Some((ka, ra)), Some((kb, _))) if ka < kb => {
                return Err(Failure::State {
                    table: ka.table(),
                    key: format!("{ka:?}"),
                    expected: format!("{ra:?}"),
                    found: "no row".into(),
                });
            }
            (Some((ka, ra)), None) => {
                return Err(Failure::State {
                    table: ka.table(),
                    key: format!("{ka:?}"),
                    expected: format!("{ra:?}"),
                    found: "no row".into(),
                });
            }
            (_, Some((kb, rb))) => {
                return Err(Failure::State {
                    table: kb.table(),
                    key: format!("{kb:?}"),
                    expected: "no row".into(),
                    found: format!("{rb:?}"),
                });
            }
        }
    }
}
