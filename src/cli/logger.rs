//! Where the library's `log` records go: stderr, as `warning: …` / `error: …`. Without a logger
//! the library's warnings (a board in safe mode, an unreadable install record that makes deploy
//! keep files it would otherwise remove, an upstream file skipped) were silently dropped.
//!
//! Warnings and errors by default, errors only with `--quiet`; `PORTLIB_LOG=info|debug|trace`
//! shows more (debug and trace name the module they come from).

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = match record.level() {
            Level::Error => format!("error: {}", record.args()),
            Level::Warn => format!("warning: {}", record.args()),
            Level::Info => format!("{}", record.args()),
            Level::Debug | Level::Trace => {
                format!("[{}] {}", record.target(), record.args())
            }
        };
        // A closed stderr is no reason to fail the command.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    fn flush(&self) {}
}

/// The level `PORTLIB_LOG` asks for, if it names one.
fn level_from_env() -> Option<LevelFilter> {
    std::env::var("PORTLIB_LOG").ok()?.trim().parse().ok()
}

/// Install the logger once, at start-up.
pub fn init(quiet: bool) {
    let level = match level_from_env() {
        Some(level) => level,
        None if quiet => LevelFilter::Error,
        None => LevelFilter::Warn,
    };
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(level);
    }
}
