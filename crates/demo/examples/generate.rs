//! Writes a demo snapshot: `cargo run -p soxctl-demo --example generate -- DIR [SEED] [PEOPLE]`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "soxctl-demo".into()));
    let seed = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let people = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(soxctl_demo::DEFAULT_PEOPLE);
    // A fixed instant keeps the example reproducible; callers pass their own.
    let as_of = chrono::DateTime::parse_from_rfc3339("2025-06-30T17:00:00Z")?.to_utc();
    let cfg = soxctl_demo::DemoConfig {
        seed,
        people,
        as_of,
    };
    let summary = soxctl_demo::generate(&cfg, &out)?;
    println!("{summary:#?}");
    Ok(())
}
