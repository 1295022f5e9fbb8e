//! The peers soxctl is measured against: DuckDB in a pinned Python venv and
//! a throw-away PostgreSQL cluster, each running the same SQL on the same files.

use super::pairs::pair_hash;
use super::sql::PAIRS_SQL;
use super::{DUCKDB_VERSION, say};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

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

pub(super) fn default_venv() -> PathBuf {
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
