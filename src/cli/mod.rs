//! Command-line front end (clap derive). Each subcommand lives in its own file with an `Args`
//! struct and a `run` method; this file only dispatches and maps results to exit codes:
//! 0 success, 1 the command ran and found problems (violations, failed tests), 2 an error kept it
//! from running (bad arguments, missing input, I/O).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod board_args;
mod boards;
mod build;
mod compile;
mod deploy;
mod dis;
mod logger;
mod mem;
mod repl;
mod run;
mod terminal;
mod test;
mod upstream;
mod workspace;

/// Exit status of a subcommand that ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is fine (exit 0).
    Ok,
    /// The command ran and found problems (exit 1).
    Problems,
}

/// Options every subcommand understands.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// CPython 3.4.9 source: a folder (the tree or its `Lib/`), a `.tar.xz` or a `.tgz`.
    /// Defaults to the user cache filled by `portlib upstream fetch`.
    #[arg(long, global = true, env = "PORTLIB_CPYTHON", value_name = "PATH")]
    pub cpython: Option<PathBuf>,

    /// The portlib repository (the folder holding `patches/` and `lib-src/`).
    /// Defaults to the nearest enclosing folder that has `patches/`.
    #[arg(long, global = true, env = "PORTLIB_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Print nothing but errors (warnings are shown otherwise; PORTLIB_LOG=info|debug|trace
    /// shows more).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

impl Global {
    /// Whether to draw progress bars: only on a terminal and when not quiet.
    pub fn show_progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "portlib",
    version,
    about = "Port CPython 3.4's standard library to MicroPython and CircuitPython boards",
    long_about = "portlib keeps a port of CPython 3.4.9's standard library as patches against the \
pristine upstream, compiles it to MicroPython .mpy bytecode, deploys it to a board and runs \
CPython's own tests there.\n\n\
A typical session:\n  \
portlib checkout fnmatch     # render work/fnmatch.py in the #/### convention\n  \
$EDITOR work/fnmatch.py      # comment out upstream lines with '#', add lines ending in ' ###'\n  \
portlib refresh fnmatch      # validate and write patches/fnmatch.py.diff\n  \
portlib check                # every patch applies exactly and is canonical"
)]
struct Cli {
    #[command(flatten)]
    global: Global,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render ported files in the #/### convention into work/ for editing.
    Checkout(workspace::CheckoutArgs),
    /// Validate edited files in work/ and rewrite their patches.
    Refresh(workspace::RefreshArgs),
    /// Start porting an upstream module (pin, empty patch, copy in work/).
    Port(workspace::PortArgs),
    /// Verify that every patch applies exactly, renders validly and is canonical.
    Check(workspace::CheckArgs),
    /// Per file: lines commented out, lines added, unrefreshed edits in work/; with --markdown the
    /// status page (PORT_STATUS.md), joined to test and mem reports.
    Status(workspace::StatusArgs),
    /// Write the effective sources (ported files + lib-src/) to a folder.
    Strip(workspace::StripArgs),
    /// Build the bundle: DIR/lib mirroring a board's /lib (everything ported, or the named
    /// modules and their import closure), DIR/manifest.json, and optionally a reproducible zip.
    Build(build::BuildArgs),
    /// Get CPython 3.4.9 (fetch it into the cache, or install a downloaded tarball), show which
    /// source is used, and check that it reads.
    Upstream(upstream::UpstreamArgs),
    /// Run CPython's test modules, one fresh VM each, and print regrtest's summary
    /// (exit 1 when a module failed, crashed, ran out of memory or timed out).
    Test(test::TestArgs),
    /// Measure the heap each module keeps after its import, one fresh VM per module, as a
    /// table (and JSON, an SVG bar chart, or a comparison with an older JSON).
    Mem(mem::MemArgs),
    /// Disassemble a .mpy v6.3 bytecode file (ours or mpy-cross's) into readable text.
    Dis(dis::DisArgs),
    /// List attached boards: USB serial ports and mounted CircuitPython drives, paired by USB
    /// serial number.
    Boards(boards::BoardsArgs),
    /// Run a Python file on the board, streaming its output; exit status 1 if it raised.
    Run(run::RunArgs),
    /// Open a terminal on the board's REPL (Ctrl-] leaves).
    Repl(repl::ReplArgs),
    /// Sync a bundle into the board's /lib: only changed files are sent, each written under a
    /// temporary name, verified by SHA-256 and renamed; files portlib installed earlier and the
    /// bundle dropped are removed; other files are never touched. Re-run after any interruption.
    Deploy(deploy::DeployArgs),
    /// Compile Python files to .mpy v6.3, byte-identical to mpy-cross 1.29 (or
    /// CircuitPython 10's); errors print as FILE:LINE:COL: SyntaxError: message (exit 1).
    Compile(compile::CompileArgs),
}

/// Parse arguments, run the subcommand, and turn the result into an exit code.
pub fn main() -> ExitCode {
    forget_empty_env();
    let cli = Cli::parse();
    let g = &cli.global;
    logger::init(g.quiet);
    let result: anyhow::Result<Outcome> = match cli.command {
        Command::Checkout(a) => a.run(g),
        Command::Refresh(a) => a.run(g),
        Command::Port(a) => a.run(g),
        Command::Check(a) => a.run(g),
        Command::Status(a) => a.run(g),
        Command::Strip(a) => a.run(g),
        Command::Build(a) => a.run(g),
        Command::Upstream(a) => a.run(g),
        Command::Test(a) => a.run(g),
        Command::Mem(a) => a.run(g),
        Command::Dis(a) => a.run(g),
        Command::Boards(a) => a.run(g),
        Command::Run(a) => a.run(g),
        Command::Repl(a) => a.run(g),
        Command::Deploy(a) => a.run(g),
        Command::Compile(a) => a.run(g),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", error_text(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message
/// already shows (many errors print their I/O cause and also chain it as their source).
fn error_text(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The variables options read (`env = ...`). Set but empty (`export PORTLIB_CPYTHON=` in a CI
/// script) means unset, as for most tools; clap would instead complain that `--cpython` was
/// given no value, an option the user never typed.
const OPTION_VARIABLES: &[&str] = &[
    "PORTLIB_CPYTHON",
    "PORTLIB_ROOT",
    "PORTLIB_BOARD",
    "PORTLIB_MICROPYTHON",
];

fn forget_empty_env() {
    for name in OPTION_VARIABLES {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            // Single-threaded still: nothing else reads the environment concurrently.
            std::env::remove_var(name);
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
