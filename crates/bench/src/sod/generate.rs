//! The generated snapshot on disk: written once per configuration and seed,
//! and reused by later runs while its manifest still matches.

use super::{say, synth};
use crate::args::BenchScale;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

/// Bumped when the generator's output changes, so old directories are redone.
const GENERATOR_VERSION: u32 = 2;
const MANIFEST: &str = "bench-sod.json";

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

pub(super) fn config(scale: BenchScale, seed: u64) -> synth::Config {
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
