//! `soxctl-bench`: soxctl's benchmarks, kept out of the shipped binary.
//! Each prints a results table (or JSON) with the peers it is compared
//! against measured in the same run; the figures go in docs/BENCHMARKS.md.

mod args;
mod gate;
mod history;
mod import;
mod ledger;
mod sod;
mod support;

use args::{Cli, Command};
use clap::Parser;
use soxctl::exit::{CmdResult, Exit};
use std::process::ExitCode;

// The allocator `soxctl` runs with, so that an import is measured as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    soxctl::tune_allocator();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOXCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // The SoD phases run alone, without a runtime, so their peak memory is
    // their own.
    let result = match cli.command {
        Command::Sod(args) => sod::run(args),
        Command::SodRun(args) => sod::run_phase(args),
        command => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(run(command)),
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            e.code.into()
        }
    }
}

async fn run(command: Command) -> CmdResult {
    match command {
        Command::Ledger(args) => ledger::run(args).await,
        Command::Import(args) => Ok(import::run(args).await.map(|()| Exit::Ok)?),
        Command::History(args) => Ok(history::run(args).await.map(|()| Exit::Ok)?),
        Command::Gate(args) => gate::run(args).await,
        Command::Sod(args) => sod::run(args),
        Command::SodRun(args) => sod::run_phase(args),
    }
}
