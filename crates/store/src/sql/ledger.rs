//! Reading the ledger: entries, the head, checkpoints, and proofs served from
//! the persisted subtree hashes.

use super::Conn;
use super::write::NODE_STRIDE;
use crate::error::{Result, StoreError};
use crate::{Head, StoredCheckpoint};
use soxctl_ledger::proof::{self, ProofError};
use soxctl_ledger::tree::{Frontier, Hash, NodeId, root};
use std::collections::BTreeMap;
use std::ops::Range;

fn i64_of(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is out of range")))
}

fn hash_of(v: Vec<u8>, what: &str) -> Result<Hash> {
    v.try_into()
        .map_err(|_| StoreError::Invalid(format!("{what} is not a 32-byte hash")))
}

/// The number of entries: what changes with every committed write.
pub async fn size(conn: &mut Conn) -> Result<u64> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head WHERE id = 1")
        .fetch_one(conn)
        .await?;
    u64::try_from(size).map_err(|_| StoreError::Head(format!("negative size {size}")))
}

pub async fn head(conn: &mut Conn) -> Result<Head> {
    let (size, frontier, last_leaf): (i64, Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT size, frontier, last_leaf FROM ledger_head WHERE id = 1")
            .fetch_one(conn)
            .await?;
    let frontier = Frontier::from_bytes(&frontier).map_err(|e| StoreError::Head(e.to_string()))?;
    let size =
        u64::try_from(size).map_err(|_| StoreError::Head(format!("negative size {size}")))?;
    if frontier.size() != size {
        return Err(StoreError::Head(format!(
            "size {size} but compact range covers {}",
            frontier.size()
        )));
    }
    let last_leaf = hash_of(last_leaf, "the head's last leaf hash")?;
    Ok(Head {
        size,
        frontier,
        last_leaf,
    })
}

/// Entries `[from, from+count)` with their stored leaf hashes, in order.
pub async fn entries(conn: &mut Conn, from: u64, count: u64) -> Result<Vec<(u64, Hash, Vec<u8>)>> {
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, leaf_hash, bytes FROM ledger_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq",
    )
    .bind(i64_of(from)?)
    .bind(i64_of(from.saturating_add(count))?)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(seq, leaf, bytes)| {
            let seq = u64::try_from(seq)
                .map_err(|_| StoreError::Invalid(format!("negative seq {seq}")))?;
            Ok((seq, hash_of(leaf, "stored leaf hash")?, bytes))
        })
        .collect()
}

/// Stored hashes of several (level, range) pieces in ONE round trip: a
/// proof is a handful of small range reads, and each round trip to the
/// database costs more than the rows it returns.
async fn level_hashes(conn: &mut Conn, pieces: &[(u32, Range<u64>)]) -> Result<Vec<Vec<Hash>>> {
    if pieces.is_empty() {
        return Ok(Vec::new());
    }
    let mut selects = Vec::with_capacity(pieces.len());
    let mut binds: Vec<i64> = Vec::with_capacity(pieces.len() * 3);
    for (i, (level, range)) in pieces.iter().enumerate() {
        let n = binds.len();
        if *level == 0 {
            selects.push(format!(
                "SELECT CAST({i} AS BIGINT) AS piece, seq AS idx, leaf_hash AS hash FROM ledger_entries WHERE seq >= ${} AND seq < ${}",
                n + 1,
                n + 2
            ));
        } else {
            selects.push(format!(
                "SELECT CAST({i} AS BIGINT) AS piece, idx, hash FROM ledger_nodes WHERE level = ${} AND idx >= ${} AND idx < ${}",
                n + 1,
                n + 2,
                n + 3
            ));
            binds.push(i64::from(*level));
        }
        binds.push(i64_of(range.start)?);
        binds.push(i64_of(range.end)?);
    }
    let sql = format!("{} ORDER BY piece, idx", selects.join(" UNION ALL "));
    let mut query = sqlx::query_as::<_, (i64, i64, Vec<u8>)>(&sql);
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(conn).await?;
    let mut out: Vec<Vec<Hash>> = pieces.iter().map(|_| Vec::new()).collect();
    for (piece, _, hash) in rows {
        let slot = usize::try_from(piece).ok().and_then(|p| out.get_mut(p));
        if let Some(slot) = slot {
            slot.push(hash_of(hash, "stored node hash")?);
        }
    }
    for ((level, range), got) in pieces.iter().zip(&out) {
        let expected = range.end - range.start;
        if got.len() as u64 != expected {
            return Err(StoreError::Proof(format!(
                "level {level} holds {} hashes in {range:?}, expected {expected}; run `soxctl verify`",
                got.len()
            )));
        }
    }
    Ok(out)
}

/// The persisted level a node is folded from, and the range of that level it covers.
fn footprint(node: &NodeId) -> (u32, Range<u64>) {
    let base = node.level / NODE_STRIDE * NODE_STRIDE;
    let shift = node.level - base;
    (base, (node.index << shift)..((node.index + 1) << shift))
}

/// Hashes skipped between two footprints before they are read separately:
/// reading a few extra hashes is cheaper than another range.
const MERGE_GAP: u64 = 32;

/// Fetches what the given perfect subtrees need and answers their hashes.
/// Footprints on one level are merged only when close: a proof's nodes near
/// its leaf and near the tree's right edge are far apart, and one hull over
/// both would read the whole level.
async fn node_source(conn: &mut Conn, nodes: &[NodeId]) -> Result<BTreeMap<NodeId, Hash>> {
    let mut wanted: Vec<(u32, Range<u64>)> = nodes.iter().map(footprint).collect();
    wanted.sort_by_key(|(base, range)| (*base, range.start));
    let mut merged: Vec<(u32, Range<u64>)> = Vec::new();
    for (base, range) in wanted {
        match merged.last_mut() {
            Some((b, r)) if *b == base && range.start <= r.end.saturating_add(MERGE_GAP) => {
                r.end = r.end.max(range.end)
            }
            _ => merged.push((base, range)),
        }
    }
    let fetched = level_hashes(conn, &merged).await?;
    let mut out = BTreeMap::new();
    for node in nodes {
        let (base, range) = footprint(node);
        let slice = merged
            .iter()
            .zip(&fetched)
            .find(|((b, r), _)| *b == base && r.start <= range.start && range.end <= r.end)
            .and_then(|((_, r), hashes)| {
                let lo = usize::try_from(range.start - r.start).ok()?;
                let hi = usize::try_from(range.end - r.start).ok()?;
                hashes.get(lo..hi)
            })
            .ok_or_else(|| StoreError::Proof(format!("node {node:?} out of fetched range")))?;
        out.insert(*node, root(slice));
    }
    Ok(out)
}

fn proof_error(e: ProofError) -> StoreError {
    StoreError::Proof(e.to_string())
}

async fn hashes_for(conn: &mut Conn, ranges: Vec<Range<u64>>) -> Result<Vec<Hash>> {
    let mut nodes = Vec::new();
    for range in &ranges {
        nodes.extend(proof::decompose(range.clone()).map_err(proof_error)?);
    }
    let source = node_source(conn, &nodes).await?;
    let mut get = |node: NodeId| -> std::result::Result<Hash, ProofError> {
        source
            .get(&node)
            .copied()
            .ok_or(ProofError::UnalignedRange { start: 0, end: 0 })
    };
    ranges
        .into_iter()
        .map(|r| proof::hash_range(r, &mut get).map_err(proof_error))
        .collect()
}

pub async fn inclusion_proof(conn: &mut Conn, index: u64, size: u64) -> Result<Vec<Hash>> {
    let ranges = proof::inclusion_ranges(index, size).map_err(proof_error)?;
    hashes_for(conn, ranges).await
}

pub async fn consistency_proof(conn: &mut Conn, size1: u64, size2: u64) -> Result<Vec<Hash>> {
    let ranges = proof::consistency_ranges(size1, size2).map_err(proof_error)?;
    hashes_for(conn, ranges).await
}

pub async fn root_at(conn: &mut Conn, size: u64) -> Result<Hash> {
    let whole_tree = 0..size;
    let mut roots = hashes_for(conn, vec![whole_tree]).await?;
    roots
        .pop()
        .ok_or_else(|| StoreError::Proof("no root".into()))
}

pub async fn leaf_hash_at(conn: &mut Conn, seq: u64) -> Result<Option<Hash>> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT leaf_hash FROM ledger_entries WHERE seq = $1")
            .bind(i64_of(seq)?)
            .fetch_optional(conn)
            .await?;
    row.map(|(h,)| hash_of(h, "stored leaf hash")).transpose()
}

/// Persisted subtree hashes of one level, for `verify` to recompute.
pub async fn nodes_of_level(conn: &mut Conn, level: u32) -> Result<Vec<(u64, Hash)>> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT idx, hash FROM ledger_nodes WHERE level = $1 ORDER BY idx")
            .bind(i64::from(level))
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(i, h)| {
            Ok((
                u64::try_from(i).unwrap_or(u64::MAX),
                hash_of(h, "stored node hash")?,
            ))
        })
        .collect()
}

pub async fn node_levels(conn: &mut Conn) -> Result<Vec<u32>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT DISTINCT level FROM ledger_nodes ORDER BY level")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(l,)| u32::try_from(l).unwrap_or(u32::MAX))
        .collect())
}

pub async fn checkpoints(conn: &mut Conn) -> Result<Vec<StoredCheckpoint>> {
    let rows: Vec<(i64, Vec<u8>, String, String)> =
        sqlx::query_as("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(size, root, note, signed_at)| {
            Ok(StoredCheckpoint {
                size: u64::try_from(size).unwrap_or(u64::MAX),
                root: hash_of(root, "checkpoint root")?,
                note,
                signed_at,
            })
        })
        .collect()
}

pub async fn latest_checkpoint(conn: &mut Conn) -> Result<Option<StoredCheckpoint>> {
    let row: Option<(i64, Vec<u8>, String, String)> = sqlx::query_as(
        "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(size, root, note, signed_at)| {
        Ok(StoredCheckpoint {
            size: u64::try_from(size).unwrap_or(u64::MAX),
            root: hash_of(root, "checkpoint root")?,
            note,
            signed_at,
        })
    })
    .transpose()
}

pub async fn insert_checkpoint(
    conn: &mut Conn,
    size: u64,
    root: &Hash,
    note: &str,
    signed_at: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO checkpoints (size, root, note, signed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING")
        .bind(i64_of(size)?)
        .bind(&root[..])
        .bind(note)
        .bind(signed_at)
        .execute(conn)
        .await?;
    Ok(())
}
