//! The one error type of the board layer. Every variant says what went wrong on which port or
//! path and, where the user can do something about it, what to do.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while talking to a board.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// A read hit its overall deadline before the expected bytes arrived.
    #[error(
        "timed out after {:.1} s waiting for {waiting_for} on {port}; last bytes received: {received:?}. \
         Is the board busy running code, in safe mode, or held by another program? \
         Press reset and try again",
        elapsed.as_secs_f64()
    )]
    Timeout {
        /// What the host was waiting for (a banner, `OK`, the end of the output, ...).
        waiting_for: &'static str,
        /// The port or transport description.
        port: String,
        /// How long the host waited.
        elapsed: Duration,
        /// The tail of what did arrive, for diagnosis.
        received: String,
    },

    /// An I/O error on the serial port.
    #[error("I/O error on {port}: {source}")]
    Io {
        /// The port.
        port: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The serial port could not be opened or configured.
    #[error("cannot open serial port {port}: {source}. Check that it exists and that no other program (a terminal, an editor, another portlib) holds it")]
    Open {
        /// The port.
        port: String,
        /// The serialport crate's error.
        #[source]
        source: serialport::Error,
    },

    /// Refused to open a port at 1200 baud: opening and closing a SAMD board's CDC port at that
    /// rate drops the board into its UF2 bootloader.
    #[error("refusing to open {port} at {baud} baud: 1200 baud is the 'touch' that resets SAMD boards into the bootloader; use 115200")]
    ForbiddenBaud {
        /// The port.
        port: String,
        /// The rejected rate.
        baud: u32,
    },

    /// The port or device went away (USB re-enumeration after a reset, cable pulled).
    #[error("{port} disconnected; the board probably reset or was unplugged. Reconnect and retry")]
    Disconnected {
        /// The port.
        port: String,
    },

    /// The board answered something other than the protocol requires.
    #[error("protocol error on {port} while {during}: expected {expected}, got {got:?}")]
    Protocol {
        /// The port.
        port: String,
        /// What the host was doing.
        during: &'static str,
        /// What the protocol requires.
        expected: &'static str,
        /// What came instead (lossy text).
        got: String,
    },

    /// Code that portlib sent for an operation raised an exception on the board.
    #[error("{operation} failed on the board:\n{traceback}")]
    Remote {
        /// The operation (`listdir /lib`, `write /lib/x.mpy`, ...).
        operation: String,
        /// The board's traceback text.
        traceback: String,
    },

    /// The board's filesystem is read-only to Python (CircuitPython's default).
    #[error(
        "cannot write {path}: the board's filesystem is read-only to Python (OSError 30, EROFS). \
         On CircuitPython the drive belongs to the USB host by default. Either copy through the \
         CIRCUITPY drive (--board <drive path>), or put these lines in CIRCUITPY/boot.py and \
         hard-reset the board (press reset; boot.py does not run on a soft reboot):\n\
         \n    import storage\n    storage.remount(\"/\", readonly=False)\n\n\
         (the drive then becomes read-only for the computer; delete boot.py from the REPL with \
         `import os; os.remove(\"/boot.py\")` and reset to undo)"
    )]
    ReadOnlyFs {
        /// The path being written.
        path: String,
    },

    /// A file or folder does not exist on the board.
    #[error("{path}: no such file or directory on the board")]
    NotFound {
        /// The path.
        path: String,
    },

    /// The board's filesystem is full.
    #[error("cannot write {path}: no space left on the board's filesystem (OSError 28). Remove files or deploy fewer modules")]
    NoSpace {
        /// The path being written.
        path: String,
    },

    /// A path given for the board cannot be used there.
    #[error("bad board path {path:?}: {problem}")]
    BadRemotePath {
        /// The path.
        path: String,
        /// Why it is rejected.
        problem: &'static str,
    },

    /// Output of one of portlib's own helper snippets could not be understood.
    #[error("unexpected reply to {operation}: {reply:?}")]
    BadReply {
        /// The operation.
        operation: String,
        /// The reply text.
        reply: String,
    },

    /// After writing a file, its content on the board did not hash to what was sent.
    #[error("verification failed for {path}: wrote SHA-256 {expected}, board has {actual}. The file was kept under its temporary name; retry the copy")]
    VerifyFailed {
        /// The path.
        path: String,
        /// The host's digest (hex).
        expected: String,
        /// The board's digest (hex).
        actual: String,
    },

    /// A file operation on a mounted board drive failed.
    #[error("{path}: {source}")]
    Drive {
        /// The local path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// `boot_out.txt` is missing a line portlib needs.
    #[error("{path}: {problem}; is this a CircuitPython drive?")]
    BootOut {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: &'static str,
    },

    /// Serial-port enumeration failed.
    #[error("cannot list serial ports: {source}")]
    Enumerate {
        /// The serialport crate's error.
        #[source]
        source: serialport::Error,
    },

    /// `--board auto` found nothing.
    #[error("no board found: no USB serial port and no CircuitPython drive is present. Plug the board in, or name it with --board PORT|DRIVE")]
    NoBoard,

    /// `--board auto` found several boards.
    #[error("several boards found; choose one with --board:\n{}", candidates.join("\n"))]
    Ambiguous {
        /// One line per candidate.
        candidates: Vec<String>,
    },

    /// `--board X` names neither a serial port nor a board drive.
    #[error("--board {spec}: not a serial port or a folder holding boot_out.txt. Known boards:\n{}", known.join("\n"))]
    UnknownBoard {
        /// The spec given.
        spec: String,
        /// One line per board found.
        known: Vec<String>,
    },
}

/// The board layer's result type.
pub type Result<T, E = BoardError> = std::result::Result<T, E>;

impl BoardError {
    /// Whether portlib's own code ran out of heap on the board: the usual sign that a program
    /// run before (`portlib run`, a REPL session) still holds the heap, which a soft reset frees.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            BoardError::Remote { traceback, .. } => traceback
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with("MemoryError")),
            _ => false,
        }
    }
}

/// Lossy text of the last `max` bytes of `bytes`, for error messages.
pub(crate) fn tail_text(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}
