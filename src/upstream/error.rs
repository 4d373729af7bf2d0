//! The one error type of the upstream module. Every message ends by telling the user what to do,
//! because these errors surface directly in the CLI (`error: {err:#}` prints the causes after).

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while finding, reading, fetching or installing CPython's `Lib/`.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No source was given and the user cache holds none.
    #[error(
        "no CPython 3.4.9 source found: none was given with --cpython PATH or PORTLIB_CPYTHON, \
         and the cache {} holds no Python-3.4.9.tar.xz or .tgz. Run `portlib upstream fetch` \
         to download the official release into the cache, or pass --cpython PATH (or set \
         PORTLIB_CPYTHON) to a CPython 3.4.9 source folder, .tar.xz or .tgz",
        cache.display()
    )]
    NotFound {
        /// The cache folder that was searched.
        cache: PathBuf,
    },

    /// The platform offers no cache location (no home folder, no `LOCALAPPDATA`).
    #[error(
        "cannot tell where the user cache folder is (no home folder or cache variable is set): \
         set PORTLIB_CACHE to a writable folder, or pass --cpython PATH"
    )]
    NoCacheDir,

    /// A file or folder could not be read or written.
    #[error("cannot access {}; check the path and its permissions", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// A folder or archive was readable but has no `Lib/` folder where CPython keeps it.
    #[error(
        "{} does not look like a CPython source: no `Lib/` folder inside. Pass the source tree \
         root (the folder holding `Lib/`), `Lib/` itself, or a release tarball whose single top \
         folder holds `Lib/`",
        path.display()
    )]
    NotCpython {
        /// What was opened.
        path: PathBuf,
    },

    /// A tarball is not the official CPython 3.4.9 release tarball.
    #[error(
        "{} is not the official CPython 3.4.9 release tarball: its SHA-256 is {actual}, the \
         official one is {expected}. Download Python-3.4.9.tar.xz or Python-3.4.9.tgz from the \
         CPython 3.4.9 release page (or run `portlib upstream fetch`) and retry; to read this \
         file without installing it, pass it with --cpython PATH instead",
        path.display()
    )]
    HashMismatch {
        /// The tarball that was checked.
        path: PathBuf,
        /// The pinned official SHA-256 (lowercase hex).
        expected: String,
        /// The SHA-256 of the file (lowercase hex).
        actual: String,
    },

    /// Downloading the release tarball failed; nothing was installed.
    #[error(
        "downloading {url} failed and nothing was installed; check the network (and proxy) and \
         retry, or download the tarball on another machine and run \
         `portlib upstream fetch --from FILE`"
    )]
    Download {
        /// The address that was requested.
        url: String,
        /// Why it failed.
        #[source]
        source: DownloadFailure,
    },

    /// An archive could not be read as a CPython source tarball.
    #[error(
        "cannot read {} as a CPython source archive (.tar.xz or .tgz); download it again, or \
         pass the extracted source folder with --cpython PATH",
        path.display()
    )]
    BadArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: ArchiveProblem,
    },
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadFailure {
    /// The request failed: bad address, no connection, TLS, timeout, or an HTTP error status.
    #[error(transparent)]
    Request(Box<ureq::Error>),
    /// The connection broke while the body was being received, or the temp file failed.
    #[error("transfer interrupted")]
    Body(#[source] io::Error),
    /// The server closed the connection before sending all the bytes it announced.
    #[error("the server announced {expected} bytes but sent only {received}")]
    Truncated {
        /// Bytes received.
        received: u64,
        /// Bytes announced by `Content-Length`.
        expected: u64,
    },
    /// The bytes arrived but are not the pinned file (corrupted, or the server changed it).
    #[error("the downloaded file has SHA-256 {actual}, not the pinned {expected}")]
    HashMismatch {
        /// The pinned SHA-256.
        expected: String,
        /// The SHA-256 of what arrived.
        actual: String,
    },
}

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveProblem {
    /// Neither xz nor gzip magic bytes at the start.
    #[error("it is neither xz- nor gzip-compressed")]
    UnknownFormat,
    /// Decompression or tar parsing failed (corrupt or truncated file).
    #[error("the archive is corrupt or truncated")]
    Corrupt(#[source] io::Error),
    /// An entry would land outside the extraction folder.
    #[error("entry `{entry}` has an absolute path or a `..` component; refusing the archive")]
    UnsafeEntry {
        /// The entry's name as stored.
        entry: String,
    },
    /// An entry name is not UTF-8, so it cannot be a CPython file name.
    #[error("entry `{entry}` has a name that is not UTF-8")]
    NonUtf8Entry {
        /// The entry's name, lossily decoded.
        entry: String,
    },
    /// Files under more than one top folder hold a `Lib/`, so which one is meant is unclear.
    #[error("it has more than one top folder with a `Lib/` (`{first}` and `{second}`)")]
    SeveralTopFolders {
        /// One top folder.
        first: String,
        /// Another.
        second: String,
    },
}

impl UpstreamError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        UpstreamError::Io {
            path: path.into(),
            source,
        }
    }
}
