//! `soxctl-bench sod`: the segregation-of-duties headline figure.
//!
//! On one generated snapshot (`synth/`), one at a time:
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

use crate::args::{BenchScale, SodBenchArgs};
use anyhow::anyhow;
use generate::{config, generate};
use pairs::agreement;
use peers::{DuckResult, PgResult, default_venv, ensure_duckdb, run_duckdb, run_postgres};
use phases::child_phase;
use soxctl::exit::{CmdResult, Exit, failed};
use soxctl::output::{Format, print_records};
use sql::write_sql_inputs;
use std::fs;
use std::io::Write;
use std::path::Path;

mod generate;
mod pairs;
mod peers;
mod phases;
mod sql;
mod synth;
#[cfg(test)]
mod tests;

pub use phases::run_phase;

/// The DuckDB the comparison pins (PyPI package `duckdb`); `test.sh` reads
/// the same file.
pub const DUCKDB_VERSION: &str = include_str!("../../duckdb-version").trim_ascii();

fn say(message: &str) {
    eprintln!("[bench sod] {message}");
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
