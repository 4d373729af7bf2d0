//! `portlib upstream`: get CPython 3.4.9 into the cache and see which source portlib would use.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use portlib::upstream::{self, FetchOptions, OfficialTarball, Upstream, OFFICIAL_TARBALLS};

use super::{Global, Outcome};

/// Arguments of `portlib upstream`.
#[derive(Debug, Args)]
pub struct UpstreamArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Download the official Python-3.4.9.tar.xz, check its pinned SHA-256 and install it in
    /// the user cache ($PORTLIB_CACHE, else the platform cache folder + portlib).
    Fetch {
        /// Install this already-downloaded official tarball instead of downloading (for
        /// machines without internet). It must match one of the pinned hashes.
        #[arg(long, value_name = "FILE", conflicts_with = "url")]
        from: Option<PathBuf>,
        /// Download from this address instead (a mirror). The file must still be the official
        /// tarball: a URL ending in .tgz is checked against the .tgz hash, any other against
        /// the .tar.xz hash.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Print where the CPython source is found (--cpython / PORTLIB_CPYTHON, else the cache).
    Path,
    /// Open the CPython source, read all of Lib/ and print how many files it holds.
    Verify,
}

impl UpstreamArgs {
    /// Run the chosen action.
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        match self.action {
            Action::Fetch { from, url } => fetch(global, from, url),
            Action::Path => {
                let found = Upstream::locate(global.cpython.as_deref())?;
                writeln!(std::io::stdout(), "{}", found.origin().display())?;
                Ok(Outcome::Ok)
            }
            Action::Verify => verify(global),
        }
    }
}

fn fetch(global: &Global, from: Option<PathBuf>, url: Option<String>) -> anyhow::Result<Outcome> {
    let cache = upstream::cache_dir()?;
    let installed = match from {
        Some(file) => upstream::install_tarball(&file, &cache)?,
        None => {
            let opts = match url {
                Some(url) => FetchOptions {
                    expected_sha256: OfficialTarball::for_name(&url).sha256.to_owned(),
                    url,
                    cache: Some(cache),
                },
                None => FetchOptions {
                    cache: Some(cache),
                    ..FetchOptions::default()
                },
            };
            download(global, &opts)?
        }
    };
    if !global.quiet {
        eprintln!("installed and verified");
    }
    writeln!(std::io::stdout(), "{}", installed.display())?;
    Ok(Outcome::Ok)
}

/// `upstream::fetch` with a byte progress bar when stderr is a terminal.
fn download(global: &Global, opts: &FetchOptions) -> anyhow::Result<PathBuf> {
    if !global.quiet {
        eprintln!("downloading {}", opts.url);
    }
    if !global.show_progress() {
        return Ok(upstream::fetch(opts, &mut |_, _| {})?);
    }
    let bar = indicatif::ProgressBar::no_length();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .context("progress bar template")?,
    );
    let result = upstream::fetch(opts, &mut |done, total| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    });
    bar.finish_and_clear();
    Ok(result?)
}

/// How many `.py` files CPython 3.4.9's `Lib/` holds; fewer or more means another version or an
/// incomplete copy, and patches would not apply.
const PY_FILES_IN_3_4_9: usize = 1505;

fn verify(global: &Global) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let found = Upstream::locate(global.cpython.as_deref())?;
    let elapsed = start.elapsed();
    let total = found.paths().count();
    let py = found.paths().filter(|p| p.ends_with(".py")).count();
    writeln!(
        std::io::stdout(),
        "{}: {total} files in Lib/, {py} of them .py",
        found.origin().display()
    )?;
    if found.origin().is_file() {
        let sha = upstream::sha256_file(found.origin())
            .with_context(|| format!("hashing {}", found.origin().display()))?;
        match OFFICIAL_TARBALLS.iter().find(|t| t.sha256 == sha) {
            Some(t) => writeln!(
                std::io::stdout(),
                "sha256 {sha}: the official {}",
                t.file_name
            )?,
            None => writeln!(
                std::io::stdout(),
                "sha256 {sha}: not an official release tarball (a repack?)"
            )?,
        }
    }
    if !global.quiet {
        eprintln!("read in {:.2} s", elapsed.as_secs_f64());
    }
    if py != PY_FILES_IN_3_4_9 {
        eprintln!(
            "problem: CPython 3.4.9's Lib/ has {PY_FILES_IN_3_4_9} .py files, this one {py}: \
             it is another version or an incomplete copy. Point --cpython at a complete 3.4.9 \
             source, or run `portlib upstream fetch`"
        );
        return Ok(Outcome::Problems);
    }
    Ok(Outcome::Ok)
}
