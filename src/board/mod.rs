//! Boards: the byte transport, the raw-REPL protocol, file operations, mounted CIRCUITPY drives
//! and discovery.
//!
//! Layers, bottom up:
//! * [`transport::Transport`]: bytes with overall deadlines ([`transport::SerialTransport`],
//!   and the scripted [`fake::FakeTransport`] for tests).
//! * [`raw_repl::RawRepl`]: enter/exec (raw-paste with fallback)/soft reset/leave.
//! * [`ops::SerialBoard`]: file and info operations as small Python snippets run through exec.
//! * [`mass_storage::DriveBoard`]: the same file operations on a mounted CIRCUITPY folder.
//! * [`fs::BoardFs`]: the trait both implement, for `deploy`.
//! * [`discover`]: listing ports and drives, pairing them, resolving `--board`.
//! * [`session::Session`]: a resolved board opened for a command (REPL + drive), with the
//!   hold/copy/finish sequence a deploy needs.
//!
//! A deploy, in outline:
//! ```no_run
//! # fn main() -> Result<(), portlib::board::BoardError> {
//! use portlib::board::{discover, session::Session, BoardFs};
//! let found = discover::discover()?;
//! let board = discover::resolve_board(&discover::parse_spec("auto"), &found)?;
//! let mut s = Session::open(&board)?;
//! s.hold()?; // raw REPL: code.py stopped, CircuitPython auto-reload suspended
//! let fs = s.fs().expect("a port or a drive");
//! fs.check_writable("/")?; // EROFS with the boot.py fix, before copying anything
//! fs.mkdir_p("/lib/json")?;
//! let have = fs.hash_files(&["/lib/json/__init__.mpy".to_string()])?;
//! let data = b"...";
//! if have["/lib/json/__init__.mpy"] != Some(portlib::board::fs::sha256(data)) {
//!     fs.write_file_atomic("/lib/json/__init__.mpy", data)?;
//! }
//! s.finish()?; // sync the drive, leave the raw REPL (fresh VM on CircuitPython)
//! # Ok(()) }
//! ```

pub mod discover;
pub mod error;
pub mod fake;
pub mod fs;
pub mod mass_storage;
pub mod ops;
pub mod output;
pub mod raw_repl;
pub mod session;
pub mod snippets;
pub mod transport;

pub use error::{BoardError, Result};
pub use fs::{BoardFs, FileHash, RemoteEntry, RemoteStat};
pub use raw_repl::{ExecOutput, RawRepl, Timeouts};
pub use session::Session;
pub use transport::{SerialTransport, Transport, DEFAULT_BAUD};
