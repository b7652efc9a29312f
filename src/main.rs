//! The `cordium` binary: parse arguments, run, exit. All work is in the library.

fn main() -> std::process::ExitCode {
    cordium::cli::run()
}
