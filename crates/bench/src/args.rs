//! The command line of `soxctl-bench`.

use clap::{Args, Parser, Subcommand};
use soxctl::output::Format;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchScale {
    Small,
    Full,
}

#[derive(Debug, Parser)]
#[command(
    name = "soxctl-bench",
    version,
    about = "soxctl's benchmarks: a results table on stdout, beside peers measured in the same run; the figures go in docs/BENCHMARKS.md"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Point-in-time questions (who-has/access-of/history) on 10M history events (full scale).
    History(HistoryBenchArgs),
    /// Snapshot import: 1M grants for 50,000 people into an empty store, then 1% changed (full scale).
    Import(BenchStoreArgs),
    /// Ledger appends, hashing, verify and proofs on SQLite and PostgreSQL.
    Ledger(BenchStoreArgs),
    /// The change gate over HTTP on loopback, driven by wrk (target: 10,000 checks/s, p99 < 5 ms).
    Gate(BenchGateArgs),
    /// Segregation-of-duties analysis: soxctl from files and on loaded data, DuckDB and PostgreSQL on the same generated snapshot; all must find the same (risk, identity) pairs.
    Sod(SodBenchArgs),
    /// One soxctl phase of `soxctl-bench sod`, in its own process so peak memory is its own (prints one JSON line).
    #[command(hide = true)]
    SodRun(SodRunArgs),
}

#[derive(Debug, Args)]
pub struct BenchGateArgs {
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    #[arg(long, default_value_t = 2)]
    pub threads: u32,
    #[arg(long, default_value_t = 50)]
    pub connections: u32,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// `soxctl-bench history`: the store options, and PostgreSQL alone (its
/// 10M-event fill is long; the SQLite one is another half hour).
#[derive(Debug, Args)]
pub struct HistoryBenchArgs {
    #[command(flatten)]
    pub store: BenchStoreArgs,
    /// Skip SQLite.
    #[arg(long, conflicts_with = "sqlite_only")]
    pub postgres_only: bool,
}

/// The options of the benchmarks that run on both store backends.
#[derive(Debug, Args)]
pub struct BenchStoreArgs {
    #[arg(long, value_enum, default_value = "small")]
    pub scale: BenchScale,
    /// PostgreSQL to use (default: a throw-away cluster started for the run).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Skip PostgreSQL.
    #[arg(long)]
    pub sqlite_only: bool,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct SodBenchArgs {
    /// small: 10,000 people, ~250,000 grants, 2,000 entitlements, 200 risks; full: 1,000,000 people, ~25,000,000 grants, 50,000 entitlements, 2,000 risks.
    #[arg(long, value_enum, default_value = "small")]
    pub scale: BenchScale,
    /// Where the generated snapshot goes (reused when it holds the same scale and seed); default: a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the generated files (a --dir is always kept).
    #[arg(long)]
    pub keep: bool,
    /// Seed of the generator.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Skip PostgreSQL (about a minute at full scale on 2 cores).
    #[arg(long)]
    pub skip_postgres: bool,
    /// Skip DuckDB (no Python needed; the ratios are then missing).
    #[arg(long)]
    pub skip_duckdb: bool,
    /// Python virtual environment for DuckDB (created, and duckdb installed, when missing); default: $CARGO_TARGET_DIR/bench-venv or target/bench-venv.
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Runs of soxctl from files and of DuckDB (the median is shown; every run must agree).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Threads for DuckDB and PostgreSQL's parallel workers (soxctl uses the available cores, at most 8).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SodPhase {
    /// Read the CSV files, load, compile, analyse.
    Files,
    /// Load untimed, then time analysis, incremental changes and simulations.
    Loaded,
}

#[derive(Debug, Args)]
pub struct SodRunArgs {
    #[arg(long, value_enum)]
    pub phase: SodPhase,
    /// Snapshot directory with accounts.csv, grants.csv, entitlements.csv (optional) and rules.toml.
    pub dir: PathBuf,
    /// Incremental changes and simulations to time (phase loaded).
    #[arg(long, default_value_t = 20_000)]
    pub rounds: usize,
}
