//! Timings on a synthetic organisation.
//!
//! `incremental_check_latency` runs with the normal suite at a moderate
//! scale. The full-scale runs are ignored by default; run them one at a
//! time (each reports its own peak memory) with
//!
//! ```sh
//! cargo test -p soxctl-sod --release --test scale -- --ignored --nocapture --test-threads=1
//! ```
//!
//! `SOD_PEOPLE` (default 1,000,000) and `SOD_RISKS` (default 2,000) set the
//! scale; ~10 grants per account, ~2.5 accounts per person.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod synth;

use soxctl_sod::input::{SnapshotFiles, load_csv};
use soxctl_sod::{Addition, Holder};
use soxctl_sod::{Change, Compiled, Engine, Interval, When, analyze, analyze_window};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at]
}

/// Random grant changes on random accounts, then what-if checks; reports
/// p50/p99 of one `apply` and of one `simulate`.
fn latencies(
    engine: &mut Engine,
    people: usize,
    rounds: usize,
) -> (Duration, Duration, Duration, Duration) {
    let mut rng = synth::Rng::new(42);
    let mut applies = Vec::with_capacity(rounds);
    let mut simulations = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let p = rng.below(people);
        let system = synth::system(rng.below(synth::SYSTEMS));
        let entitlement = synth::entitlement(rng.below(synth::ENTITLEMENTS / synth::SYSTEMS));
        let change = Change::AccountUpserted {
            system: system.clone(),
            account: format!("t{i}"),
            person: Some(format!("P{p:07}")),
            kind: soxctl_sod::AccountKind::Human,
            active: true,
        };
        engine.apply(change).unwrap();
        let grant = Change::GrantAdded {
            system: system.clone(),
            account: format!("t{i}"),
            entitlement: entitlement.clone(),
            interval: Interval::ALWAYS,
        };
        let start = Instant::now();
        engine.apply(grant).unwrap();
        applies.push(start.elapsed());
        let addition = Addition {
            entitlement: format!(
                "{}:{}",
                synth::system(rng.below(synth::SYSTEMS)),
                synth::entitlement(rng.below(2500))
            ),
            holder: Holder::Account(String::new()),
            interval: Interval::ALWAYS,
        };
        let person = format!("P{:07}", rng.below(people));
        let start = Instant::now();
        // Holder::System may be ambiguous for people with two accounts in a
        // system; that answer is timed too.
        let _ = engine.simulate(
            &person,
            &[Addition {
                holder: Holder::System,
                ..addition
            }],
        );
        simulations.push(start.elapsed());
    }
    (
        percentile(&mut applies, 0.5),
        percentile(&mut applies, 0.99),
        percentile(&mut simulations, 0.5),
        percentile(&mut simulations, 0.99),
    )
}

#[test]
fn incremental_check_latency() {
    let people = env("SOD_PEOPLE_SMALL", 20_000);
    let rules = synth::rules(400);
    let dataset = synth::builder(people, 10).build();
    let (mut engine, _) = Engine::new(&rules, dataset);
    let (a50, a99, s50, s99) = latencies(&mut engine, people, 2_000);
    println!("{people} people: apply p50 {a50:?} p99 {a99:?}; simulate p50 {s50:?} p99 {s99:?}");
    // Generous for unoptimised builds on a busy machine; the release figure
    // is what the 100 µs target is about (see the ignored full-scale test).
    assert!(a99 < Duration::from_millis(20) && s99 < Duration::from_millis(20));
}

#[test]
#[ignore = "full scale: minutes and gigabytes; run with --release -- --ignored"]
fn full_scale_csv_load_and_analysis() {
    let people = env("SOD_PEOPLE", 1_000_000);
    let rules = synth::rules(env("SOD_RISKS", 2_000));
    let start = Instant::now();
    let (accounts, grants) = synth::csv(people, 10);
    println!(
        "generated accounts.csv {} MiB, grants.csv {} MiB in {}",
        accounts.len() >> 20,
        grants.len() >> 20,
        secs(start.elapsed())
    );
    let (_, rss_files) = synth::memory_mib();
    let start = Instant::now();
    let dataset = load_csv(SnapshotFiles {
        accounts: &accounts,
        grants: &grants,
        entitlements: None,
    })
    .unwrap();
    let parse = start.elapsed();
    let (hwm_parse, _) = synth::memory_mib();
    drop((accounts, grants));
    let start = Instant::now();
    let (compiled, warnings) = Compiled::compile(&rules, dataset.catalogue());
    let compile = start.elapsed();
    let start = Instant::now();
    let violations = analyze(&compiled, &dataset, When::Now).unwrap();
    let analysis = start.elapsed();
    let (hwm, rss) = synth::memory_mib();
    println!(
        "{people} people, {} accounts, {} grants, {} entitlements, {} risks ({} warnings)",
        dataset.account_count(),
        dataset.grant_count(),
        dataset.catalogue().len(),
        compiled.risk_count(),
        warnings.len()
    );
    println!(
        "parse {} (csv bytes resident {rss_files} MiB, peak {hwm_parse} MiB), compile {}, analyze {} -> {} violations; parse+analyze {}; rss {rss} MiB, peak {hwm} MiB",
        secs(parse),
        secs(compile),
        secs(analysis),
        violations.len(),
        secs(parse + compile + analysis)
    );
}

#[test]
#[ignore = "full scale: minutes and gigabytes; run with --release -- --ignored"]
fn full_scale_analysis_and_incremental() {
    let people = env("SOD_PEOPLE", 1_000_000);
    let rules = synth::rules(env("SOD_RISKS", 2_000));
    let start = Instant::now();
    let dataset = synth::builder(people, 10).build();
    println!(
        "built {} grants in {}",
        dataset.grant_count(),
        secs(start.elapsed())
    );
    let (_, rss_loaded) = synth::memory_mib();
    let (compiled, _) = Compiled::compile(&rules, dataset.catalogue());
    let start = Instant::now();
    let violations = analyze(&compiled, &dataset, When::Now).unwrap();
    let analysis = start.elapsed();
    let start = Instant::now();
    let window = analyze_window(&compiled, &dataset, 0, 1_000_000).unwrap();
    let windowed = start.elapsed();
    let (hwm, _) = synth::memory_mib();
    println!(
        "analyze {} -> {} violations; window {} -> {}; loaded {rss_loaded} MiB, peak {hwm} MiB",
        secs(analysis),
        violations.len(),
        secs(windowed),
        window.len()
    );
    let start = Instant::now();
    let (mut engine, _) = Engine::new(&rules, dataset);
    println!("engine built in {}", secs(start.elapsed()));
    let (a50, a99, s50, s99) = latencies(&mut engine, people, 20_000);
    let (hwm, _) = synth::memory_mib();
    println!("apply p50 {a50:?} p99 {a99:?}; simulate p50 {s50:?} p99 {s99:?}; peak {hwm} MiB");
}
