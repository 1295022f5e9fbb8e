//! The `soxctl` binary: parse the command line, run one command, map its
//! outcome to the exit-code contract (0 ok, 1 check failed, 2 usage or input).

// glibc's allocator spent about a third of a large import's CPU time in
// malloc and free (consolidating and unlinking chunks of the millions of
// small strings and rows an import makes and drops).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    soxctl::main()
}
