//! The `soxctl` command line as a library: the binary (`main.rs`) and the
//! benchmark harness (`soxctl-bench`) share its output formats, exit codes
//! and allocator tuning.

mod cli;
mod client;
mod commands;
mod config;
pub mod exit;
pub mod output;
mod store_args;

use clap::Parser;
use std::process::ExitCode;

// mimalloc's `mi_version`, `mi_option_set` and the numbers of the two options set below
// (`mi_option_e` in its v3 `mimalloc.h`; the `mimalloc` crate does not
// export them without pulling in another crate).
unsafe extern "C" {
    safe fn mi_version() -> std::ffi::c_int;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}
const MI_OPTION_PURGE_DECOMMITS: std::ffi::c_int = 5;
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// By default mimalloc gives memory unused for a second back to the
/// kernel with `MADV_DONTNEED`; a large import frees and allocates again
/// gigabytes between its phases, and the kernel then zeroed every page
/// again on its next touch (`clear_page_erms`: 17% of the CPU time of the
/// import benchmark, 7 s). Purged memory is now marked `MADV_FREE` (the
/// kernel takes it back under memory pressure only, and a page not taken
/// is reused as it is) and only after 10 s unused.
pub fn tune_allocator() {
    // The numbers are those of v3 (3.x reports 300-399): another major
    // version keeps its defaults rather than get a wrong option set.
    if !(300..400).contains(&mi_version()) {
        return;
    }
    // SAFETY: setting an option is a plain store into mimalloc's option
    // table, valid at any time and from any thread; both numbers are
    // options of the linked mimalloc v3 (`libmimalloc-sys` 0.1.49).
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0);
        mi_option_set(MI_OPTION_PURGE_DELAY, 10_000);
    }
}

/// Runs one command line; the binary's whole `main`.
pub fn main() -> ExitCode {
    tune_allocator();
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
        // The reader went away (`| head`): what it read is what it wanted.
        Err(e) if reader_gone(&e.error) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote input (an id, a file's line): shown escaped.
            let message = format!("{:#}", e.error);
            eprintln!("error: {}", soxctl_model::text::shown(&message));
            e.code.into()
        }
    }
}

/// Colour only for a person at a terminal: never into a file or a pipe,
/// and never when `NO_COLOR` is set to anything non-empty (no-color.org).
fn colour_on_stderr(no_color: Option<&std::ffi::OsStr>) -> bool {
    use std::io::IsTerminal;
    no_color.is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Whether the error is stdout's reader having closed the pipe.
fn reader_gone(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_logging(format: Option<&str>) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SOXCTL_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr(std::env::var_os("NO_COLOR").as_deref()))
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
