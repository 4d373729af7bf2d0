//! Raw mode for the host terminal during `portlib repl`: every key goes to the board as typed
//! (Ctrl-C included), and the board's escape sequences are shown as such. Restored on drop.

/// Holds the terminal in raw mode until dropped. Does nothing when stdin is not a terminal.
#[cfg(unix)]
pub struct RawMode(Option<nix::sys::termios::Termios>);

#[cfg(unix)]
impl RawMode {
    /// Switch stdin's terminal to raw mode.
    pub fn enable() -> RawMode {
        use nix::sys::termios::{self, SetArg};
        use std::os::fd::AsRawFd;
        let fd = std::io::stdin().as_raw_fd();
        let Ok(saved) = termios::tcgetattr(fd) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        if termios::tcsetattr(fd, SetArg::TCSANOW, &raw).is_err() {
            return RawMode(None);
        }
        RawMode(Some(saved))
    }
}

#[cfg(unix)]
impl Drop for RawMode {
    fn drop(&mut self) {
        use nix::sys::termios::{self, SetArg};
        use std::os::fd::AsRawFd;
        if let Some(saved) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_raw_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Holds the console in raw mode until dropped: saved (input, output) modes.
#[cfg(windows)]
pub struct RawMode(Option<(u32, u32)>);

#[cfg(windows)]
impl RawMode {
    /// Switch the console to character input without echo or Ctrl-C processing, with VT
    /// sequences both ways (arrow keys in, ANSI/OSC out).
    pub fn enable() -> RawMode {
        use windows_sys::Win32::System::Console::{
            GetConsoleMode, GetStdHandle, SetConsoleMode, ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT,
            ENABLE_PROCESSED_INPUT, ENABLE_VIRTUAL_TERMINAL_INPUT,
            ENABLE_VIRTUAL_TERMINAL_PROCESSING, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
        };
        // SAFETY: console handles from GetStdHandle and a valid pointer to a local.
        unsafe {
            let (hin, hout) = (
                GetStdHandle(STD_INPUT_HANDLE),
                GetStdHandle(STD_OUTPUT_HANDLE),
            );
            let (mut inp, mut out) = (0u32, 0u32);
            if GetConsoleMode(hin, &mut inp) == 0 || GetConsoleMode(hout, &mut out) == 0 {
                return RawMode(None);
            }
            let raw_in = (inp & !(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT | ENABLE_PROCESSED_INPUT))
                | ENABLE_VIRTUAL_TERMINAL_INPUT;
            if SetConsoleMode(hin, raw_in) == 0 {
                return RawMode(None);
            }
            SetConsoleMode(hout, out | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
            RawMode(Some((inp, out)))
        }
    }
}

#[cfg(windows)]
impl Drop for RawMode {
    fn drop(&mut self) {
        use windows_sys::Win32::System::Console::{
            GetStdHandle, SetConsoleMode, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
        };
        if let Some((inp, out)) = self.0 {
            // SAFETY: as in `enable`.
            unsafe {
                SetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), inp);
                SetConsoleMode(GetStdHandle(STD_OUTPUT_HANDLE), out);
            }
        }
    }
}

/// No raw mode on other systems: keys arrive line by line after Enter.
#[cfg(not(any(unix, windows)))]
pub struct RawMode;

#[cfg(not(any(unix, windows)))]
impl RawMode {
    /// Nothing to switch.
    pub fn enable() -> RawMode {
        RawMode
    }
}
