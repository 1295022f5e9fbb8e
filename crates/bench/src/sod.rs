//! `soxctl-bench sod`: the segregation-of-duties headline figure.
//!
//! On one generated snapshot (`sod/synth.rs`), one at a time:
//!
//! 1. soxctl from files, end to end (read the CSV files, load, compile,
//!    analyse), in a child process so its peak memory is its own;
//! 2. soxctl on loaded data (the continuous case): analysis of an already
//!    built dataset, and p50/p99 of incremental changes and simulations;
//! 3. DuckDB in a Python virtual environment, loading the same CSVs and
//!    finding the same (risk, identity) pairs in SQL (`benches/sod/`);
//! 4. the same SQL on a throw-away PostgreSQL cluster.
//!
//! Every engine's pairs are hashed the same way (SHA-256 of the sorted lines
//! `risk_id,identity\n`); different counts or hashes fail the run (exit 1).

use crate::args::{BenchScale, SodBenchArgs, SodPhase, SodRunArgs};
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use soxctl::exit::{CmdResult, Exit, failed};
use soxctl::output::{Format, print_records};
use soxctl_sod::input::{SnapshotStream, load_csv_stream};
use soxctl_sod::rules::Member;
use soxctl_sod::{
    Addition, Change, Compiled, Engine, Holder, Interval, Item, RuleSet, When, analyze,
};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod synth;

/// The DuckDB the comparison pins (PyPI package `duckdb`); `test.sh` reads
/// the same file.
pub const DUCKDB_VERSION: &str = include_str!("../duckdb-version").trim_ascii();
const PAIRS_SQL: &str = include_str!("../../../benches/sod/pairs.sql");
const DUCKDB_PY: &str = include_str!("../../../benches/sod/duckdb_sod.py");
/// Bumped when the generator's output changes, so old directories are redone.
const GENERATOR_VERSION: u32 = 2;
const MANIFEST: &str = "bench-sod.json";

fn say(message: &str) {
    eprintln!("[bench sod] {message}");
}

// ---------------------------------------------------------------------------
// The pair hash, shared by every engine.

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

// ---------------------------------------------------------------------------
// Rules as tables for SQL.

/// `*`/`?` glob to a LIKE pattern with `\` as the escape character.
pub fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            '?' => out.push('_'),
            other => out.push(other),
        }
    }
    out
}

/// `rules_items.csv` and `risk_functions.csv`: the rule set normalised for SQL.
pub fn rule_tables(rules: &RuleSet) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let mut items = csv::Writer::from_writer(Vec::new());
    items.write_record([
        "function_id",
        "item_kind",
        "system_id",
        "pattern",
        "like_pattern",
        "group_id",
        "member",
        "group_size",
    ])?;
    let mut groups = 0usize;
    let member_row = |m: &Member| match m {
        Member::Ref(r) => (
            "ref",
            r.system().to_owned(),
            r.entitlement().to_owned(),
            glob_to_like(r.entitlement()),
        ),
        Member::Glob(g) => (
            "glob",
            g.system().to_owned(),
            g.pattern().to_owned(),
            glob_to_like(g.pattern()),
        ),
    };
    for function in &rules.functions {
        for item in &function.items {
            match item {
                Item::Ref(r) => {
                    let (kind, system, pattern, like) = member_row(&Member::Ref(r.clone()));
                    items.write_record([
                        &function.id,
                        kind,
                        &system,
                        &pattern,
                        &like,
                        "",
                        "",
                        "",
                    ])?;
                }
                Item::Glob(g) => {
                    let (kind, system, pattern, like) = member_row(&Member::Glob(g.clone()));
                    items.write_record([
                        &function.id,
                        kind,
                        &system,
                        &pattern,
                        &like,
                        "",
                        "",
                        "",
                    ])?;
                }
                Item::AllOf(members) => {
                    let group = format!("g{groups}");
                    groups += 1;
                    let size = members.len().to_string();
                    for (i, m) in members.iter().enumerate() {
                        let (kind, system, pattern, like) = member_row(m);
                        items.write_record([
                            &function.id,
                            kind,
                            &system,
                            &pattern,
                            &like,
                            &group,
                            &i.to_string(),
                            &size,
                        ])?;
                    }
                }
            }
        }
    }
    let mut risks = csv::Writer::from_writer(Vec::new());
    risks.write_record(["risk_id", "function_id"])?;
    for risk in &rules.risks {
        for function in &risk.functions {
            risks.write_record([&risk.id, function])?;
        }
    }
    Ok((items.into_inner()?, risks.into_inner()?))
}

// ---------------------------------------------------------------------------
// The soxctl phases (child processes).

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

fn phase_files(dir: &Path) -> anyhow::Result<PhaseResult> {
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

fn phase_loaded(dir: &Path, rounds: usize) -> anyhow::Result<PhaseResult> {
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

// ---------------------------------------------------------------------------
// The driver.

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    generator: u32,
    people: usize,
    systems: usize,
    entitlements: usize,
    target_grants: usize,
    risks: usize,
    seed: u64,
    accounts: usize,
    grants: usize,
    functions: usize,
}

fn config(scale: BenchScale, seed: u64) -> synth::Config {
    let mut c = match scale {
        BenchScale::Small => synth::Config::small(),
        BenchScale::Full => synth::Config::full(),
    };
    c.seed = seed;
    c
}

/// Writes the snapshot into `dir` unless a matching one is already there.
pub fn generate(dir: &Path, config: &synth::Config) -> anyhow::Result<synth::Summary> {
    let manifest_path = dir.join(MANIFEST);
    let same = |m: &Manifest| {
        m.generator == GENERATOR_VERSION
            && m.people == config.people
            && m.systems == config.systems
            && m.entitlements == config.entitlements
            && m.target_grants == config.grants
            && m.risks == config.risks
            && m.seed == config.seed
    };
    if let Ok(text) = fs::read_to_string(&manifest_path)
        && let Ok(m) = serde_json::from_str::<Manifest>(&text)
        && same(&m)
        && synth::Files::<()>::NAMES
            .iter()
            .all(|name| dir.join(name).exists())
    {
        say(&format!(
            "reusing the snapshot in {} ({} accounts, {} grants)",
            dir.display(),
            m.accounts,
            m.grants
        ));
        return Ok(synth::Summary {
            people: m.people,
            systems: m.systems,
            entitlements: m.entitlements,
            accounts: m.accounts,
            grants: m.grants,
            functions: m.functions,
            risks: m.risks,
        });
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _ = fs::remove_file(&manifest_path);
    let open = |name: &str| -> anyhow::Result<BufWriter<fs::File>> {
        let path = dir.join(name);
        let file =
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(BufWriter::with_capacity(1 << 20, file))
    };
    let [people, systems, entitlements, accounts, grants, rules] = synth::Files::<()>::NAMES;
    let mut files = synth::Files {
        people: open(people)?,
        systems: open(systems)?,
        entitlements: open(entitlements)?,
        accounts: open(accounts)?,
        grants: open(grants)?,
        rules: open(rules)?,
    };
    let started = Instant::now();
    say(&format!(
        "generating {} people, ~{} grants, {} entitlements, {} risks (seed {}) in {}",
        config.people,
        config.grants,
        config.entitlements,
        config.risks,
        config.seed,
        dir.display()
    ));
    let summary = synth::generate(config, &mut files, &mut |line| {
        say(&format!(
            "  {line} ({:.1} s)",
            started.elapsed().as_secs_f64()
        ));
    })?;
    drop(files);
    let manifest = Manifest {
        generator: GENERATOR_VERSION,
        people: config.people,
        systems: config.systems,
        entitlements: config.entitlements,
        target_grants: config.grants,
        risks: config.risks,
        seed: config.seed,
        accounts: summary.accounts,
        grants: summary.grants,
        functions: summary.functions,
    };
    fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    say(&format!(
        "generated in {:.1} s: {} accounts, {} grants",
        started.elapsed().as_secs_f64(),
        summary.accounts,
        summary.grants
    ));
    Ok(summary)
}

/// Runs this binary's hidden `sod-run` in a child process.
fn child_phase(phase: &str, dir: &Path) -> anyhow::Result<PhaseResult> {
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

#[derive(Debug, Deserialize)]
pub struct DuckResult {
    pub duckdb: String,
    pub load_s: f64,
    pub query_s: f64,
    pub total_s: f64,
    pub peak_mib: f64,
    pub pairs: usize,
    pub sha256: String,
}

fn default_venv() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("bench-venv")
}

/// A venv with the pinned DuckDB: reused, or created (installing
/// python3-venv with apt when `venv` is missing, as root).
pub fn ensure_duckdb(venv: &Path) -> anyhow::Result<PathBuf> {
    let python = venv.join("bin/python");
    let has = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import duckdb, sys; sys.stdout.write(duckdb.__version__)",
            ])
            .output()
            .is_ok_and(|o| o.status.success() && o.stdout == DUCKDB_VERSION.as_bytes())
    };
    if has(&python) {
        return Ok(python);
    }
    if !python.exists() {
        say(&format!(
            "creating the Python virtual environment {}",
            venv.display()
        ));
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .is_ok_and(|s| s.success());
        if !created {
            say("python3 -m venv failed: installing python3-venv with apt-get");
            let ok = Command::new("sh")
                .args([
                    "-c",
                    "DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null",
                ])
                .status()
                .is_ok_and(|s| s.success());
            let _ = fs::remove_dir_all(venv);
            if !ok
                || !Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(venv)
                    .status()
                    .is_ok_and(|s| s.success())
            {
                bail!(
                    "cannot create a Python virtual environment at {} (needs python3 and python3-venv)",
                    venv.display()
                );
            }
        }
    }
    say(&format!("pip install duckdb=={DUCKDB_VERSION}"));
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", &format!("duckdb=={DUCKDB_VERSION}")])
        .status()
        .context("running pip")?;
    if !pip.success() || !has(&python) {
        bail!(
            "cannot install duckdb=={DUCKDB_VERSION} into {}",
            venv.display()
        );
    }
    Ok(python)
}

/// Writes the SQL side's inputs (rule tables, the query, the script) to `dir`.
fn write_sql_inputs(data: &Path, dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    let text = fs::read_to_string(data.join("rules.toml")).context("reading rules.toml")?;
    let rules = RuleSet::parse(&text).map_err(|e| anyhow!("rules.toml: {e}"))?;
    let (items, risks) = rule_tables(&rules)?;
    fs::write(dir.join("rules_items.csv"), items)?;
    fs::write(dir.join("risk_functions.csv"), risks)?;
    fs::write(dir.join("pairs.sql"), PAIRS_SQL)?;
    fs::write(dir.join("duckdb_sod.py"), DUCKDB_PY)?;
    Ok(())
}

/// DuckDB on the snapshot in `data`, rule tables in `sql_dir`.
pub fn run_duckdb(
    python: &Path,
    data: &Path,
    sql_dir: &Path,
    threads: usize,
) -> anyhow::Result<DuckResult> {
    let out = Command::new(python)
        .arg(sql_dir.join("duckdb_sod.py"))
        .arg(data)
        .arg(sql_dir)
        .arg(sql_dir.join("pairs.sql"))
        .arg(threads.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("running the DuckDB script")?;
    if !out.status.success() {
        bail!("the DuckDB script failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .with_context(|| format!("reading the DuckDB result: {text}"))
}

/// The header row of a CSV file, as column names.
fn header(path: &Path) -> anyhow::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(reader
        .headers()?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect())
}

fn sql_path(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

pub struct PgResult {
    pub load_s: f64,
    pub query_s: f64,
    pub pairs: usize,
    pub sha256: String,
}

/// The same SQL on a throw-away PostgreSQL cluster: `\copy` the CSVs into
/// unlogged text tables, ANALYZE, run the query.
pub fn run_postgres(data: &Path, sql_dir: &Path, threads: usize) -> anyhow::Result<PgResult> {
    let pg = soxctl_testkit::postgres().context("starting a throw-away PostgreSQL cluster")?;
    let url = pg.fresh_database()?;
    let psql = |script: &Path| -> anyhow::Result<String> {
        let out = Command::new(pg.bin_dir().join("psql"))
            .args([
                "-X",
                "-w",
                "-q",
                "-At",
                "-F",
                "\u{1f}",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
            ])
            .arg(&url)
            .arg("-f")
            .arg(script)
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!(
                "psql -f {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let mut load = String::new();
    for (table, path) in [
        ("accounts", data.join("accounts.csv")),
        ("grants", data.join("grants.csv")),
        ("risk_functions", sql_dir.join("risk_functions.csv")),
    ] {
        let columns: Vec<String> = header(&path)?
            .iter()
            .map(|c| format!("\"{}\" text", c.replace('"', "\"\"")))
            .collect();
        load.push_str(&format!(
            "CREATE UNLOGGED TABLE {table} ({});\n\\copy {table} FROM {} WITH (FORMAT csv, HEADER true)\n",
            columns.join(", "),
            sql_path(&path)
        ));
    }
    load.push_str(&format!(
        "CREATE UNLOGGED TABLE rules_items (function_id text, item_kind text, system_id text, pattern text, like_pattern text, group_id text, member integer, group_size integer);\n\\copy rules_items FROM {} WITH (FORMAT csv, HEADER true)\nANALYZE;\n",
        sql_path(&sql_dir.join("rules_items.csv"))
    ));
    let load_path = sql_dir.join("postgres_load.sql");
    fs::write(&load_path, load)?;
    let query_path = sql_dir.join("postgres_query.sql");
    fs::write(
        &query_path,
        format!(
            "SET work_mem = '256MB';\nSET max_parallel_workers_per_gather = {};\n{PAIRS_SQL};\n",
            threads.saturating_sub(1)
        ),
    )?;
    let t = Instant::now();
    psql(&load_path)?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = psql(&query_path)?;
    let query_s = t.elapsed().as_secs_f64();
    let rows: Vec<(&str, &str)> = out
        .lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once('\u{1f}'))
        .collect();
    let (pairs, sha256) = pair_hash(rows);
    let _ = pg.psql(
        "postgres",
        &format!(
            "DROP DATABASE IF EXISTS {}",
            url.rsplit('/').next().unwrap_or("")
        ),
    );
    Ok(PgResult {
        load_s,
        query_s,
        pairs,
        sha256,
    })
}

/// The run with the median `key` (the lower middle of an even count).
fn median_by<T>(mut runs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let mid = (runs.len().saturating_sub(1)) / 2;
    runs.swap_remove(mid)
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

struct Row {
    engine: &'static str,
    phase: String,
    wall: String,
    /// Seconds compared with DuckDB's end to end (or query), if any.
    seconds: Option<f64>,
    compare_to_query: bool,
    peak_mib: Option<f64>,
    pairs: Option<usize>,
    sha256: Option<String>,
}

fn row(engine: &'static str, phase: &str, seconds: f64) -> Row {
    Row {
        engine,
        phase: phase.to_owned(),
        wall: format!("{seconds:.3}"),
        seconds: Some(seconds),
        compare_to_query: false,
        peak_mib: None,
        pairs: None,
        sha256: None,
    }
}

pub fn run(args: SodBenchArgs) -> CmdResult {
    let config = config(args.scale, args.seed);
    let (dir, temporary) = match &args.dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("soxctl-bench-sod-{}", std::process::id())),
            true,
        ),
    };
    let outcome = run_in(&args, &config, &dir);
    if temporary && !args.keep {
        let _ = fs::remove_dir_all(&dir);
    } else {
        say(&format!("files kept in {}", dir.display()));
    }
    outcome
}

fn run_in(args: &SodBenchArgs, config: &synth::Config, dir: &Path) -> CmdResult {
    let summary = generate(dir, config)?;
    let sql_dir = dir.join("sql");
    write_sql_inputs(dir, &sql_dir)?;
    let mut rows = Vec::new();
    let mut hashes: Vec<(&'static str, usize, String)> = Vec::new();

    let load_before = load_average();
    let repeat = args.repeat.max(1);
    say(&format!(
        "soxctl from files (read, load, compile, analyse), {repeat} runs"
    ));
    let mut runs = Vec::new();
    for _ in 0..repeat {
        let run = child_phase("files", dir)?;
        hashes.push(("soxctl files", run.pairs, run.sha256.clone()));
        runs.push(run);
    }
    let files_runs: Vec<f64> = runs.iter().map(|r| r.total_s).collect();
    let files = median_by(runs, |r| r.total_s);
    let mut r = row("soxctl", "end to end from files", files.total_s);
    r.peak_mib = Some(files.peak_mib);
    r.pairs = Some(files.pairs);
    r.sha256 = Some(files.sha256.clone());
    rows.push(r);
    for (phase, s) in [
        ("· read accounts, entitlements, rules", files.read_s),
        ("· read + parse grants.csv, build dataset", files.load_s),
        ("· compile rules", files.compile_s),
        ("· analyse", files.analyze_s),
    ] {
        let mut r = row("soxctl", phase, s);
        r.seconds = None;
        rows.push(r);
    }

    say(&format!(
        "soxctl on loaded data (analysis ×5, {} changes, {} simulations)",
        20_000, 20_000
    ));
    let loaded = child_phase("loaded", dir)?;
    let mut r = row("soxctl", "loaded: analyse (median of 5)", loaded.total_s);
    r.compare_to_query = true;
    r.peak_mib = Some(loaded.peak_mib);
    r.pairs = Some(loaded.pairs);
    r.sha256 = Some(loaded.sha256.clone());
    rows.push(r);
    let mut r = row(
        "soxctl",
        "loaded: build incremental engine",
        loaded.engine_build_s,
    );
    r.seconds = None;
    r.pairs = Some(loaded.engine_pairs);
    rows.push(r);
    for (phase, p50, p99) in [
        (
            "loaded: one grant change (apply)",
            loaded.apply_p50_us,
            loaded.apply_p99_us,
        ),
        (
            "loaded: one what-if (simulate)",
            loaded.simulate_p50_us,
            loaded.simulate_p99_us,
        ),
    ] {
        let mut r = row("soxctl", phase, 0.0);
        r.wall = format!("p50 {p50:.1} µs, p99 {p99:.1} µs");
        r.seconds = None;
        rows.push(r);
    }
    hashes.push(("soxctl loaded", loaded.pairs, loaded.sha256.clone()));
    if loaded.engine_pairs != loaded.pairs {
        hashes.push(("soxctl engine", loaded.engine_pairs, loaded.sha256.clone()));
    }

    let mut duck_total = None;
    let mut duck_query = None;
    let mut duck_runs: Vec<f64> = Vec::new();
    if args.skip_duckdb {
        let mut r = row("duckdb", "skipped (--skip-duckdb)", 0.0);
        r.wall = String::new();
        r.seconds = None;
        rows.push(r);
    } else {
        let venv = args.venv.clone().unwrap_or_else(default_venv);
        let python = ensure_duckdb(&venv)?;
        say(&format!(
            "DuckDB {DUCKDB_VERSION} (threads = {}): load the CSVs, run the SQL",
            args.threads
        ));
        let mut runs = Vec::new();
        for _ in 0..repeat {
            let run = run_duckdb(&python, dir, &sql_dir, args.threads)?;
            hashes.push(("duckdb", run.pairs, run.sha256.clone()));
            runs.push(run);
        }
        duck_runs = runs.iter().map(|r| r.total_s).collect();
        let DuckResult {
            duckdb: version,
            load_s,
            query_s,
            total_s,
            peak_mib: peak,
            pairs,
            sha256: sha,
        } = median_by(runs, |r| r.total_s);
        let label = format!("duckdb {version}");
        let mut r = row(
            "duckdb",
            &format!("end to end ({label}, threads={})", args.threads),
            total_s,
        );
        r.peak_mib = Some(peak);
        r.pairs = Some(pairs);
        r.sha256 = Some(sha);
        rows.push(r);
        let mut r = row("duckdb", "· load CSVs", load_s);
        r.seconds = None;
        rows.push(r);
        let mut r = row("duckdb", "· query", query_s);
        r.compare_to_query = true;
        rows.push(r);
        duck_total = Some(total_s);
        duck_query = Some(query_s);
    }

    if !args.skip_postgres {
        say(&format!(
            "PostgreSQL (throw-away cluster): \\copy the CSVs, ANALYZE, run the SQL (max_parallel_workers_per_gather = {})",
            args.threads.saturating_sub(1)
        ));
        let PgResult {
            load_s,
            query_s,
            pairs,
            sha256: sha,
        } = run_postgres(dir, &sql_dir, args.threads)?;
        let mut r = row("postgres", "end to end", load_s + query_s);
        r.pairs = Some(pairs);
        r.sha256 = Some(sha.clone());
        rows.push(r);
        let mut r = row("postgres", "· \\copy + ANALYZE", load_s);
        r.seconds = None;
        rows.push(r);
        let mut r = row("postgres", "· query", query_s);
        r.compare_to_query = true;
        rows.push(r);
        hashes.push(("postgres", pairs, sha));
    } else {
        let mut r = row("postgres", "skipped (--skip-postgres)", 0.0);
        r.wall = String::new();
        r.seconds = None;
        rows.push(r);
    }

    let records: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let reference = if r.compare_to_query {
                duck_query
            } else {
                duck_total
            };
            let ratio = match (r.seconds, reference) {
                (Some(s), Some(d)) if s > 0.0 && r.engine != "duckdb" => {
                    Some(format!("{:.1}×", d / s))
                }
                (Some(_), Some(_)) if r.engine == "duckdb" => Some("1.0×".to_owned()),
                _ => None,
            };
            serde_json::json!({
                "engine": r.engine,
                "phase": r.phase,
                "wall_s": r.wall,
                "vs_duckdb": ratio,
                "peak_mib": r.peak_mib.map(|m| format!("{m:.0}")),
                "pairs": r.pairs,
                "sha256": r.sha256.as_ref().map(|s| s.get(..12).unwrap_or(s).to_owned()),
            })
        })
        .collect();
    let format = Format::resolve(args.format);
    print_records(
        format,
        &[
            "engine",
            "phase",
            "wall_s",
            "vs_duckdb",
            "peak_mib",
            "pairs",
            "sha256",
        ],
        &records,
    )?;

    let mut notes = vec![format!(
        "data: {} people, {} accounts, {} grants, {} entitlements, {} risks ({} functions); {} identities; {} cores available",
        summary.people,
        files.accounts,
        files.grants,
        files.entitlements,
        files.risks,
        summary.functions,
        files.identities,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )];
    let seconds = |runs: &[f64]| {
        runs.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    notes.push(format!(
        "runs (median shown): soxctl from files [{}] s; duckdb [{}] s",
        seconds(&files_runs),
        seconds(&duck_runs)
    ));
    notes.push(format!(
        "machine: load average {load_before} before, {} after (1, 5, 15 min; shared cores)",
        load_average()
    ));
    if args.scale == BenchScale::Small {
        notes.push(
            "the targets are set for --scale full; at small scale fixed costs dominate".into(),
        );
    }
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    notes.push(format!(
        "target analysis of loaded data < 1 s: {} ({:.3} s)",
        verdict(loaded.total_s < 1.0),
        loaded.total_s
    ));
    match duck_total {
        Some(d) => {
            let ratio = d / files.total_s.max(1e-9);
            notes.push(format!(
                "target end to end from files >= 10x faster than DuckDB: {} ({ratio:.1}x: {:.2} s vs {d:.2} s)",
                verdict(ratio >= 10.0),
                files.total_s
            ));
        }
        None => notes.push(
            "target end to end from files >= 10x faster than DuckDB: not measured (DuckDB skipped)"
                .into(),
        ),
    }
    let p99 = loaded.apply_p99_us.max(loaded.simulate_p99_us);
    notes.push(format!(
        "target one incremental or simulated check < 100 µs at p99: {} (apply p99 {:.1} µs, simulate p99 {:.1} µs)",
        verdict(p99 < 100.0),
        loaded.apply_p99_us,
        loaded.simulate_p99_us
    ));
    let peak = files.peak_mib.max(loaded.peak_mib);
    notes.push(format!(
        "target peak memory < 2 GiB: {} (from files {:.0} MiB, loaded {:.0} MiB)",
        verdict(peak < 2048.0),
        files.peak_mib,
        loaded.peak_mib
    ));
    let agreed = agreement(&hashes);
    notes.push(match &agreed {
        Ok(line) | Err(line) => line.clone(),
    });
    for note in &notes {
        if format == Format::Table {
            println!("{note}");
        } else {
            eprintln!("{note}");
        }
    }
    std::io::stdout().flush()?;
    match agreed {
        Ok(_) => Ok(Exit::Ok),
        Err(_) => Err(failed(
            Exit::CheckFailed,
            anyhow!("the engines disagree on the (risk, identity) pairs"),
        )),
    }
}

/// Whether every run found the same pairs: the line saying so, or (as the
/// error) the line naming every run that differs from the first.
fn agreement(hashes: &[(&str, usize, String)]) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    //! The bench's correctness check: soxctl's pairs against a brute-force
    //! evaluation written from the semantics alone, and the SQL (on
    //! PostgreSQL and DuckDB) against soxctl on the scenario corpus and a
    //! generated organisation.
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/sod")
    }

    fn scenarios() -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = fs::read_dir(corpus())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("rules.toml").exists())
            .collect();
        dirs.sort();
        assert!(dirs.len() >= 12);
        dirs
    }

    fn tiny(seed: u64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(dir.path(), &synth::Config::tiny(seed)).unwrap();
        assert!(summary.grants > 1000);
        dir
    }

    /// `*` any run, `?` one character, the rest literal.
    fn glob(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
            Some(('?', rest)) => !text.is_empty() && glob(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
        }
    }

    /// (risk, identity) pairs straight from the semantics in the crate docs.
    fn brute_force(dir: &Path) -> (usize, String) {
        let rules = RuleSet::parse(&fs::read_to_string(dir.join("rules.toml")).unwrap()).unwrap();
        let read = |name: &str| {
            let mut r = csv::Reader::from_path(dir.join(name)).unwrap();
            let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
            r.records()
                .map(|rec| {
                    let rec = rec.unwrap();
                    header
                        .iter()
                        .cloned()
                        .zip(rec.iter().map(str::to_owned))
                        .collect::<BTreeMap<String, String>>()
                })
                .collect::<Vec<_>>()
        };
        // Active accounts: (system, account) -> identity.
        let mut identity_of = BTreeMap::new();
        for a in read("accounts.csv") {
            if a["status"] != "active" {
                continue;
            }
            let identity = if a["kind"] == "human" && !a["person_id"].is_empty() {
                a["person_id"].clone()
            } else {
                format!("account:{}:{}", a["system_id"], a["account_id"])
            };
            identity_of.insert((a["system_id"].clone(), a["account_id"].clone()), identity);
        }
        let mut held: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for g in read("grants.csv") {
            held.entry((g["system_id"].clone(), g["account_id"].clone()))
                .or_default()
                .insert(g["entitlement_id"].clone());
        }
        let member = |m: &Member, system: &str, ents: &BTreeSet<String>| match m {
            Member::Ref(r) => r.system() == system && ents.contains(r.entitlement()),
            Member::Glob(g) => {
                let p: Vec<char> = g.pattern().chars().collect();
                g.system() == system
                    && ents
                        .iter()
                        .any(|e| glob(&p, &e.chars().collect::<Vec<_>>()))
            }
        };
        let mut functions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for ((system, account), identity) in &identity_of {
            let empty = BTreeSet::new();
            let ents = held
                .get(&(system.clone(), account.clone()))
                .unwrap_or(&empty);
            for f in &rules.functions {
                let has = f.items.iter().any(|item| match item {
                    Item::Ref(r) => member(&Member::Ref(r.clone()), system, ents),
                    Item::Glob(g) => member(&Member::Glob(g.clone()), system, ents),
                    Item::AllOf(members) => members.iter().all(|m| member(m, system, ents)),
                });
                if has {
                    functions
                        .entry(identity.as_str())
                        .or_default()
                        .insert(f.id.as_str());
                }
            }
        }
        let mut pairs = Vec::new();
        for risk in &rules.risks {
            for (identity, fs) in &functions {
                if risk.functions.iter().all(|f| fs.contains(f.as_str())) {
                    pairs.push((risk.id.as_str(), *identity));
                }
            }
        }
        pair_hash(pairs)
    }

    #[test]
    fn soxctl_agrees_with_a_brute_force_evaluation() {
        for dir in scenarios() {
            let got = phase_files(&dir).unwrap();
            assert_eq!(
                (got.pairs, got.sha256),
                brute_force(&dir),
                "{}",
                dir.display()
            );
        }
        for seed in [1, 2, 3] {
            let dir = tiny(seed);
            let got = phase_files(dir.path()).unwrap();
            assert!(got.pairs > 0, "the tiny organisation has violations");
            assert_eq!(
                (got.pairs, got.sha256),
                brute_force(dir.path()),
                "seed {seed}"
            );
            let loaded = phase_loaded(dir.path(), 200).unwrap();
            assert_eq!(loaded.pairs, got.pairs);
            assert_eq!(loaded.engine_pairs, got.pairs);
        }
    }

    #[test]
    fn runs_that_differ_are_a_disagreement() {
        let same = [
            ("soxctl files", 2, "ab".to_owned()),
            ("duckdb", 2, "ab".to_owned()),
        ];
        assert_eq!(
            agreement(&same),
            Ok("agreement: soxctl files, duckdb all find the same 2 pairs (sha256 ab)".into())
        );
        let mut differ = same.to_vec();
        differ.push(("postgres", 2, "cd".to_owned()));
        differ.push(("duckdb", 3, "ab".to_owned()));
        assert_eq!(
            agreement(&differ),
            Err("DISAGREEMENT: soxctl files: 2 pairs, sha256 ab; postgres: 2 pairs, sha256 cd; duckdb: 3 pairs, sha256 ab".into())
        );
        assert!(agreement(&[]).is_err());
    }

    #[test]
    fn the_pair_hash_is_over_sorted_lines() {
        let (n, hash) = pair_hash([("R2", "p1"), ("R1", "account:erp:svc")]);
        let expected = Sha256::digest(b"R1,account:erp:svc\nR2,p1\n");
        assert_eq!((n, hash), (2, hex::encode(expected)));
    }

    #[test]
    fn globs_become_like_patterns_with_escapes() {
        assert_eq!(glob_to_like("VENDOR_*"), "VENDOR\\_%");
        assert_eq!(glob_to_like("A?%\\B"), "A_\\%\\\\B");
    }

    /// soxctl's pairs and the SQL's, on every corpus scenario and a
    /// generated organisation.
    fn sql_agrees(run: impl Fn(&Path, &Path) -> (usize, String)) {
        let tiny = tiny(4);
        let mut dirs = scenarios();
        dirs.push(tiny.path().to_owned());
        for dir in dirs {
            let sql = tempfile::tempdir().unwrap();
            write_sql_inputs(&dir, sql.path()).unwrap();
            let expected = phase_files(&dir).unwrap();
            assert_eq!(
                run(&dir, sql.path()),
                (expected.pairs, expected.sha256),
                "{}",
                dir.display()
            );
        }
    }

    #[test]
    fn the_sql_agrees_with_soxctl_on_postgres() {
        sql_agrees(|dir, sql| {
            let r = run_postgres(dir, sql, 2).unwrap();
            (r.pairs, r.sha256)
        });
    }

    /// Needs the DuckDB venv: ./test.sh makes it (SOXCTL_BENCH_VENV), as
    /// does `soxctl-bench sod`; without it the test fails and says so.
    #[test]
    fn the_sql_agrees_with_soxctl_on_duckdb() {
        let venv = std::env::var_os("SOXCTL_BENCH_VENV").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-venv"),
            PathBuf::from,
        );
        let python = venv.join("bin/python");
        let ok = Command::new(&python)
            .args(["-c", "import duckdb"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "no DuckDB at {}: run ./test.sh (it creates the venv with duckdb=={DUCKDB_VERSION}) or set SOXCTL_BENCH_VENV",
            python.display()
        );
        sql_agrees(|dir, sql| {
            let r = run_duckdb(&python, dir, sql, 2).unwrap();
            (r.pairs, r.sha256)
        });
    }
}
