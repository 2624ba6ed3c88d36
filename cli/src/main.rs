//! The `corsguard` binary: see the library's `main`.

fn main() -> std::process::ExitCode {
    corsguard_cli::main()
}
