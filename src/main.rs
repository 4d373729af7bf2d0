//! The `portlib` binary: argument parsing, progress display and exit codes. All work is done by
//! the `portlib` library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
