//! `soxctl-bench ledger`: append, hashing, verify and proof figures on both
//! backends, next to this machine's own limits measured in the same run
//! (fdatasync rate from `pg_test_fsync`, SHA-256 rate from `openssl speed`).

use crate::args::{BenchScale, BenchStoreArgs};
use crate::support::{open, tempdir_path};
use anyhow::Context;
use soxctl::exit::{CmdResult, Exit};
use soxctl::output::{Format, print_records};
use soxctl_ledger::tree::{Frontier, leaf_hash};
use soxctl_model::event::{Event, GrantFact, Origin};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{Grant, GrantSource};
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;
use soxctl_store::verify::{Options, verify};
use soxctl_store::{Location, Store};
use std::process::Command;
use std::time::Instant;

struct Sizes {
    single: u64,
    batched: u64,
    proof_store: u64,
}

fn sizes(scale: BenchScale) -> Sizes {
    match scale {
        BenchScale::Small => Sizes {
            single: 500,
            batched: 20_000,
            proof_store: 100_000,
        },
        BenchScale::Full => Sizes {
            single: 5_000,
            batched: 200_000,
            proof_store: 10_000_000,
        },
    }
}

fn event(i: u64) -> anyhow::Result<Event> {
    Ok(Event::GrantAdded(GrantFact {
        origin: Origin {
            import_id: Some("imp_bench0000000000000000000000000".into()),
            as_of: Some(Timestamp::parse("2026-03-31T00:00:00Z")?),
        },
        changed: None,
        grant: Grant {
            system_id: SystemId::parse("erp")?,
            account_id: AccountId::parse(format!("user{:07}", i / 20))?,
            entitlement_id: EntitlementId::parse(format!("ENT_{:05}", i % 20_011))?,
            granted_at: Some(Timestamp::parse("2025-11-02T09:30:00Z")?),
            source: GrantSource::Direct,
        },
    }))
}

struct Row {
    backend: String,
    metric: &'static str,
    value: f64,
    unit: &'static str,
    reference: Option<(f64, String)>,
}

async fn append_batches(
    store: &Store,
    start: u64,
    count: u64,
    batch: u64,
    mut tick: impl FnMut(u64),
) -> anyhow::Result<f64> {
    let actor = Principal::system("bench");
    let t = Instant::now();
    let mut i = start;
    while i < start + count {
        let mut tx = store.begin_write().await?;
        let end = (i + batch).min(start + count);
        while i < end {
            tx.append(&actor, &event(i)?).await?;
            i += 1;
        }
        tx.commit().await?;
        tick(i - start);
    }
    Ok(count as f64 / t.elapsed().as_secs_f64())
}

fn fdatasync_rate(dir: &std::path::Path) -> Option<f64> {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin/pg_test_fsync"))
        .find(|p| p.exists())?;
    let out = Command::new(bin)
        .args(["-s", "2", "-f"])
        .arg(dir.join("fsync.test"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("fdatasync"))
            .then(|| words.next()?.parse::<f64>().ok())
            .flatten()
    })
}

/// Bytes/s of one SHA-256 over `bytes`-sized messages, as `openssl speed` measures it.
fn openssl_sha256(bytes: usize) -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "2", "-bytes"])
        .arg(bytes.to_string())
        .arg("sha256")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with("sha256"))?;
    let kilo = line
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse::<f64>()
        .ok()?;
    Some(kilo * 1000.0)
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(0.0)
}

async fn run_backend(
    name: &str,
    location: Location,
    s: &Sizes,
    rows: &mut Vec<Row>,
    fsync: Option<f64>,
    sha: &mut Option<(usize, Option<f64>)>,
) -> anyhow::Result<()> {
    let backend = name.to_owned();
    eprintln!("[{name}] single-event commits ×{}", s.single);
    let (store, key) = open(location.clone()).await?;
    let single = append_batches(&store, 0, s.single, 1, |_| {}).await?;
    rows.push(Row {
        backend: backend.clone(),
        metric: "commit, 1 event per transaction",
        value: single,
        unit: "commits/s",
        reference: fsync.map(|f| (f, "fdatasync/s (pg_test_fsync)".into())),
    });

    eprintln!(
        "[{name}] batched appends ×{} (100 per transaction)",
        s.batched
    );
    let batched = append_batches(&store, s.single, s.batched, 100, |_| {}).await?;
    rows.push(Row {
        backend: backend.clone(),
        metric: "append, 100 events per transaction",
        value: batched,
        unit: "events/s",
        reference: None,
    });
    store.sign_checkpoint(&key).await?;

    // Entry size and the machine's SHA-256 limit for it (measured once).
    let sample = store.entries(0, 2_000).await?;
    let mut sizes: Vec<usize> = sample.iter().map(|(_, _, b)| b.len()).collect();
    sizes.sort_unstable();
    let median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
    if sha.is_none() {
        *sha = Some((median, openssl_sha256(median + 1)));
    }
    let sha_limit = sha.as_ref().and_then(|(_, r)| *r);
    let bytes: Vec<Vec<u8>> = sample.into_iter().map(|(_, _, b)| b).collect();
    let t = Instant::now();
    let mut frontier = Frontier::new();
    let mut total = 0usize;
    while t.elapsed().as_secs_f64() < 1.0 {
        for b in &bytes {
            frontier.push(leaf_hash(b));
            total += b.len() + 1;
        }
    }
    let hashing = total as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        backend: backend.clone(),
        metric: "leaf + tree hashing",
        value: hashing / 1e6,
        unit: "MB/s",
        reference: sha_limit.map(|l| (l / 1e6, format!("MB/s openssl sha256 at {} B", median + 1))),
    });

    eprintln!("[{name}] verify");
    let head = store.head().await?.size;
    let t = Instant::now();
    verify(
        &store,
        Options {
            key: &key.verifier(),
            trusted_checkpoint: None,
        },
        |_, _| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let secs = t.elapsed().as_secs_f64();
    rows.push(Row {
        backend: backend.clone(),
        metric: "verify (entries, chain, replay, state)",
        value: head as f64 / secs,
        unit: "entries/s",
        reference: None,
    });
    rows.push(Row {
        backend: backend.clone(),
        metric: "verify throughput",
        value: (head as f64 * (median + 1) as f64) / secs / 1e6,
        unit: "MB/s",
        reference: sha_limit.map(|l| (l / 1e6, format!("MB/s openssl sha256 at {} B", median + 1))),
    });
    store.close().await;

    eprintln!("[{name}] proof store of {} entries", s.proof_store);
    let (store, _) = open(match &location {
        Location::Sqlite(dir) => Location::Sqlite(dir.join("proofs")),
        Location::Postgres(url) => Location::Postgres(url.clone()),
    })
    .await?;
    let have = store.head().await?.size;
    let started = Instant::now();
    let target = s.proof_store;
    append_batches(&store, have, target.saturating_sub(have), 10_000, |done| {
        if done % 500_000 == 0 {
            eprintln!(
                "  {done} entries ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    })
    .await?;
    let size = store.head().await?.size;
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..1_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let t = Instant::now();
        store.inclusion_proof(x % size, size).await?;
        inclusion.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        store.consistency_proof(1 + x % (size - 1), size).await?;
        consistency.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let label = if size >= 10_000_000 { "10M" } else { "100k" };
    rows.push(Row {
        backend: backend.clone(),
        metric: if label == "10M" {
            "inclusion proof p99 at 10M entries"
        } else {
            "inclusion proof p99 at 100k entries"
        },
        value: percentile(inclusion, 0.99),
        unit: "µs",
        reference: None,
    });
    rows.push(Row {
        backend,
        metric: if label == "10M" {
            "consistency proof p99 at 10M entries"
        } else {
            "consistency proof p99 at 100k entries"
        },
        value: percentile(consistency, 0.99),
        unit: "µs",
        reference: None,
    });
    store.close().await;
    Ok(())
}

pub async fn run(args: BenchStoreArgs) -> CmdResult {
    let BenchStoreArgs {
        scale,
        database,
        sqlite_only,
        format,
    } = args;
    let s = sizes(scale);
    let work = tempdir_path("soxctl-bench")?;
    let fsync = fdatasync_rate(&work);
    let mut rows = Vec::new();
    let mut sha = None;
    run_backend(
        "sqlite",
        Location::Sqlite(work.join("sqlite")),
        &s,
        &mut rows,
        fsync,
        &mut sha,
    )
    .await?;
    if !sqlite_only {
        let url = match database {
            Some(url) => url,
            None => soxctl_testkit::durable_postgres()
                .and_then(|pg| pg.fresh_database())
                .context(
                    "cannot start a throw-away PostgreSQL (pass --database URL or --sqlite-only)",
                )?,
        };
        run_backend(
            "postgres",
            Location::Postgres(url),
            &s,
            &mut rows,
            fsync,
            &mut sha,
        )
        .await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "backend": r.backend,
                "metric": r.metric,
                "value": format!("{:.1}", r.value),
                "unit": r.unit,
                "reference": r.reference.as_ref().map(|(v, what)| format!("{v:.1} {what}")),
                "ratio": r.reference.as_ref().map(|(v, _)| format!("{:.0}%", 100.0 * r.value / v)),
            })
        })
        .collect();
    print_records(
        Format::resolve(format),
        &["backend", "metric", "value", "unit", "reference", "ratio"],
        &records,
    )?;
    Ok(Exit::Ok)
}
