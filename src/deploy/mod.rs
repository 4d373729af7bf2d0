//! `portlib deploy`: make a board's `/lib` hold exactly a bundle's files, sending as little as
//! possible and never leaving a broken file under its real name.
//!
//! The steps, each safe to interrupt:
//! 1. [`Bundle::load`] reads `DIR/manifest.json` and the files beside it, checking each against
//!    the SHA-256 the manifest records (a stale bundle is refused, not half-deployed).
//! 2. [`plan()`] reads the board's [`InstallRecord`] (`/lib/.portlib-manifest.json`) and hashes, in
//!    one batch, every file the bundle or the record names plus their `.portlib-tmp` twins. Files
//!    whose hash differs or that are missing are copied; files portlib installed before that the
//!    bundle no longer has are removed (other files are never touched); leftover temporary files
//!    of an interrupted copy are deleted.
//! 3. [`execute`] first writes an *intent* record naming every file it may create (old ∪ new),
//!    so a run interrupted after copying a file the old record did not know still owns that file
//!    on the next run; then copies (per-file write to a temporary name, hash check, rename, see
//!    [`BoardFs::write_file_atomic`]), removes, and writes the final record last, atomically.
//!
//! Re-running after any interruption therefore converges: the next plan sees what is on the
//! board, not what the previous run meant to do.

mod bundle;
mod execute;
#[cfg(test)]
mod memfs;
mod plan;
mod record;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use bundle::{Bundle, BundleFile, Manifest, ManifestFile};
pub use execute::{execute, Event, Report};
pub use plan::{plan, Copy, CopyReason, Plan};
pub use record::{InstallRecord, RECORD_PATH};

use crate::board::{BoardError, BoardFs};

/// Where deployed files live on the board; the bundle's `lib/` maps onto it.
pub const LIB_DIR: &str = "/lib";

/// Everything that can go wrong in a deploy.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The bundle's manifest could not be read.
    #[error("cannot read the bundle manifest {path}: {cause}. Build the bundle first (portlib build) or name its folder")]
    ManifestRead {
        /// The manifest file.
        path: PathBuf,
        /// The I/O error (in the message, not chained: it would print twice).
        cause: std::io::Error,
    },
    /// The manifest is not the JSON `portlib build` writes.
    #[error("{path}:{line}:{column}: not a bundle manifest: {message}. Rebuild the bundle")]
    ManifestParse {
        /// The manifest file.
        path: PathBuf,
        /// Line of the problem.
        line: usize,
        /// Column of the problem.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A manifest entry names a path deploy cannot put under `/lib`.
    #[error("{manifest}: file entry {path:?}: {problem}")]
    BadBundlePath {
        /// The manifest file.
        manifest: PathBuf,
        /// The entry's path.
        path: String,
        /// Why it is refused.
        problem: &'static str,
    },
    /// A file the manifest lists could not be read.
    #[error("cannot read bundle file {path}: {cause}. The bundle is incomplete; rebuild it")]
    BundleFileRead {
        /// The local file.
        path: PathBuf,
        /// The I/O error (in the message, not chained: it would print twice).
        cause: std::io::Error,
    },
    /// A bundle file's content does not match the manifest (edited or half-built bundle).
    #[error("bundle file {path} does not match its manifest entry ({what}: manifest says {expected}, file has {actual}); rebuild the bundle")]
    BundleMismatch {
        /// The local file.
        path: PathBuf,
        /// `size` or `sha256`.
        what: &'static str,
        /// The manifest's value.
        expected: String,
        /// The file's value.
        actual: String,
    },
    /// Writing a bundle folder ([`Bundle::create`]) failed.
    #[error("cannot write {path}: {cause}")]
    BundleWrite {
        /// The local file or folder.
        path: PathBuf,
        /// The I/O error (in the message, not chained: it would print twice).
        cause: std::io::Error,
    },
    /// The bundle's `.mpy` files are compiled for the other firmware family, whose loader
    /// refuses them (MicroPython wants magic `M`, CircuitPython `C`).
    #[error("{path} is compiled for {compiled_for}, but the board runs {board}, which refuses to import it; rebuild the bundle with `portlib build --target {target}` (or `--format py`)")]
    WrongFirmware {
        /// A bundle file that shows it (board path).
        path: String,
        /// `MicroPython` or `CircuitPython`.
        compiled_for: &'static str,
        /// What the board said it is (`CircuitPython 9.2.1 on Adafruit Metro M4 Express`).
        board: String,
        /// The `--target` the board needs.
        target: &'static str,
    },
    /// A board operation failed.
    #[error(transparent)]
    Board(#[from] BoardError),
}

/// The deploy module's result type.
pub type Result<T, E = DeployError> = std::result::Result<T, E>;

/// Plan and execute in one go (what `portlib deploy` does after opening the board).
pub fn deploy(
    fs: &mut dyn BoardFs,
    bundle: &Bundle,
    events: &mut dyn FnMut(&Event),
) -> Result<Report> {
    let start = std::time::Instant::now();
    let p = plan(fs, bundle)?;
    let mut report = execute(fs, bundle, &p, events)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}
