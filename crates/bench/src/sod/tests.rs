//! The bench's correctness check: soxctl's pairs against a brute-force
//! evaluation written from the semantics alone, and the SQL (on
//! PostgreSQL and DuckDB) against soxctl on the scenario corpus and a
//! generated organisation.

use super::generate::generate;
use super::pairs::{agreement, pair_hash};
use super::peers::{run_duckdb, run_postgres};
use super::phases::{phase_files, phase_loaded};
use super::sql::{glob_to_like, write_sql_inputs};
use super::{DUCKDB_VERSION, synth};
use sha2::{Digest, Sha256};
use soxctl_sod::rules::Member;
use soxctl_sod::{Item, RuleSet};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

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
