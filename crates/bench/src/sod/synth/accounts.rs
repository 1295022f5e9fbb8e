//! One account and its grants, drawn by the system's popularity; every kind
//! of account (person's, admin, service, shared, orphan) is written through it.

use std::io::{self, Write};

use super::systems::System;
use super::{Files, Rng, Summary};

pub(super) struct Org<'s> {
    pub(super) systems: &'s [System],
    pub(super) per_account: f64,
    pub(super) held: Vec<u32>,
    pub(super) line: Vec<u8>,
}

impl Org<'_> {
    #[allow(clippy::too_many_arguments, reason = "one call site per account kind")]
    pub(super) fn account<W: Write>(
        &mut self,
        files: &mut Files<W>,
        rng: &mut Rng,
        summary: &mut Summary,
        s: usize,
        id: &str,
        person: &str,
        kind: &str,
        disabled: f64,
        grants: f64,
    ) -> io::Result<()> {
        let Some(sys) = self.systems.get(s) else {
            return Ok(());
        };
        let status = if rng.chance(disabled) {
            "disabled"
        } else {
            "active"
        };
        let day = 1 + rng.below(28);
        let mfa = rng.chance(0.9);
        writeln!(
            files.accounts,
            "{},{id},{person},{kind},{status},2026-03-{day:02}T08:00:00Z,{mfa}",
            sys.name
        )?;
        summary.accounts += 1;
        // 1 + uniform over [0, 2m - 1): mean m.
        let mean = self.per_account * grants;
        let n = 1 + (rng.unit() * (2.0 * mean - 1.0).max(0.0)) as usize;
        let n = n.min(sys.entitlements.len());
        self.held.clear();
        let granted = format!(
            ",{}-{:02}-{:02}T00:00:00Z,",
            2018 + rng.below(8),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        for _ in 0..n {
            // Redraw a few times on a repeat; popular ones repeat often.
            let mut e = sys.draw(rng);
            for _ in 0..8 {
                if !self.held.contains(&e) {
                    break;
                }
                e = sys.draw(rng);
            }
            if self.held.contains(&e) {
                continue;
            }
            self.held.push(e);
            // `role:<id>` would need a roles.csv for `soxctl import`.
            let source = "direct";
            let line = &mut self.line;
            line.clear();
            line.extend_from_slice(sys.name.as_bytes());
            line.push(b',');
            line.extend_from_slice(id.as_bytes());
            line.push(b',');
            let name = sys.entitlements.get(e as usize).map_or("", String::as_str);
            line.extend_from_slice(name.as_bytes());
            line.extend_from_slice(granted.as_bytes());
            line.extend_from_slice(source.as_bytes());
            line.push(b'\n');
            files.grants.write_all(line)?;
            summary.grants += 1;
        }
        Ok(())
    }
}
