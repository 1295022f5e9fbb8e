//! Checks a policies document as `soxctl policies load` will:
//! `cargo run -p soxctl-policy --example check -- policies/approvals.toml`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check FILE");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    match soxctl_policy::PolicySet::parse(&text) {
        Ok((_, warnings)) => {
            for w in &warnings {
                println!("warning: {w}");
            }
            println!("{path}: valid ({} warning(s))", warnings.len());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{}", soxctl_policy::render_errors(&errors));
            ExitCode::FAILURE
        }
    }
}
