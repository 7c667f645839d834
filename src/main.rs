//! The `prompteval` binary: all of it lives in the library's `cli` module.

/// mimalloc instead of the system allocator: scoring and reading records allocate many
/// small strings, and it made the text-metric benchmark (`scripts/bench-score.sh`) about
/// 10–15% faster on this machine.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (`mi_option_e` in its v3 `mimalloc.h`, which
/// the `libmimalloc-sys` crate does not export).
const ARENA_EAGER_COMMIT: std::ffi::c_int = 4;

extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Commits mimalloc's arena as it is used instead of all at once. By default on Linux
/// mimalloc commits its first arena eagerly, and then freed memory is only reset, not
/// returned, so the peak resident memory follows the allocation history rather than the
/// live heap: the 20,000-cell benchmark peaked at 51 MB with this off and 34 MB with it
/// on, in the same time (issue 19; its live heap is 14 MB). The arena is reserved at the
/// first allocation, which happens before `main`, so this runs as a constructor: after
/// mimalloc's own (priority 101), before the Rust runtime allocates.
extern "C" fn commit_arena_lazily() {
    // SAFETY: mi_option_set only stores the value; every option index is valid.
    unsafe { mi_option_set(ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[link_section = ".init_array"]
static COMMIT_ARENA_LAZILY: extern "C" fn() = commit_arena_lazily;

fn main() -> std::process::ExitCode {
    prompteval::cli::main()
}

#[cfg(test)]
mod tests {
    extern "C" {
        fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    }

    /// Issue 19: the arena is committed lazily (the option is set before the first
    /// allocation, so it holds for the whole process).
    #[test]
    fn arena_is_committed_lazily() {
        // SAFETY: mi_option_get only reads an option.
        assert_eq!(unsafe { mi_option_get(super::ARENA_EAGER_COMMIT) }, 0);
    }
}
