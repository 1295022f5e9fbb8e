//! The systems and their entitlements: uneven reach and Zipf popularity with
//! the sensitive families in the tail, the shape accounts and rules are drawn from.

use super::{Config, Rng};

/// Entitlement families: index `i` of a system is `FAMILIES[i % 10]_<i / 10>`.
pub(super) const FAMILIES: [&str; 10] = [
    "VENDOR", "PAY", "GL", "AP", "AR", "HR", "INV", "USER", "ADMIN", "VIEW",
];
/// Families whose members may be popular (read-only access).
pub(super) const BENIGN: [usize; 2] = [7, 9];
const SYSTEM_NAMES: [&str; 25] = [
    "ad",
    "erp",
    "sap",
    "workday",
    "salesforce",
    "netsuite",
    "oracle_gl",
    "coupa",
    "concur",
    "adp",
    "jira",
    "github",
    "aws",
    "okta",
    "servicenow",
    "snowflake",
    "tableau",
    "kyriba",
    "blackline",
    "anaplan",
    "zuora",
    "billcom",
    "expensify",
    "gusto",
    "hubspot",
];

pub(super) struct System {
    pub(super) name: String,
    /// Share of people with an account here.
    pub(super) reach: f64,
    /// Entitlement ids by index.
    pub(super) entitlements: Vec<String>,
    /// Popularity rank → entitlement index.
    pub(super) by_rank: Vec<u32>,
    /// Cumulative Zipf weights over ranks, ending at 1.
    pub(super) cdf: Vec<f64>,
}

impl System {
    pub(super) fn draw(&self, rng: &mut Rng) -> u32 {
        let u = rng.unit();
        let rank = self
            .cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1);
        self.by_rank[rank]
    }

    /// Ranks below this are the popular, read-only entitlements.
    pub(super) fn hot(&self) -> usize {
        (self.entitlements.len() / 20).clamp(1, 30)
    }
}

pub(super) fn systems(config: &Config, rng: &mut Rng) -> Vec<System> {
    let n = config.systems.clamp(1, SYSTEM_NAMES.len());
    // Entitlements per system: uneven, every system gets at least 10.
    let weights: Vec<f64> = (0..n).map(|s| 1.0 / (1.0 + 0.15 * s as f64)).collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| ((config.entitlements as f64 * w / total) as usize).max(10))
        .collect();
    let assigned: usize = sizes.iter().sum();
    if let Some(last) = sizes.last_mut() {
        *last = (*last + config.entitlements)
            .saturating_sub(assigned)
            .max(10);
    }
    // Reach: the directory ~97 %, the rest decaying, ~1.5 accounts more.
    let tail: Vec<f64> = (1..n).map(|s| 1.0 / (1.0 + 0.3 * (s - 1) as f64)).collect();
    let tail_total: f64 = tail.iter().sum::<f64>().max(1e-9);
    let target = if n > 1 { 1.5 } else { 0.0 };
    (0..n)
        .map(|s| {
            let reach = match s {
                0 => 0.97,
                _ => (tail[s - 1] * target / tail_total).min(0.85),
            };
            let size = sizes[s];
            let entitlements: Vec<String> = (0..size)
                .map(|i| format!("{}_{:04}", FAMILIES[i % 10], i / 10))
                .collect();
            let mut benign: Vec<u32> = (0..size as u32)
                .filter(|i| BENIGN.contains(&(*i as usize % 10)))
                .collect();
            shuffle(&mut benign, rng);
            let hot = (size / 20).clamp(1, 30).min(benign.len());
            let mut by_rank: Vec<u32> = benign[..hot].to_vec();
            let mut rest: Vec<u32> = (0..size as u32).filter(|i| !by_rank.contains(i)).collect();
            shuffle(&mut rest, rng);
            by_rank.extend(rest);
            let mut cdf = Vec::with_capacity(size);
            let mut sum = 0.0;
            for r in 0..size {
                sum += 1.0 / (r + 1) as f64;
                cdf.push(sum);
            }
            for c in &mut cdf {
                *c /= sum;
            }
            System {
                name: SYSTEM_NAMES[s].to_owned(),
                reach,
                entitlements,
                by_rank,
                cdf,
            }
        })
        .collect()
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}
