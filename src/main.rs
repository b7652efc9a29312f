//! The `cordium` binary: parse arguments, run, exit. All work is in the library.

/// jemalloc, which hands freed memory back to the system as it goes (set in
/// `.cargo/config.toml`: `dirty_decay_ms:0,muzzy_decay_ms:0`). With glibc's allocator a 50k plan
/// peaked at 12.8x the config's size (what its listing and diff free between long-lived
/// objects stays resident), with this one 9.9x, and plan and validate take about a third less
/// CPU (docs/performance.md). Not on MSVC, which jemalloc does not support.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    cordium::cli::run()
}
