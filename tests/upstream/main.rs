//! Integration tests for `portlib::upstream` and `portlib upstream`: opening sources (the shared
//! CPython tarball, folders, archives built here), installing and fetching tarballs (served from
//! a local HTTP server), and the CLI.

mod cli;
mod fetch;
mod install;
mod open;
mod support;
