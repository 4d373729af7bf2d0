//! Downloading the official release tarball over HTTPS.
//!
//! Integrity rests on the pinned SHA-256, not on the transport: the bytes are hashed while they
//! stream into a temp file beside the destination, and only a file whose hash matches is renamed
//! into the cache. A failed, truncated or wrong download leaves the cache as it was.

use std::path::PathBuf;
use std::time::Duration;

use super::cache::{self, OfficialTarball, StageError, OFFICIAL_XZ};
use super::{hash, DownloadFailure, UpstreamError};

/// Connecting (including TLS) should take seconds; a minute means the network is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence tolerated between two reads, so a stalled transfer fails instead of hanging.
/// There is deliberately no limit on the whole transfer: slow links are fine while bytes flow.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What to download and where to put it. [`Default`] is the official `.tar.xz` into
/// [`cache_dir`](super::cache_dir); tests and mirrors override `url` (and the hash with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Address of the tarball (`https://…`; plain `http://` works too, the hash guards the bytes).
    pub url: String,
    /// SHA-256 the downloaded bytes must have (hex, either case).
    pub expected_sha256: String,
    /// Cache folder; `None` means [`cache_dir`](super::cache_dir).
    pub cache: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            url: OFFICIAL_XZ.url.to_owned(),
            expected_sha256: OFFICIAL_XZ.sha256.to_owned(),
            cache: None,
        }
    }
}

/// Download `opts.url` into the cache, verify it against `opts.expected_sha256` and install it
/// atomically as `upstream/Python-3.4.9.tar.xz` (or `.tgz` when the URL names a gzip tarball).
/// Returns the installed path. When that file is already there with the right hash, nothing is
/// downloaded. `progress(done, total)` is called as bytes arrive; `total` is the announced size.
pub fn fetch(
    opts: &FetchOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<PathBuf, UpstreamError> {
    let cache = match &opts.cache {
        Some(dir) => dir.clone(),
        None => cache::cache_dir()?,
    };
    let expected = opts.expected_sha256.to_ascii_lowercase();
    let dir = cache::upstream_dir(&cache);
    let dest = dir.join(OfficialTarball::for_name(&opts.url).file_name);
    if dest.is_file() && hash::sha256_file(&dest).is_ok_and(|h| h == expected) {
        log::info!("{} is already installed and verified", dest.display());
        return Ok(dest);
    }

    let failed = |source| UpstreamError::Download {
        url: opts.url.clone(),
        source,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(READ_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .user_agent(concat!("portlib/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent
        .get(&opts.url)
        .call()
        .map_err(|e| failed(DownloadFailure::Request(Box::new(e))))?;
    let total = response.body().content_length();
    progress(0, total);
    let mut body = response.body_mut().as_reader();
    let staged =
        cache::stage(&dir, &mut body, &mut |done| progress(done, total)).map_err(|e| match e {
            StageError::Read(e) => failed(DownloadFailure::Body(e)),
            StageError::Write(path, e) => UpstreamError::io(path, e),
        })?;
    if let Some(total) = total.filter(|&t| t != staged.len) {
        return Err(failed(DownloadFailure::Truncated {
            received: staged.len,
            expected: total,
        }));
    }
    if staged.sha256 != expected {
        return Err(failed(DownloadFailure::HashMismatch {
            expected,
            actual: staged.sha256,
        }));
    }
    staged.commit(&dest)?;
    log::info!("downloaded {} to {}", opts.url, dest.display());
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_official_xz() {
        let d = FetchOptions::default();
        assert!(d.url.starts_with("https://") && d.url.ends_with("/Python-3.4.9.tar.xz"));
        assert_eq!(d.expected_sha256, OFFICIAL_XZ.sha256);
    }
}
