//! `soxctl-bench history`: the auditor's point-in-time questions on a store
//! with millions of history events — who held an entitlement at T, what a
//! person could do at T, and a person's changes between T1 and T2 — timed
//! over random questions (p50, p99) on SQLite and PostgreSQL.

use crate::args::{BenchScale, BenchStoreArgs, HistoryBenchArgs};
use crate::support::Rng;
use anyhow::Context;
use soxctl::output::{Format, print_records};
use soxctl_model::event::{AccountFact, Baselined, Event, GrantFact, Origin, SystemFact};
use soxctl_model::ids::{AccountId, EntitlementId, EntitlementRef, PersonId, SystemId};
use soxctl_model::inventory::{Account, AccountKind, AccountStatus, Grant, GrantSource, System};
use soxctl_model::principal::Principal;
use soxctl_model::time::Timestamp;
use soxctl_store::{Location, Store};
use std::collections::HashSet;
use std::time::Instant;

const ENTITLEMENTS: u64 = 2_000;
const PEOPLE: u64 = 100_000;
const BATCH: u64 = 10_000;
const QUESTIONS: usize = 300;

fn events(scale: BenchScale) -> u64 {
    match scale {
        BenchScale::Small => 300_000,
        BenchScale::Full => 10_000_000,
    }
}

/// The instant of event `i` of `n`: spread over 2025, so questions at any
/// day of the year meet a history of that size.
fn instant(i: u64, n: u64) -> anyhow::Result<Timestamp> {
    let start = Timestamp::parse("2025-01-01T00:00:00Z")?.micros();
    let year = 365 * 24 * 3600 * 1_000_000_i64;
    let at = start + i64::try_from(i * (year as u64 / n.max(1))).unwrap_or(0);
    chrono::DateTime::from_timestamp_micros(at)
        .map(Timestamp::from_datetime)
        .context("time out of range")
}

fn grant(account: u64, entitlement: u64) -> anyhow::Result<Grant> {
    Ok(Grant {
        system_id: SystemId::parse("erp")?,
        account_id: AccountId::parse(format!("u{account:06}"))?,
        entitlement_id: EntitlementId::parse(format!("E{entitlement:04}"))?,
        granted_at: None,
        source: GrantSource::Direct,
    })
}

async fn fill(store: &Store, n: u64) -> anyhow::Result<f64> {
    let actor = Principal::system("bench");
    let origin = |at: Timestamp| Origin {
        import_id: Some("imp_bench".into()),
        as_of: Some(at),
    };
    let start = Timestamp::parse("2024-12-31T00:00:00Z")?;
    let mut tx = store.begin_write().await?;
    tx.append(
        &actor,
        &Event::SystemAdded(SystemFact {
            origin: origin(start),
            changed: None,
            system: System {
                system_id: SystemId::parse("erp")?,
                name: "ERP".into(),
                kind: None,
                owner_id: None,
                sox_in_scope: true,
            },
        }),
    )
    .await?;
    for p in 0..PEOPLE {
        let person = soxctl_model::inventory::Person {
            person_id: PersonId::parse(format!("p{p:06}"))?,
            name: None,
            email: None,
            manager_id: None,
            department: None,
            title: None,
            status: soxctl_model::inventory::PersonStatus::Active,
            hire_date: None,
            termination_date: None,
        };
        let sealed = tx.seal_person(&person).await?;
        tx.append(
            &actor,
            &Event::PersonAdded(soxctl_model::event::PersonFact {
                origin: origin(start),
                changed: None,
                person: sealed,
            }),
        )
        .await?;
        tx.append(
            &actor,
            &Event::AccountAdded(AccountFact {
                origin: origin(start),
                changed: None,
                account: Account {
                    system_id: SystemId::parse("erp")?,
                    account_id: AccountId::parse(format!("u{p:06}"))?,
                    person_id: Some(PersonId::parse(format!("p{p:06}"))?),
                    kind: AccountKind::Human,
                    status: AccountStatus::Active,
                    last_login: None,
                    mfa: None,
                    owner_id: None,
                    credential_rotated_at: None,
                },
            }),
        )
        .await?;
    }
    tx.append(
        &actor,
        &Event::SystemBaselined(Baselined {
            system_id: SystemId::parse("erp")?,
            import_id: "imp_bench".into(),
            as_of: start,
        }),
    )
    .await?;
    tx.commit().await?;
    // Grants come and go: a held grant is removed, otherwise added.
    let mut held: HashSet<(u64, u64)> = HashSet::new();
    let mut rng = Rng(0x005E_ED0F_50C7);
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = store.begin_write().await?;
        let end = (i + BATCH).min(n);
        while i < end {
            let key = (rng.next() % PEOPLE, rng.next() % ENTITLEMENTS);
            let fact = GrantFact {
                origin: origin(instant(i, n)?),
                changed: None,
                grant: grant(key.0, key.1)?,
            };
            let event = if held.remove(&key) {
                Event::GrantRemoved(fact)
            } else {
                held.insert(key);
                Event::GrantAdded(fact)
            };
            tx.append(&actor, &event).await?;
            i += 1;
        }
        tx.commit().await?;
        if i.is_multiple_of((n / 10).max(BATCH)) {
            eprintln!("bench history: {i} of {n} events");
        }
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

async fn questions(store: &Store, n: u64) -> anyhow::Result<Vec<(&'static str, f64, f64, f64)>> {
    let mut rng = Rng(42);
    let mut who = Vec::new();
    let mut rows = 0.0;
    for _ in 0..QUESTIONS {
        let e = EntitlementRef::parse(&format!("erp:E{:04}", rng.next() % ENTITLEMENTS))?;
        let at = instant(rng.next() % n, n)?;
        let t = Instant::now();
        let answer = store.who_has(&e, Some(at)).await?;
        who.push(t.elapsed().as_secs_f64() * 1e3);
        rows += answer.holdings.len() as f64;
    }
    let who_rows = rows / QUESTIONS as f64;
    let (mut access, mut history) = (Vec::new(), Vec::new());
    let (mut access_rows, mut history_rows) = (0.0, 0.0);
    for _ in 0..QUESTIONS {
        let p = PersonId::parse(format!("p{:06}", rng.next() % PEOPLE))?;
        let at = instant(rng.next() % n, n)?;
        let t = Instant::now();
        access_rows += store.access_of(&p, Some(at)).await?.holdings.len() as f64;
        access.push(t.elapsed().as_secs_f64() * 1e3);
        let from = instant(rng.next() % (n / 2), n)?;
        let to = instant(n / 2 + rng.next() % (n / 2), n)?;
        let t = Instant::now();
        history_rows += store.history_of(&p, from, to).await?.len() as f64;
        history.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let q = QUESTIONS as f64;
    let (w50, w99) = percentiles(who);
    let (a50, a99) = percentiles(access);
    let (h50, h99) = percentiles(history);
    Ok(vec![
        ("who-has --at", w50, w99, who_rows),
        ("access-of --at", a50, a99, access_rows / q),
        ("history --from --to", h50, h99, history_rows / q),
    ])
}

pub async fn run(args: HistoryBenchArgs) -> anyhow::Result<()> {
    let HistoryBenchArgs {
        store:
            BenchStoreArgs {
                scale,
                database,
                sqlite_only,
                format,
            },
        postgres_only,
    } = args;
    let n = events(scale);
    let work = crate::support::tempdir_path("soxctl-bench-history")?;
    let mut backends = Vec::new();
    if !postgres_only {
        backends.push(("sqlite", Location::Sqlite(work.join("sqlite"))));
    }
    if !sqlite_only {
        let url = match database {
            Some(url) => url,
            None => soxctl_testkit::postgres()
                .and_then(|pg| pg.fresh_database())
                .context(
                    "cannot start a throw-away PostgreSQL (pass --database URL or --sqlite-only)",
                )?,
        };
        backends.push(("postgres", Location::Postgres(url)));
    }
    let mut records = Vec::new();
    for (backend, location) in backends {
        let (store, _key) = crate::support::open(location).await?;
        eprintln!("bench history: {backend}: writing {n} grant events…");
        let rate = fill(&store, n).await?;
        let history_rows = n;
        for (question, p50, p99, rows) in questions(&store, n).await? {
            records.push(serde_json::json!({
                "backend": backend,
                "history_events": history_rows,
                "question": question,
                "p50_ms": format!("{p50:.2}"),
                "p99_ms": format!("{p99:.2}"),
                "avg_rows": format!("{rows:.1}"),
                "fill_events_per_s": format!("{rate:.0}"),
            }));
        }
        store.close().await;
    }
    let _ = std::fs::remove_dir_all(&work);
    print_records(
        Format::resolve(format),
        &[
            "backend",
            "history_events",
            "question",
            "p50_ms",
            "p99_ms",
            "avg_rows",
            "fill_events_per_s",
        ],
        &records,
    )?;
    Ok(())
}
