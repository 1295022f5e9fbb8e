//! The README's five-minute tour, run as written: the block is taken from
//! README.md and run by bash against a fresh demo store, so the tour and
//! the product cannot drift apart. Only what a test must change is
//! changed: `cargo run --release --` is the binary under test, and the
//! server's port is a free one instead of 8080.

use crate::helpers::{BIN, Sandbox};
use crate::serve::free_port;
use std::process::Command;

const README: &str = include_str!("../../../../README.md");

/// The tour's shell block.
fn tour() -> &'static str {
    let start = README
        .find("## A five-minute tour")
        .expect("the README has a tour");
    let body = &README[start..];
    let open = body.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = body[open..].find("\n```").expect("the block ends");
    &body[open..open + close]
}

#[test]
fn the_readme_tour_runs_as_written() {
    let sb = Sandbox::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // From the root of a clone: the rule file the tour names.
    let rules = sb.path("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::copy(
        root.join("rules/finance-stack.toml"),
        rules.join("finance-stack.toml"),
    )
    .expect("copy the rule file");
    let bin = sb.path("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::os::unix::fs::symlink(BIN, bin.join("soxctl")).expect("link soxctl");

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let script = format!(
        "set -euo pipefail\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n\
         # `cargo run --release -- ARGS` is the binary under test.\n\
         cargo() {{ shift 3; soxctl \"$@\"; }}\n{}\n",
        tour().replace("127.0.0.1:8080", &listen)
    );
    std::fs::write(sb.path("tour.sh"), &script).expect("write the tour");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut bash = Command::new("timeout");
    bash.args(["600", "bash", "tour.sh"])
        .current_dir(sb.path(""))
        .env("PATH", path)
        .env("SOXCTL_LISTEN", &listen)
        .env("SOXCTL_LOG", "warn")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    for (name, _) in std::env::vars() {
        if name.starts_with("SOXCTL_") && name != "SOXCTL_LISTEN" && name != "SOXCTL_LOG" {
            bash.env_remove(name);
        }
    }
    let out = bash.output().expect("bash and timeout (coreutils)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README tour stopped ({:?}):\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
        out.status,
        tail(&stdout),
        tail(&stderr)
    );
    // What the tour says happens, happens.
    for expected in [
        "\"allowed\":true",
        "refused (exit 1): she wrote part of the change",
        "exit 1: the change would create a violation",
    ] {
        assert!(
            stdout.contains(expected),
            "no {expected:?} in:\n{}",
            tail(&stdout)
        );
    }
    for expected in [
        "nothing changed",
        "is approved",
        "erased",
        // The approver named beside the id.
        "awaits approval by E00025 (",
    ] {
        assert!(
            stderr.contains(expected),
            "no {expected:?} in:\n{}",
            tail(&stderr)
        );
    }
    // The README's sample output ("#>" lines) is what the tour printed,
    // but for the "…" parts and the spacing of table columns.
    let printed = collapsed(&format!("{stdout}\n{stderr}"));
    for sample in tour().lines().filter_map(|l| l.strip_prefix("#>")) {
        for part in sample.split('…').map(collapsed).filter(|p| !p.is_empty()) {
            assert!(
                printed.contains(&part),
                "the README shows {sample:?}, but the tour printed no {part:?}"
            );
        }
    }
}

/// `text` with every run of white space one space, trimmed.
fn collapsed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
