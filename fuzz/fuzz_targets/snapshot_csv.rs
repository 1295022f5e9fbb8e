//! Snapshot files are user input: any bytes in any of the files must give a
//! parsed snapshot or a located error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soxctl_connectors::snapshot;

const FILES: &[&str] = &[
    "people.csv", "systems.csv", "entitlements.csv", "accounts.csv", "grants.csv", "roles.csv",
    "role_entitlements.csv", "manifest.toml",
];

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    // 0xFF separates the files, in the order above.
    for (name, content) in FILES.iter().zip(data.split(|b| *b == 0xFF)) {
        std::fs::write(dir.path().join(name), content).expect("write");
    }
    if let Ok(snap) = snapshot::read(dir.path()) {
        let _ = snapshot::validate_references(&snap, &Default::default());
    }
});
