//! The content-hash cache under `DIR/.cache/`: compiled files and import scans.
//!
//! Every entry is named by a hash of everything that determines it, so an entry is either right
//! or absent: nothing is ever invalidated, stale entries are only pruned. Entries are written
//! with [`write_atomic`], so an interrupted build leaves no truncated entry; a compiled file
//! also carries the SHA-256 of its bytes, checked on every hit, so one damaged afterwards (a disk
//! error, a hand edit) is compiled again instead of shipped.
//!
//! Layout:
//! * `objects/<namespace>/<key>`: a compiled file. The namespace is a hash of the compiler's id
//!   and the target (one folder per configuration, so pruning after a full build of one target
//!   keeps the others); the key hashes the namespace, the source name stored in the file and the
//!   effective source's SHA-256. The file is [`OBJECT_MAGIC`], the 64 hex digits of the
//!   SHA-256 of the compiled bytes, a newline, then the compiled bytes.
//! * `imports/v<N>/<source sha256>.json`: the imports of a source ([`super::imports::scan`]),
//!   which depend on nothing but the source bytes and the scanner's version `N`.
//!
//! Every portlib build has its own compiler id, so each upgrade (or rebuild of portlib itself)
//! starts a new namespace. A namespace's `.used` stamp is touched by every full build that uses
//! it; pruning keeps the [`KEPT_NAMESPACES`] most recently used ones (enough for both targets of
//! the current and the previous portlib) and every scan folder of an older scanner is dropped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::imports::{ImportRef, SCANNER_VERSION};
use super::BuildError;
use crate::fsutil::write_atomic;
use crate::upstream::sha256_hex;

/// How an object file starts; the number changes with the object layout (and then so does
/// [`Cache::namespace`], so objects of another layout are never read).
const OBJECT_MAGIC: &[u8] = b"portlib-object 1\n";

/// How many namespaces (compiler configurations) a prune keeps, the current one included.
pub const KEPT_NAMESPACES: usize = 4;

/// The file in a namespace folder whose modification time says when a build last used it.
const USED_STAMP: &str = ".used";

/// The cache folder of one output folder.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A missing file is a cache miss; any other read error is an error.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, BuildError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

impl Cache {
    /// The cache at `root` (created on the first write).
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// Where it lives.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The namespace of a compiler configuration.
    pub fn namespace(compiler_id: &str, target: &str) -> String {
        sha256_hex(format!("portlib-build-cache 2\0{compiler_id}\0{target}").as_bytes())[..16]
            .to_owned()
    }

    /// The key of one compiled file.
    pub fn object_key(namespace: &str, source_name: &str, source_sha256: &str) -> String {
        sha256_hex(format!("{namespace}\0{source_name}\0{source_sha256}").as_bytes())
    }

    fn object_path(&self, namespace: &str, key: &str) -> PathBuf {
        self.root.join("objects").join(namespace).join(key)
    }

    fn imports_dir(&self) -> PathBuf {
        self.root
            .join("imports")
            .join(format!("v{SCANNER_VERSION}"))
    }

    /// A compiled file, if cached and intact. An object whose bytes no longer match the hash
    /// stored with them (truncated, damaged on disk, edited) is a miss, with a warning: the
    /// caller compiles again and [`Cache::store_object`] replaces it.
    pub fn load_object(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, BuildError> {
        let path = self.object_path(namespace, key);
        let Some(file) = read_optional(&path)? else {
            return Ok(None);
        };
        match unwrap_object(&file) {
            Some(bytes) => Ok(Some(bytes.to_vec())),
            None => {
                log::warn!(
                    "{}: damaged build cache object (its bytes do not match their recorded \
                     SHA-256); compiling the file again",
                    path.display()
                );
                Ok(None)
            }
        }
    }

    /// Remember a compiled file, with the hash that [`Cache::load_object`] checks.
    pub fn store_object(&self, namespace: &str, key: &str, bytes: &[u8]) -> Result<(), BuildError> {
        let path = self.object_path(namespace, key);
        let mut file = Vec::with_capacity(OBJECT_MAGIC.len() + 65 + bytes.len());
        file.extend_from_slice(OBJECT_MAGIC);
        file.extend_from_slice(sha256_hex(bytes).as_bytes());
        file.push(b'\n');
        file.extend_from_slice(bytes);
        write_atomic(&path, &file).map_err(io(&path))
    }

    /// The imports of the source with this hash, if cached. An entry that no longer parses
    /// (hand-edited, or from a buggy build) counts as a miss.
    pub fn load_imports(&self, source_sha256: &str) -> Result<Option<Vec<ImportRef>>, BuildError> {
        let path = self.imports_dir().join(format!("{source_sha256}.json"));
        Ok(read_optional(&path)?.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Remember the imports of a source.
    pub fn store_imports(&self, source_sha256: &str, refs: &[ImportRef]) -> Result<(), BuildError> {
        let path = self.imports_dir().join(format!("{source_sha256}.json"));
        let json = serde_json::to_vec(refs).expect("import refs serialize");
        write_atomic(&path, &json).map_err(io(&path))
    }

    /// After a full build: drop the objects of `namespace` (if it compiled) and the import scans
    /// that it did not use, so the cache does not grow with every edit. Other namespaces (other targets or
    /// compilers) are kept.
    pub fn prune(
        &self,
        namespace: Option<&str>,
        used_objects: &BTreeSet<String>,
        used_scans: &BTreeSet<String>,
    ) -> Result<(), BuildError> {
        if let Some(namespace) = namespace {
            let objects = self.root.join("objects").join(namespace);
            remove_unlisted(&objects, |name| {
                name == USED_STAMP || used_objects.contains(name)
            })?;
            let stamp = objects.join(USED_STAMP);
            touch(&stamp).map_err(io(&stamp))?;
        }
        self.prune_namespaces(namespace)?;
        let current = format!("v{SCANNER_VERSION}");
        remove_dirs(&self.root.join("imports"), |name| name == current)?;
        remove_unlisted(&self.imports_dir(), |name| {
            name.strip_suffix(".json")
                .is_some_and(|sha| used_scans.contains(sha))
        })
    }

    /// Drop all but the [`KEPT_NAMESPACES`] most recently used namespaces; `current` is always
    /// kept. A namespace without a stamp (written by an older portlib) counts by its folder's
    /// own modification time.
    fn prune_namespaces(&self, current: Option<&str>) -> Result<(), BuildError> {
        let objects = self.root.join("objects");
        let Some(entries) = list(&objects)? else {
            return Ok(());
        };
        let mut others = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&objects))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if Some(name.as_str()) == current || !entry.path().is_dir() {
                continue;
            }
            let path = entry.path();
            let used = std::fs::metadata(path.join(USED_STAMP))
                .or_else(|_| entry.metadata())
                .and_then(|m| m.modified())
                .map_err(io(&path))?;
            others.push((used, name));
        }
        // Newest first; the name breaks ties so that the choice does not depend on listing order.
        others.sort_by(|a, b| b.cmp(a));
        let keep = KEPT_NAMESPACES.saturating_sub(usize::from(current.is_some()));
        for (_, name) in others.into_iter().skip(keep) {
            let path = objects.join(name);
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        Ok(())
    }
}

/// The compiled bytes of an object file, if its header is intact and they match its hash.
fn unwrap_object(file: &[u8]) -> Option<&[u8]> {
    let rest = file.strip_prefix(OBJECT_MAGIC)?;
    let (hash, rest) = (rest.get(..64)?, rest.get(64..)?);
    let bytes = rest.strip_prefix(b"\n")?;
    (sha256_hex(bytes).as_bytes() == hash).then_some(bytes)
}

/// The entries of a folder; `None` if it does not exist (nothing cached there yet).
fn list(dir: &Path) -> Result<Option<std::fs::ReadDir>, BuildError> {
    match std::fs::read_dir(dir) {
        Ok(e) => Ok(Some(e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Create `path` if needed and set its modification time to now.
fn touch(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.set_modified(std::time::SystemTime::now())
}

/// Remove the folders in `dir` whose name `keep` refuses (files are left alone).
fn remove_dirs(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<(), BuildError> {
    let Some(entries) = list(dir)? else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if path.is_dir() && !keep(&entry.file_name().to_string_lossy()) {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

fn remove_unlisted(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<(), BuildError> {
    let Some(entries) = list(dir)? else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if !keep(&name.to_string_lossy()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_input() {
        let ns = Cache::namespace("fake 1", "micropython");
        assert_ne!(ns, Cache::namespace("fake 2", "micropython"));
        assert_ne!(ns, Cache::namespace("fake 1", "circuitpython"));
        let k = Cache::object_key(&ns, "a.py", "00");
        assert_ne!(k, Cache::object_key(&ns, "b.py", "00"));
        assert_ne!(k, Cache::object_key(&ns, "a.py", "01"));
        assert_eq!(k, Cache::object_key(&ns, "a.py", "00"));
    }

    #[test]
    fn store_load_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join(".cache"));
        assert_eq!(cache.load_object("ns", "k1").unwrap(), None);
        cache.store_object("ns", "k1", b"one").unwrap();
        cache.store_object("ns", "k2", b"two").unwrap();
        cache.store_object("other", "k3", b"three").unwrap();
        let refs = vec![ImportRef {
            line: 1,
            col: 1,
            module: "os".into(),
            level: 0,
            names: None,
            optional: false,
        }];
        cache.store_imports("aa", &refs).unwrap();
        cache.store_imports("bb", &refs).unwrap();
        assert_eq!(cache.load_imports("aa").unwrap(), Some(refs));
        let keep = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        cache
            .prune(Some("ns"), &keep(&["k1"]), &keep(&["bb"]))
            .unwrap();
        assert_eq!(cache.load_object("ns", "k1").unwrap().unwrap(), b"one");
        assert_eq!(cache.load_object("ns", "k2").unwrap(), None);
        assert_eq!(cache.load_object("other", "k3").unwrap().unwrap(), b"three");
        assert_eq!(cache.load_imports("aa").unwrap(), None);
        assert!(cache.load_imports("bb").unwrap().is_some());
    }

    #[test]
    fn prune_keeps_the_most_recently_used_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join(".cache"));
        let none = BTreeSet::new();
        // Six old namespaces, ns0 used longest ago; ns2 has no stamp (an older portlib's).
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for n in 0..6u64 {
            let ns = format!("ns{n}");
            cache.store_object(&ns, "k", b"x").unwrap();
            let stamp = cache.root().join("objects").join(&ns).join(USED_STAMP);
            if n != 2 {
                touch(&stamp).unwrap();
            }
            let when = base + std::time::Duration::from_secs(60 * n);
            let target = if n == 2 {
                stamp.parent().unwrap().to_path_buf()
            } else {
                stamp
            };
            std::fs::File::open(&target)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        // A scan folder of an older scanner version goes too.
        let old_scans = cache.root().join("imports").join("v0");
        std::fs::create_dir_all(&old_scans).unwrap();
        std::fs::write(old_scans.join("aa.json"), b"[]").unwrap();

        cache.store_object("ns0", "k", b"x").unwrap();
        cache
            .prune(Some("ns0"), &["k".to_string()].into(), &none)
            .unwrap();
        let mut left: Vec<String> = std::fs::read_dir(cache.root().join("objects"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // ns0 is the current one; ns5, ns4, ns3 are the newest others; ns2 and ns1 go.
        assert_eq!(left, ["ns0", "ns3", "ns4", "ns5"]);
        assert_eq!(cache.load_object("ns0", "k").unwrap().unwrap(), b"x");
        assert!(!old_scans.exists());
        // A second prune of the same build changes nothing.
        cache
            .prune(Some("ns0"), &["k".to_string()].into(), &none)
            .unwrap();
        assert_eq!(
            std::fs::read_dir(cache.root().join("objects"))
                .unwrap()
                .count(),
            4
        );
    }

    #[test]
    fn a_damaged_object_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join(".cache"));
        let payload = b"M\x06\x00\x1f compiled bytes";
        cache.store_object("ns", "k", payload).unwrap();
        let path = cache.object_path("ns", "k");
        let good = std::fs::read(&path).unwrap();
        assert_eq!(cache.load_object("ns", "k").unwrap().unwrap(), payload);

        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let mut header = good.clone();
        header[OBJECT_MAGIC.len()] ^= 1;
        let damaged = [
            flipped,
            header,
            good[..good.len() - 1].to_vec(),
            good[..OBJECT_MAGIC.len() + 10].to_vec(),
            Vec::new(),
            payload.to_vec(),
        ];
        for bad in damaged {
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(cache.load_object("ns", "k").unwrap(), None, "{bad:?}");
        }
        cache.store_object("ns", "k", payload).unwrap();
        assert_eq!(cache.load_object("ns", "k").unwrap().unwrap(), payload);
    }
}
