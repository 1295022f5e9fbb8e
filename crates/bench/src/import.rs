//! `soxctl-bench import`: a large snapshot into an empty store, then again
//! with 1% of the grants changed, on SQLite and PostgreSQL. The snapshot is
//! generated here, seeded: people with accounts in several of 20 systems,
//! 20 grants each over 2,000 entitlements.

use crate::args::{BenchScale, BenchStoreArgs};
use crate::support::Rng;
use anyhow::Context;
use soxctl::output::{Format, print_records};
use soxctl_app::ingest::{ImportOptions, import};
use soxctl_connectors::snapshot;
use soxctl_store::Location;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

const SYSTEMS: usize = 20;
const ENTITLEMENTS_PER_SYSTEM: usize = 100;
const ACCOUNTS_PER_PERSON: usize = 4;
const GRANTS_PER_ACCOUNT: usize = 5;

fn people(scale: BenchScale) -> usize {
    match scale {
        BenchScale::Small => 5_000,
        BenchScale::Full => 50_000,
    }
}

/// The grants of person `p`: (system, account, entitlement) rows.
fn grants_of(p: usize, changed: bool, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (p as u64 + 1));
    let mut systems = Vec::with_capacity(ACCOUNTS_PER_PERSON);
    while systems.len() < ACCOUNTS_PER_PERSON {
        let s = rng.below(SYSTEMS);
        if !systems.contains(&s) {
            systems.push(s);
        }
    }
    for s in systems {
        let mut taken = Vec::with_capacity(GRANTS_PER_ACCOUNT);
        while taken.len() < GRANTS_PER_ACCOUNT {
            // Skewed: low-numbered entitlements are the popular ones.
            let e = rng
                .below(ENTITLEMENTS_PER_SYSTEM)
                .min(rng.below(ENTITLEMENTS_PER_SYSTEM));
            if !taken.contains(&e) {
                taken.push(e);
            }
        }
        for e in taken {
            out.push((s, e));
        }
    }
    // 1% of the grants change: every 100th grant moves to an entitlement
    // no base grant uses (ENT_0100 of its system).
    if changed {
        let base = p * ACCOUNTS_PER_PERSON * GRANTS_PER_ACCOUNT;
        for (i, g) in out.iter_mut().enumerate() {
            if (base + i).is_multiple_of(100) {
                g.1 = ENTITLEMENTS_PER_SYSTEM;
            }
        }
    }
}

/// Writes the snapshot; the number of grants.
pub fn generate(dir: &Path, people_count: usize, changed: bool) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let file = |name: &str| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
        Ok(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(dir.join(name))?,
        ))
    };
    std::fs::write(
        dir.join("manifest.toml"),
        format!(
            "source = \"bench\"\nextracted_at = \"{}\"\n",
            if changed {
                "2026-02-01T00:00:00Z"
            } else {
                "2026-01-01T00:00:00Z"
            }
        ),
    )?;
    let mut out = file("systems.csv")?;
    writeln!(out, "system_id,name,kind,owner_id,sox_in_scope")?;
    for s in 0..SYSTEMS {
        writeln!(out, "sys{s:02},System {s},app,p0000000,true")?;
    }
    out.flush()?;
    let mut out = file("entitlements.csv")?;
    writeln!(
        out,
        "system_id,entitlement_id,name,privileged,owner_id,description"
    )?;
    for s in 0..SYSTEMS {
        for e in 0..=ENTITLEMENTS_PER_SYSTEM {
            writeln!(
                out,
                "sys{s:02},ENT_{e:04},Entitlement {e},{},,",
                e % 50 == 0
            )?;
        }
    }
    out.flush()?;
    let (mut people, mut accounts, mut grants) = (
        file("people.csv")?,
        file("accounts.csv")?,
        file("grants.csv")?,
    );
    writeln!(
        people,
        "person_id,name,email,manager_id,department,title,status,hire_date,termination_date"
    )?;
    writeln!(
        accounts,
        "system_id,account_id,person_id,kind,status,last_login,mfa"
    )?;
    writeln!(
        grants,
        "system_id,account_id,entitlement_id,granted_at,source"
    )?;
    let mut rows = Vec::new();
    let mut count = 0;
    let mut line = String::new();
    for p in 0..people_count {
        writeln!(
            people,
            "p{p:07},Person {p},p{p:07}@example.com,,Dept {},Title,active,2020-01-01,",
            p % 40
        )?;
        grants_of(p, changed, &mut rows);
        let mut last = usize::MAX;
        for &(s, e) in &rows {
            if s != last {
                writeln!(
                    accounts,
                    "sys{s:02},u{p:07},p{p:07},human,active,2025-12-01T00:00:00Z,true"
                )?;
                last = s;
            }
            line.clear();
            let _ = writeln!(
                line,
                "sys{s:02},u{p:07},ENT_{e:04},2025-06-01T00:00:00Z,direct"
            );
            grants.write_all(line.as_bytes())?;
            count += 1;
        }
    }
    people.flush()?;
    accounts.flush()?;
    grants.flush()?;
    Ok(count)
}

struct Measure {
    backend: &'static str,
    phase: &'static str,
    grants: usize,
    events: u64,
    read_s: f64,
    import_s: f64,
}

async fn run_backend(
    backend: &'static str,
    location: Location,
    base: &Path,
    changed: &Path,
    grants: usize,
    out: &mut Vec<Measure>,
) -> anyhow::Result<()> {
    let (store, _key) = crate::support::open(location).await?;
    let options = ImportOptions {
        max_removals_percent: 100,
        ..ImportOptions::default()
    };
    for (phase, dir) in [("first import", base), ("re-import, 1% changed", changed)] {
        eprintln!("bench import: {backend}: {phase}…");
        let t = Instant::now();
        let snap = snapshot::read(dir).with_context(|| format!("reading {}", dir.display()))?;
        let read_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let outcome = import(&store, &snap, &options).await?;
        out.push(Measure {
            backend,
            phase,
            grants,
            events: outcome.events,
            read_s,
            import_s: t.elapsed().as_secs_f64(),
        });
    }
    store.close().await;
    Ok(())
}

pub async fn run(args: BenchStoreArgs) -> anyhow::Result<()> {
    let BenchStoreArgs {
        scale,
        database,
        sqlite_only,
        format,
    } = args;
    let work = crate::support::tempdir_path("soxctl-bench-import")?;
    let (base, changed) = (work.join("base"), work.join("changed"));
    let n = people(scale);
    eprintln!("bench import: generating {n} people…");
    let grants = generate(&base, n, false)?;
    generate(&changed, n, true)?;
    let mut rows = Vec::new();
    run_backend(
        "sqlite",
        Location::Sqlite(work.join("sqlite")),
        &base,
        &changed,
        grants,
        &mut rows,
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
            &base,
            &changed,
            grants,
            &mut rows,
        )
        .await?;
    }
    let _ = std::fs::remove_dir_all(&work);
    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|m| {
            let total = m.read_s + m.import_s;
            serde_json::json!({
                "backend": m.backend,
                "phase": m.phase,
                "grants": m.grants,
                "events": m.events,
                "read_s": format!("{:.2}", m.read_s),
                "import_s": format!("{:.2}", m.import_s),
                "grants_per_s": format!("{:.0}", m.grants as f64 / total),
                "events_per_s": format!("{:.0}", m.events as f64 / m.import_s),
            })
        })
        .collect();
    print_records(
        Format::resolve(format),
        &[
            "backend",
            "phase",
            "grants",
            "events",
            "read_s",
            "import_s",
            "grants_per_s",
            "events_per_s",
        ],
        &records,
    )?;
    Ok(())
}
