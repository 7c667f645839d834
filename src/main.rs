//! The `prompteval` binary: all of it lives in the library's `cli` module.

/// mimalloc instead of the system allocator: scoring and reading records allocate many
/// small strings, and it made the text-metric benchmark (`scripts/bench-score.sh`) about
/// 10–15% faster on this machine.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    prompteval::cli::main()
}
