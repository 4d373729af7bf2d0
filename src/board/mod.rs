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

pub mod discover;
pub mod error;
pub mod fake;
pub mod fs;
pub mod mass_storage;
pub mod ops;
pub mod output;
pub mod raw_repl;
pub mod snippets;
pub mod transport;

pub use error::{BoardError, Result};
pub use fs::{BoardFs, FileHash, RemoteEntry, RemoteStat};
pub use raw_repl::{ExecOutput, RawRepl, Timeouts};
pub use transport::{SerialTransport, Transport, DEFAULT_BAUD};
