//! The `soxctl` binary: parse the command line, run one command, map its
//! outcome to the exit-code contract (0 ok, 1 check failed, 2 usage or input).

mod cli;
mod client;
mod commands;
mod config;
mod exit;
mod output;
mod store_args;

use clap::Parser;
use std::process::ExitCode;

// glibc's allocator spent about a third of a large import's CPU time in
// malloc and free (consolidating and unlinking chunks of the millions of
// small strings and rows an import makes and drops).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let log_format = cli.log_format.clone();
    if let Err(e) = init_logging(log_format.as_deref()) {
        eprintln!("error: cannot set up logging: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            e.code.into()
        }
    }
}

fn init_logging(format: Option<&str>) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SOXCTL_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        Some("json") => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        Some("text") | None => builder.init(),
        Some(other) => anyhow::bail!("unknown --log-format '{other}': use text or json"),
    }
    Ok(())
}
