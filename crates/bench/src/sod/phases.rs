//! soxctl's own measurements, each in a child process of this binary so its
//! time and peak memory are its own: from files, and on loaded data.

use super::pairs::pair_hash;
use crate::args::{SodPhase, SodRunArgs};
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use soxctl::exit::{CmdResult, Exit};
use soxctl_sod::input::{SnapshotStream, load_csv_stream};
use soxctl_sod::{
    Addition, Change, Compiled, Engine, Holder, Interval, Item, RuleSet, When, analyze,
};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory of this process so far, in MiB (Linux VmHWM).
fn peak_mib() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PhaseResult {
    pub read_s: f64,
    pub load_s: f64,
    pub compile_s: f64,
    pub analyze_s: f64,
    /// Files: read + load + compile + analyse. Loaded: median analysis.
    pub total_s: f64,
    pub peak_mib: f64,
    pub pairs: usize,
    pub sha256: String,
    pub accounts: usize,
    pub grants: usize,
    pub identities: usize,
    pub entitlements: usize,
    pub risks: usize,
    /// Loaded only: every analysis run, and the latencies (µs).
    #[serde(default)]
    pub analyze_runs_s: Vec<f64>,
    #[serde(default)]
    pub engine_build_s: f64,
    #[serde(default)]
    pub apply_p50_us: f64,
    #[serde(default)]
    pub apply_p99_us: f64,
    #[serde(default)]
    pub simulate_p50_us: f64,
    #[serde(default)]
    pub simulate_p99_us: f64,
    #[serde(default)]
    pub rounds: usize,
    #[serde(default)]
    pub engine_pairs: usize,
}

/// The snapshot as the files phase reads it: `grants.csv` stays an open
/// file, read one block ahead of the parsing.
struct Snapshot {
    accounts: Vec<u8>,
    grants: fs::File,
    grants_len: u64,
    entitlements: Option<Vec<u8>>,
    rules: String,
}

fn read_snapshot(dir: &Path) -> anyhow::Result<Snapshot> {
    let read = |name: &str| fs::read(dir.join(name)).with_context(|| format!("reading {name}"));
    let entitlements = match fs::read(dir.join("entitlements.csv")) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("reading entitlements.csv"),
    };
    let grants = fs::File::open(dir.join("grants.csv")).context("opening grants.csv")?;
    let grants_len = grants.metadata().map(|m| m.len()).unwrap_or(0);
    Ok(Snapshot {
        accounts: read("accounts.csv")?,
        grants,
        grants_len,
        entitlements,
        rules: fs::read_to_string(dir.join("rules.toml")).context("reading rules.toml")?,
    })
}

fn load_snapshot(snapshot: &mut Snapshot) -> anyhow::Result<soxctl_sod::Dataset> {
    Ok(load_csv_stream(SnapshotStream {
        accounts: &snapshot.accounts,
        entitlements: snapshot.entitlements.as_deref(),
        grants: &mut snapshot.grants,
        grants_len: Some(snapshot.grants_len),
    })?)
}

/// soxctl from files, or on loaded data: one JSON line on stdout.
pub fn run_phase(args: SodRunArgs) -> CmdResult {
    let result = match args.phase {
        SodPhase::Files => phase_files(&args.dir)?,
        SodPhase::Loaded => phase_loaded(&args.dir, args.rounds)?,
    };
    println!("{}", serde_json::to_string(&result)?);
    Ok(Exit::Ok)
}

pub(super) fn phase_files(dir: &Path) -> anyhow::Result<PhaseResult> {
    let started = Instant::now();
    let mut snapshot = read_snapshot(dir)?;
    let rules = RuleSet::parse(&snapshot.rules).map_err(|e| anyhow!("rules.toml: {e}"))?;
    let read = started.elapsed();
    let dataset = load_snapshot(&mut snapshot)?;
    drop(snapshot);
    let loaded = started.elapsed();
    let (compiled, _) = Compiled::compile(&rules, dataset.catalogue());
    let compiled_at = started.elapsed();
    let violations = analyze(&compiled, &dataset, When::Now)?;
    let total = started.elapsed();
    let (pairs, sha256) = pair_hash(
        violations
            .iter()
            .map(|v| (v.risk_id.as_str(), v.identity.as_str())),
    );
    Ok(PhaseResult {
        read_s: read.as_secs_f64(),
        load_s: (loaded - read).as_secs_f64(),
        compile_s: (compiled_at - loaded).as_secs_f64(),
        analyze_s: (total - compiled_at).as_secs_f64(),
        total_s: total.as_secs_f64(),
        peak_mib: peak_mib(),
        pairs,
        sha256,
        accounts: dataset.account_count(),
        grants: dataset.grant_count(),
        identities: dataset.identity_count(),
        entitlements: dataset.catalogue().len(),
        risks: compiled.risk_count(),
        ..PhaseResult::default()
    })
}

fn percentile_us(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let at = ((samples.len().saturating_sub(1)) as f64 * p).round() as usize;
    samples.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Small deterministic generator for the latency samples.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if n == 0 {
            0
        } else {
            (self.0 % n as u64) as usize
        }
    }
}

/// Rows of a plain CSV file (no quotes) as the asked-for columns; rows with
/// quotes are skipped (these only feed the latency samples).
fn plain_columns<const K: usize>(bytes: &[u8], names: [&str; K]) -> Vec<[String; K]> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let Some(at) = names
        .iter()
        .map(|n| header.iter().position(|h| h.trim() == *n))
        .collect::<Option<Vec<usize>>>()
    else {
        return Vec::new();
    };
    lines
        .filter(|l| !l.contains('"') && !l.is_empty())
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            let mut row: [String; K] = std::array::from_fn(|_| String::new());
            for (slot, &i) in row.iter_mut().zip(&at) {
                *slot = (*fields.get(i)?).to_owned();
            }
            Some(row)
        })
        .collect()
}

pub(super) fn phase_loaded(dir: &Path, rounds: usize) -> anyhow::Result<PhaseResult> {
    let mut snapshot = read_snapshot(dir)?;
    let rules = RuleSet::parse(&snapshot.rules).map_err(|e| anyhow!("rules.toml: {e}"))?;
    let dataset = load_snapshot(&mut snapshot)?;
    // Latency samples: accounts and entitlements from the files.
    let mut rng = XorShift(0x5eed_1234_abcd);
    let accounts = {
        let all = plain_columns(
            &snapshot.accounts,
            ["system_id", "account_id", "person_id", "kind", "status"],
        );
        let mut picked = Vec::with_capacity(rounds.min(all.len()));
        let active: Vec<&[String; 5]> = all.iter().filter(|a| a[4] == "active").collect();
        for _ in 0..rounds {
            if let Some(a) = active.get(rng.below(active.len())) {
                picked.push((*a).clone());
            }
        }
        picked
    };
    let mut by_system: std::collections::HashMap<String, Vec<String>> = Default::default();
    let catalogue = dataset.catalogue();
    for e in 0..catalogue.len() {
        let e = u32::try_from(e).unwrap_or(u32::MAX);
        by_system
            .entry(catalogue.system_of(e).to_owned())
            .or_default()
            .push(catalogue.entitlement_of(e).to_owned());
    }
    let referenced: Vec<String> = rules
        .functions
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|item| match item {
            Item::Ref(r) => Some(r.to_string()),
            _ => None,
        })
        .collect();
    drop(snapshot);

    let (compiled, _) = Compiled::compile(&rules, dataset.catalogue());
    let mut runs = Vec::new();
    let mut violations = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        violations = analyze(&compiled, &dataset, When::Now)?;
        runs.push(t.elapsed().as_secs_f64());
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let (pairs, sha256) = pair_hash(
        violations
            .iter()
            .map(|v| (v.risk_id.as_str(), v.identity.as_str())),
    );
    let mut result = PhaseResult {
        total_s: median,
        analyze_s: median,
        analyze_runs_s: runs,
        pairs,
        sha256,
        accounts: dataset.account_count(),
        grants: dataset.grant_count(),
        identities: dataset.identity_count(),
        entitlements: dataset.catalogue().len(),
        risks: compiled.risk_count(),
        ..PhaseResult::default()
    };
    drop(violations);
    drop(compiled);

    let t = Instant::now();
    let (mut engine, _) = Engine::new(&rules, dataset);
    result.engine_build_s = t.elapsed().as_secs_f64();
    result.engine_pairs = engine.violations().len();

    // Grant changes: each sampled account gains an entitlement of its system
    // (half of them one the rules name), and loses it on the next change.
    let mut applies = Vec::with_capacity(rounds);
    let mut pending: Option<Change> = None;
    for (i, [system, account, ..]) in accounts.iter().enumerate() {
        let change = match pending.take() {
            Some(Change::GrantAdded {
                system,
                account,
                entitlement,
                interval,
            }) if i % 2 == 1 => Change::GrantRemoved {
                system,
                account,
                entitlement,
                interval,
            },
            _ => {
                let named = referenced
                    .iter()
                    .filter(|r| r.split_once(':').is_some_and(|(s, _)| s == system))
                    .nth(rng.below(8));
                let entitlement = match named {
                    Some(r) if rng.below(2) == 0 => {
                        r.split_once(':').map_or("", |(_, e)| e).to_owned()
                    }
                    _ => by_system
                        .get(system)
                        .and_then(|list| list.get(rng.below(list.len())))
                        .cloned()
                        .unwrap_or_else(|| "BENCH_ENT".to_owned()),
                };
                let added = Change::GrantAdded {
                    system: system.clone(),
                    account: account.clone(),
                    entitlement,
                    interval: Interval::ALWAYS,
                };
                pending = Some(added.clone());
                added
            }
        };
        let t = Instant::now();
        let delta = engine.apply(change);
        applies.push(t.elapsed());
        delta.map_err(|e| anyhow!("incremental change: {e}"))?;
    }
    let mut simulations = Vec::with_capacity(rounds);
    for [system, account, person, kind, _] in &accounts {
        let identity = if kind == "human" && !person.is_empty() {
            person.clone()
        } else {
            format!("account:{system}:{account}")
        };
        let entitlement = referenced
            .get(rng.below(referenced.len()))
            .cloned()
            .unwrap_or_else(|| format!("{system}:BENCH_ENT"));
        let additions = [Addition {
            entitlement,
            holder: Holder::System,
            interval: Interval::ALWAYS,
        }];
        let t = Instant::now();
        // An ambiguous holder or a service account without an account in
        // the system is an answer too, and is timed as one.
        let answer = engine.simulate(&identity, &additions);
        simulations.push(t.elapsed());
        drop(answer);
    }
    result.rounds = applies.len();
    result.apply_p50_us = percentile_us(&mut applies, 0.5);
    result.apply_p99_us = percentile_us(&mut applies, 0.99);
    result.simulate_p50_us = percentile_us(&mut simulations, 0.5);
    result.simulate_p99_us = percentile_us(&mut simulations, 0.99);
    result.peak_mib = peak_mib();
    Ok(result)
}

/// Runs this binary's hidden `sod-run` in a child process.
pub(super) fn child_phase(phase: &str, dir: &Path) -> anyhow::Result<PhaseResult> {
    let exe = std::env::current_exe().context("finding the soxctl-bench binary")?;
    let out = Command::new(exe)
        .args(["sod-run", "--phase", phase])
        .arg(dir)
        .stderr(Stdio::inherit())
        .output()
        .context("running soxctl-bench sod-run")?;
    if !out.status.success() {
        bail!(
            "soxctl-bench sod-run --phase {phase} failed ({})",
            out.status
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line)
        .with_context(|| format!("reading the {phase} phase's result: {line}"))
}
