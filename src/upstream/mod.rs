//! Locating, reading and verifying CPython 3.4.9's `Lib/`.
