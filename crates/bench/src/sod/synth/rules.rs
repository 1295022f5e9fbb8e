//! The synthetic rule file: functions of references, patterns and all-of
//! groups aimed at the sensitive tail, so violations exist at every scale.

use std::fmt::Write as _;

use super::systems::{BENIGN, FAMILIES, System};
use super::{Config, Rng};

const PROCESSES: [&str; 5] = ["P2P", "O2C", "R2R", "H2R", "ITGC"];
const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The rule file, and how many functions it has.
pub(super) fn rules(config: &Config, systems: &[System], rng: &mut Rng) -> (String, usize) {
    let functions = (config.risks * 2 / 5).max(4);
    let mut text = String::from(
        "# Synthetic rules (soxctl-bench sod): references, patterns and all-of groups.\n\n",
    );
    for f in 0..functions {
        let home = rng.below(systems.len());
        let mut items = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let s = if rng.chance(0.1) {
                rng.below(systems.len())
            } else {
                home
            };
            items.push(item(&systems[s], rng));
        }
        let _ = writeln!(
            text,
            "[[function]]\nid = \"F{f:04}\"\nname = \"Function {f}\"\nentitlements = [{}]\n",
            items.join(", ")
        );
    }
    for r in 0..config.risks {
        let count = if rng.chance(0.2) { 3 } else { 2 };
        let mut chosen: Vec<usize> = Vec::with_capacity(count);
        while chosen.len() < count.min(functions) {
            let f = rng.below(functions);
            if !chosen.contains(&f) {
                chosen.push(f);
            }
        }
        let list: Vec<String> = chosen.iter().map(|f| format!("\"F{f:04}\"")).collect();
        let _ = writeln!(
            text,
            "[[risk]]\nid = \"R{r:05}\"\nname = \"Risk {r}\"\nseverity = \"{}\"\nprocess = \"{}\"\nfunctions = [{}]\n",
            SEVERITIES[rng.below(SEVERITIES.len())],
            PROCESSES[rng.below(PROCESSES.len())],
            list.join(", ")
        );
    }
    (text, functions)
}

/// A sensitive entitlement of the system's tail, by index.
fn tail_index(sys: &System, rng: &mut Rng, ranks: usize) -> usize {
    let hot = sys.hot();
    let top = ranks.clamp(hot + 1, sys.by_rank.len().max(hot + 1));
    for _ in 0..16 {
        let rank = hot + rng.below(top - hot);
        let index = sys.by_rank.get(rank).copied().unwrap_or(0) as usize;
        if !BENIGN.contains(&(index % 10)) {
            return index;
        }
    }
    0
}

fn item(sys: &System, rng: &mut Rng) -> String {
    let all = sys.entitlements.len();
    let reference = |i: usize| {
        format!(
            "\"{}:{}\"",
            sys.name,
            sys.entitlements.get(i).map_or("", String::as_str)
        )
    };
    match rng.below(100) {
        // A reference to something the system does not have (a warning).
        0 => format!("\"{}:LEGACY_{}\"", sys.name, rng.below(1000)),
        1..=71 => reference(tail_index(sys, rng, all)),
        72..=85 => {
            let i = tail_index(sys, rng, all);
            let digits = format!("{:04}", i / 10);
            let family = FAMILIES[i % 10];
            let pattern = match rng.below(3) {
                0 => format!("{family}_{}*", &digits[..2]),
                1 => format!("{family}_{}*", &digits[..3]),
                _ => format!("{family}_{}?{}", &digits[..2], &digits[3..]),
            };
            format!("\"{}:{pattern}\"", sys.name)
        }
        _ => {
            // Members among the moderately popular, so groups are held.
            let members: Vec<String> = (0..2 + rng.below(2))
                .map(|_| reference(tail_index(sys, rng, sys.hot() + 150)))
                .collect();
            format!("{{ all = [{}] }}", members.join(", "))
        }
    }
}
