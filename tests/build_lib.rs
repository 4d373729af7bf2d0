//! `portlib::build` through the library with fake compilers: caching, incremental rebuilds,
//! parallelism, reproducibility, the manifest and compile errors. The real compiler is not
//! needed: the build only sees the `ModuleCompiler` trait.

mod common;

use common::tree;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use portlib::build::{
    self, BuildCompileError, BuildError, BuildOptions, Format, Manifest, ModuleCompiler,
    NoProgress, Target, ZipRequest,
};
use portlib::upstream::{sha256_hex, Upstream};
use portlib::workspace::{self, Repo};

fn upstream() -> &'static Upstream {
    static UP: OnceLock<Upstream> = OnceLock::new();
    UP.get_or_init(|| Upstream::open(&common::upstream_path()).expect("open upstream"))
}

/// A compiler whose output is a pure function of (id, source name, source), which counts its
/// calls and refuses any source containing `@@FAIL@@` (reporting that line).
struct Fake {
    id: String,
    calls: AtomicUsize,
}

impl Fake {
    fn new(id: &str) -> Fake {
        Fake {
            id: id.to_owned(),
            calls: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn expected(&self, source: &[u8], name: &str) -> Vec<u8> {
        let mut out = format!("FAKE {}\0{name}\0", self.id).into_bytes();
        out.extend(source.iter().rev());
        out
    }
}

impl ModuleCompiler for Fake {
    fn compile(&self, source: &[u8], source_name: &str) -> Result<Vec<u8>, BuildCompileError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let text = String::from_utf8_lossy(source);
        if let Some(line) = text.lines().position(|l| l.contains("@@FAIL@@")) {
            return Err(BuildCompileError {
                line: Some(line + 1),
                col: Some(5),
                message: "fake refusal".into(),
            });
        }
        Ok(self.expected(source, source_name))
    }

    fn id(&self) -> String {
        self.id.clone()
    }
}

/// A scratch repository: fnmatch, glob and posixpath ported with empty patches, and a lib-src
/// package `mypkg` importing glob.
fn fixture() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("patches")).unwrap();
    let repo = Repo::at(dir.path()).unwrap();
    let names = ["fnmatch", "glob", "posixpath"].map(String::from);
    workspace::port(&repo, upstream(), &names).unwrap();
    let pkg = dir.path().join("lib-src/mypkg");
    fs::create_dir_all(&pkg).unwrap();
    fs::write(pkg.join("__init__.py"), "from . import sub\n").unwrap();
    fs::write(pkg.join("sub.py"), "import glob\n").unwrap();
    (dir, repo)
}

fn opts(out: &Path, modules: &[&str]) -> BuildOptions {
    BuildOptions {
        modules: modules.iter().map(|s| s.to_string()).collect(),
        target: Target::Micropython,
        format: Format::Mpy,
        tests: false,
        out: out.to_path_buf(),
        zip: ZipRequest::None,
        source_date_epoch: 1_700_000_000,
        jobs: None,
    }
}

fn run(repo: &Repo, o: &BuildOptions, c: &Fake) -> Result<build::BuildReport, BuildError> {
    build::build(repo, upstream(), o, Some(c), &NoProgress)
}

/// Add a line to work/glob.py in the convention and refresh its patch.
fn edit_glob(repo: &Repo, line: &str) {
    let work = repo.work_path("glob.py");
    let mut text = fs::read_to_string(&work).unwrap();
    text.push_str(&format!("{line} ###\n"));
    fs::write(&work, text).unwrap();
    let r = workspace::refresh(repo, upstream(), &["glob".to_string()]).unwrap();
    assert!(!r.has_problems(), "{:?}", r.invalid);
}

#[test]
fn compiles_everything_then_nothing_then_one_changed_module() {
    let (dir, repo) = fixture();
    let out = dir.path().join("build");
    let o = opts(&out, &[]);
    let fake = Fake::new("fake 1");

    let first = run(&repo, &o, &fake).unwrap();
    assert_eq!((first.compiled, first.cached, first.copied), (5, 0, 0));
    assert_eq!(fake.calls(), 5);
    let files = tree(&out);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "lib/fnmatch.mpy",
            "lib/glob.mpy",
            "lib/mypkg/__init__.mpy",
            "lib/mypkg/sub.mpy",
            "lib/posixpath.mpy",
            "manifest.json"
        ]
    );
    // The stored source name is the path relative to lib/.
    let sources: BTreeMap<String, Vec<u8>> = workspace::effective_sources(&repo, upstream())
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        files["lib/mypkg/sub.mpy"],
        fake.expected(&sources["mypkg/sub.py"], "mypkg/sub.py")
    );

    let manifest = Manifest::from_json(&files["manifest.json"]).unwrap();
    assert_eq!(manifest.format, "mpy");
    assert_eq!(manifest.mpy_version.as_deref(), Some("6.3"));
    assert_eq!(manifest.upstream, "3.4.9");
    assert_eq!(manifest.target, "micropython");
    for f in &manifest.files {
        let bytes = &files[&f.path];
        assert_eq!(f.size, bytes.len() as u64, "{}", f.path);
        assert_eq!(f.sha256, sha256_hex(bytes), "{}", f.path);
        assert_eq!(
            f.source_sha256,
            sha256_hex(&sources[&f.source]),
            "{}",
            f.path
        );
    }

    assert!(!first.unchanged);
    let warm = run(&repo, &o, &fake).unwrap();
    assert!(warm.unchanged, "an identical bundle is left as it is");
    assert_eq!((warm.compiled, warm.cached), (0, 5));
    assert_eq!(warm.scanned, 0, "import scans come from the cache");
    assert_eq!(fake.calls(), 5);
    assert_eq!(tree(&out), files, "a warm build gives the same bundle");

    // A damaged or extra file on disk is noticed and the bundle rewritten.
    fs::write(out.join("lib/glob.mpy"), b"damaged").unwrap();
    fs::write(out.join("lib/stray.mpy"), b"stray").unwrap();
    let repaired = run(&repo, &o, &fake).unwrap();
    assert!(!repaired.unchanged);
    assert_eq!(tree(&out), files);

    edit_glob(&repo, "EDITED = 1");
    let third = run(&repo, &o, &fake).unwrap();
    assert!(!third.unchanged);
    assert_eq!((third.compiled, third.cached), (1, 4));
    assert_eq!(fake.calls(), 6);
    let changed: Vec<String> = tree(&out)
        .into_iter()
        .filter(|(k, v)| files.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(changed, ["lib/glob.mpy", "manifest.json"]);

    // A full build prunes what it no longer uses: only the five current objects remain (beside
    // the namespace's last-used stamp).
    let objects: usize = walkdir::WalkDir::new(out.join(".cache/objects"))
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file() && e.file_name() != ".used")
        .count();
    assert_eq!(objects, 5);

    // Another compiler id never reuses the cache.
    let other = Fake::new("fake 2");
    let fourth = run(&repo, &o, &other).unwrap();
    assert_eq!((fourth.compiled, fourth.cached), (5, 0));
}

#[test]
fn parallel_and_serial_builds_and_their_zips_are_identical() {
    let (dir, repo) = fixture();
    let fake = Fake::new("fake 1");
    let mut serial = opts(&dir.path().join("one"), &[]);
    serial.jobs = Some(1);
    serial.zip = ZipRequest::Default;
    let mut parallel = opts(&dir.path().join("two"), &[]);
    parallel.jobs = Some(4);
    parallel.zip = ZipRequest::At(dir.path().join("two.zip"));
    let a = run(&repo, &serial, &fake).unwrap();
    let b = run(&repo, &parallel, &fake).unwrap();
    let za = a.zip.unwrap();
    assert_eq!(
        za.file_name().unwrap(),
        "portlib-stdlib-micropython-mpy-20231114.zip"
    );
    let one = tree(&dir.path().join("one"));
    let two = tree(&dir.path().join("two"));
    assert_eq!(one["manifest.json"], two["manifest.json"]);
    assert_eq!(
        one.len(),
        two.len() + 1,
        "the default zip lives in the bundle folder"
    );
    assert_eq!(
        sha256_hex(&fs::read(&za).unwrap()),
        sha256_hex(&fs::read(b.zip.unwrap()).unwrap())
    );
}

#[test]
fn compile_errors_name_the_source_and_leave_the_old_bundle() {
    let (dir, repo) = fixture();
    let out = dir.path().join("build");
    let fake = Fake::new("fake 1");
    run(&repo, &opts(&out, &[]), &fake).unwrap();
    let before = tree(&out);

    fs::write(
        dir.path().join("lib-src/mypkg/sub.py"),
        "import glob\nx = '@@FAIL@@'\n",
    )
    .unwrap();
    edit_glob(&repo, "Y = '@@FAIL@@'");
    let err = run(&repo, &opts(&out, &[]), &fake).unwrap_err();
    let diags = err.diagnostics();
    let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(diags.len(), 2, "{shown:#?}");
    assert!(shown[0].starts_with("glob.py:"), "{}", shown[0]);
    assert!(
        shown[0].contains(":5: cannot compile: fake refusal"),
        "{}",
        shown[0]
    );
    assert!(shown[0].contains("patches/glob.py.diff"), "{}", shown[0]);
    assert!(
        shown[1].starts_with("lib-src/mypkg/sub.py:2:5: cannot compile: fake refusal"),
        "{}",
        shown[1]
    );
    assert_eq!(
        tree(&out),
        before,
        "a failed build leaves the previous bundle"
    );
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn closure_of_a_lib_src_package_and_explain_chains() {
    let (dir, repo) = fixture();
    let out = dir.path().join("build");
    let fake = Fake::new("fake 1");
    let report = run(&repo, &opts(&out, &["mypkg"]), &fake).unwrap();
    let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "lib/fnmatch.mpy",
            "lib/glob.mpy",
            "lib/mypkg/__init__.mpy",
            "lib/mypkg/sub.mpy",
            "lib/posixpath.mpy"
        ]
    );
    let chain: Vec<String> = report.explain["posixpath.py"]
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        chain[1..],
        [
            "imported at glob.py:5",
            "imported at mypkg/sub.py:1",
            "requested as `mypkg`"
        ]
    );
    assert!(chain[0].starts_with("imported at fnmatch.py:"), "{chain:?}");
}

#[test]
fn mpy_without_a_compiler_is_a_typed_error() {
    let (dir, repo) = fixture();
    let o = opts(&dir.path().join("build"), &[]);
    let err = build::build(&repo, upstream(), &o, None, &NoProgress).unwrap_err();
    assert!(matches!(err, BuildError::CompilerUnavailable), "{err}");
    let real = build::real_compiler(Target::Micropython, 0).expect("the real compiler");
    let mpy = real.compile(b"x = 1\n", "x.py").expect("compiles");
    assert_eq!(&mpy[..4], b"M\x06\x00\x1f");
    assert!(!dir.path().join("build").exists());
}
