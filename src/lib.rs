//! portlib: carry CPython 3.4's standard library to MicroPython and CircuitPython boards.
//!
//! The library does all the work; the `portlib` binary (src/main.rs, src/cli/) only parses
//! arguments, draws progress and maps errors to exit codes. Modules:
//!
//! * [`convention`]: the `#`/`###` line convention, its alignment against upstream, and the
//!   unified diffs in `patches/` (pure functions, no I/O).
//! * [`upstream`]: finding, reading, fetching and verifying the CPython 3.4.9 `Lib/` tree.
//! * [`workspace`]: the repository-level operations (checkout, refresh, port, check, status, strip).
//! * [`build`]: the bundle: import closure, compilation (cached, parallel), manifest, zip.
//! * [`mpy`]: the Python → `.mpy` v6.3 compiler and its disassembler (no I/O).
//! * [`crosscheck`]: the compiler compared byte for byte with the reference `mpy-cross`.
//! * [`board`]: transports to a board (serial raw REPL, USB mass storage) behind a trait.
//! * [`deploy`]: incremental, atomic, verified sync of a bundle into a board's `/lib`.
//! * [`testrun`]: test modules run one fresh VM each (host unix port or a board), with
//!   regrtest-shaped, JUnit and JSON reports.
//! * [`memreport`]: the heap each module keeps after its import, measured one fresh VM each.
#![warn(missing_docs)]

pub mod board;
pub mod build;
pub mod convention;
pub mod crosscheck;
pub mod deploy;
pub mod diag;
pub mod fsutil;
pub mod memreport;
pub mod mpy;
pub mod testrun;
pub mod upstream;
pub mod workspace;
