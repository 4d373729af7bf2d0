//! Helpers for the upstream tests: the shared CPython tarball, tarballs built on the fly, and a
//! one-shot HTTP server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The CPython 3.4.9 source the tests read: `PORTLIB_CPYTHON`, else the shared tarball beside
/// the repository. Panics (fails the test) when neither exists: these checks must not pass
/// silently on a machine without upstream.
pub fn shared_upstream() -> PathBuf {
    let path = match std::env::var_os("PORTLIB_CPYTHON").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/cpython-3.4.9.tar.xz")
        }
    };
    assert!(
        path.exists(),
        "CPython 3.4.9 source not found at {}: set PORTLIB_CPYTHON to a CPython 3.4.9 source \
         folder, .tar.xz or .tgz (or put the shared tarball at ../shared/upstream/)",
        path.display()
    );
    path
}

/// One tar entry: name as stored (unchecked, so tests can build hostile archives) and content.
/// Content starting with `LINK:` makes a hard link to the name that follows.
pub type Entry<'a> = (&'a str, &'a [u8]);

/// An uncompressed tar of regular files and hard links. Names are written raw into the header, bypassing the
/// `tar` crate's own checks, so `..` and absolute names can be produced.
pub fn tar(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().expect("gnu header");
        put_name(&mut gnu.name, name);
        let (kind, data) = match data.strip_prefix(b"LINK:") {
            Some(target) => {
                put_name(&mut gnu.linkname, std::str::from_utf8(target).unwrap());
                (tar::EntryType::Link, &b""[..])
            }
            None => (tar::EntryType::Regular, *data),
        };
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        header.set_cksum();
        builder
            .append(&header, data)
            .expect("append to in-memory tar");
    }
    builder.into_inner().expect("finish in-memory tar")
}

fn put_name(field: &mut [u8], name: &str) {
    assert!(name.len() < field.len(), "test entry name too long: {name}");
    field[..name.len()].copy_from_slice(name.as_bytes());
}

/// `tar(entries)` compressed with gzip.
pub fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tar(entries)).unwrap();
    enc.finish().unwrap()
}

/// `tar(entries)` compressed with xz.
pub fn txz(entries: &[Entry]) -> Vec<u8> {
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
    enc.write_all(&tar(entries)).unwrap();
    enc.finish().unwrap()
}

/// A small tree shaped like a CPython release: `Lib/` plus files that are not under it.
pub fn mini_release(top: &str) -> Vec<(String, Vec<u8>)> {
    [
        ("README", &b"This is Python version 3.4.9\n"[..]),
        ("Modules/main.c", b"int main(void) { return 0; }\n"),
        (
            "Lib/fnmatch.py",
            b"\"\"\"Filename matching with shell patterns.\n",
        ),
        ("Lib/unittest/__init__.py", b""),
        ("Lib/unittest/case.py", b"class TestCase: pass\n"),
        ("Lib/test/data.bin", &[0u8, 0xff, 0x80, b'\n']),
    ]
    .iter()
    .map(|(name, data)| (format!("{top}{name}"), data.to_vec()))
    .collect()
}

/// Borrowed view of owned entries, for `tar`/`tgz`/`txz`.
pub fn entries(owned: &[(String, Vec<u8>)]) -> Vec<Entry<'_>> {
    owned
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect()
}

/// Every file below `dir`, recursively, as paths relative to it (empty if `dir` is missing).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

/// Fail unless `dir` holds no files (empty folders are fine: nothing half-written was kept).
pub fn assert_no_files(dir: &Path) {
    let left = files_under(dir);
    assert!(left.is_empty(), "files left in {}: {left:?}", dir.display());
}

/// An error and all its causes, as the CLI prints them.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

/// What the test server answers to one request.
pub enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 announcing `announced` bytes, then only `body` and a closed connection.
    Truncated { body: Vec<u8>, announced: usize },
    /// This status with an empty body.
    Status(u16),
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers one request per reply, in order, then
/// stops. It also stops on its own after a deadline, so a test that never connects cannot hang.
pub struct Server {
    base: String,
    thread: JoinHandle<usize>,
}

impl Server {
    pub fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut served = 0;
            for reply in replies {
                let mut stream = loop {
                    match listener.accept() {
                        Ok((s, _)) => break s,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if Instant::now() > deadline {
                                return served;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                read_request_head(&mut stream);
                let (status, announced, body) = match reply {
                    Reply::Body(b) => (200, b.len(), b),
                    Reply::Truncated { body, announced } => (200, announced, body),
                    Reply::Status(code) => (code, 0, Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status} Test\r\nContent-Length: {announced}\r\n\
                     Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                );
                // The client may hang up early (it saw an error status); that is fine.
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                drop(stream);
                served += 1;
            }
            served
        });
        Server { base, thread }
    }

    /// The address of `path` on this server (`path` starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Wait for the server to stop; returns how many requests it answered.
    pub fn finish(self) -> usize {
        self.thread.join().expect("test server thread panicked")
    }
}

/// Read up to the blank line ending the request head (requests here have no body).
fn read_request_head(stream: &mut impl Read) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

/// An address on 127.0.0.1 where nothing listens (bound, then released).
pub fn dead_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{path}")
}
