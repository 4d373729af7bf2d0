//! `portlib build` through the binary on scratch repositories (real upstream files ported with
//! `portlib port`, plus `lib-src/` modules): the `py` bundle, exact import closures, `--explain`,
//! `--json`, the reproducible zip, and every bad input.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{text, tree, upstream_path};
use portlib::build::Manifest;
use portlib::upstream::sha256_hex;

/// Run the binary in `dir` with the test upstream, no user cache, no inherited
/// `SOURCE_DATE_EPOCH`, plus `env`.
fn portlib_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portlib"));
    cmd.args(args)
        .current_dir(dir)
        .env("PORTLIB_CPYTHON", upstream_path())
        .env("PORTLIB_CACHE", dir.join(".no-cache"))
        .env_remove("PORTLIB_ROOT")
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run portlib")
}

fn portlib(dir: &Path, args: &[&str]) -> Output {
    portlib_env(dir, args, &[])
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = portlib(dir, args);
    assert!(out.status.success(), "portlib {args:?}\n{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// fnmatch, glob, posixpath and the unittest package ported with empty patches; `lib-src/`
/// holds `mytool.py` (imports glob, an optional fast path, and built-ins).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("patches")).unwrap();
    ok(
        dir.path(),
        &["port", "fnmatch", "glob", "posixpath", "unittest"],
    );
    fs::create_dir(dir.path().join("lib-src")).unwrap();
    fs::write(
        dir.path().join("lib-src/mytool.py"),
        "import gc, sys\ntry:\n    import _speedups\nexcept ImportError:\n    _speedups = None\n\ndef find(p):\n    import glob\n    return glob.glob(p)\n",
    )
    .unwrap();
    dir
}

fn manifest_paths(dir: &Path) -> Vec<String> {
    let m = Manifest::from_json(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m.files.into_iter().map(|f| f.path).collect()
}

const UNITTEST: [&str; 11] = [
    "lib/unittest/__init__.py",
    "lib/unittest/__main__.py",
    "lib/unittest/case.py",
    "lib/unittest/loader.py",
    "lib/unittest/main.py",
    "lib/unittest/mock.py",
    "lib/unittest/result.py",
    "lib/unittest/runner.py",
    "lib/unittest/signals.py",
    "lib/unittest/suite.py",
    "lib/unittest/util.py",
];

#[test]
fn py_bundle_is_the_effective_sources_with_a_manifest() {
    let repo = fixture();
    let dir = repo.path();
    let stdout = ok(dir, &["build", "--format=py"]);
    assert!(stdout.contains("built 15 file(s)"), "{stdout}");
    ok(dir, &["strip", "--out", "stripped"]);

    let built = tree(&dir.join("build"));
    let stripped = tree(&dir.join("stripped"));
    // Test files stay out without --tests; everything else is the stripped source as is.
    let expected: BTreeMap<String, Vec<u8>> = stripped
        .into_iter()
        .filter(|(k, _)| !k.starts_with("unittest/test/"))
        .map(|(k, v)| (format!("lib/{k}"), v))
        .collect();
    let lib: BTreeMap<String, Vec<u8>> = built
        .iter()
        .filter(|(k, _)| k.starts_with("lib/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(lib, expected);

    let m = Manifest::from_json(&built["manifest.json"]).unwrap();
    assert_eq!(
        (
            m.target.as_str(),
            m.format.as_str(),
            m.mpy_version.as_deref()
        ),
        ("micropython", "py", None)
    );
    assert_eq!(m.portlib, env!("CARGO_PKG_VERSION"));
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    for f in &m.files {
        assert_eq!(f.sha256, sha256_hex(&lib[&f.path]));
        assert_eq!(
            f.sha256, f.source_sha256,
            "a py bundle ships the effective source"
        );
    }

    ok(dir, &["build", "--format=py", "--tests"]);
    let with_tests = manifest_paths(&dir.join("build"));
    assert!(with_tests.contains(&"lib/unittest/test/test_case.py".to_string()));
    assert_eq!(
        with_tests.len(),
        15 + tree(&dir.join("stripped/unittest/test")).len()
    );
}

#[test]
fn unittest_pulls_exactly_its_closure() {
    let repo = fixture();
    let dir = repo.path();
    ok(dir, &["build", "--format=py", "unittest"]);
    let mut expected: Vec<String> = UNITTEST.iter().map(|s| s.to_string()).collect();
    // unittest/loader.py imports fnmatch, which imports posixpath; glob is not needed.
    expected.extend(["lib/fnmatch.py".to_string(), "lib/posixpath.py".to_string()]);
    expected.sort();
    assert_eq!(manifest_paths(&dir.join("build")), expected);

    // A lib-src module: its function-level import pulls glob and what glob needs; the optional
    // `_speedups` and the built-ins gc and sys are not shipped and not warned about.
    let out = portlib(dir, &["build", "--format=py", "mytool", "--explain"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        manifest_paths(&dir.join("build")),
        [
            "lib/fnmatch.py",
            "lib/glob.py",
            "lib/mytool.py",
            "lib/posixpath.py"
        ]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("lib/glob.py: imported at mytool.py:8 <- requested as `mytool`\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lib/fnmatch.py: imported at glob.py:5 <- imported at mytool.py:8 <- requested as `mytool`\n"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("_speedups"), "{stderr}");
    assert!(!stderr.contains("`gc`"), "{stderr}");
    // posixpath imports modules this fixture does not port: warned with file and line.
    assert!(
        stderr.contains("posixpath.py:15:1: warning: `stat` is not ported"),
        "{stderr}"
    );
}

#[test]
fn quiet_silences_import_warnings_but_json_keeps_them() {
    let repo = fixture();
    let dir = repo.path();
    // posixpath imports `stat`, which this fixture does not port: a warning without -q.
    let loud = portlib(dir, &["build", "--format=py", "posixpath"]);
    assert!(loud.status.success(), "{}", text(&loud));
    let stderr = String::from_utf8_lossy(&loud.stderr);
    assert!(stderr.contains("warning: `stat` is not ported"), "{stderr}");

    for flag in ["-q", "--quiet"] {
        let quiet = portlib(dir, &[flag, "build", "--format=py", "posixpath"]);
        assert!(quiet.status.success(), "{}", text(&quiet));
        assert!(
            quiet.stdout.is_empty() && quiet.stderr.is_empty(),
            "{flag} prints nothing but errors\n{}",
            text(&quiet)
        );
    }

    let json = portlib(dir, &["-q", "build", "--format=py", "posixpath", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    assert!(json.stderr.is_empty(), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("posixpath.py:15:1: warning: `stat` is not ported")),
        "{warnings:?}"
    );
}

#[test]
fn json_summary_and_warm_rebuild() {
    let repo = fixture();
    let dir = repo.path();
    let first: serde_json::Value =
        serde_json::from_str(&ok(dir, &["build", "--format=py", "--json"])).unwrap();
    assert_eq!(first["files"], 15);
    assert_eq!(first["copied"], 15);
    assert_eq!(first["compiled"], 0);
    assert_eq!(first["format"], "py");
    assert!(first["scanned"].as_u64().unwrap() >= 15);
    assert!(first["bytes"].as_u64().unwrap() > 100_000);
    assert!(first["time_ms"].as_f64().is_some());
    let warm: serde_json::Value =
        serde_json::from_str(&ok(dir, &["build", "--format=py", "--json"])).unwrap();
    assert_eq!(warm["scanned"], 0, "import scans come from the cache");
    assert_eq!(
        (&first["unchanged"], &warm["unchanged"]),
        (&false.into(), &true.into())
    );
    assert_eq!(warm["files"], 15);
}

#[test]
fn zip_is_reproducible_and_named_like_a_bundle() {
    let repo = fixture();
    let dir = repo.path();
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    let build = |out: &str, extra: &[&str]| {
        let mut args = vec!["build", "glob", "--out", out];
        args.extend_from_slice(extra);
        let o = portlib_env(dir, &args, &epoch);
        assert!(o.status.success(), "{}", text(&o));
    };
    build("a", &["--zip"]);
    build("b", &["--zip=b.zip", "--jobs", "1"]);
    let a = dir.join("a/portlib-stdlib-micropython-mpy-20231114.zip");
    let a_bytes = fs::read(&a).unwrap();
    assert_eq!(
        sha256_hex(&a_bytes),
        sha256_hex(&fs::read(dir.join("b.zip")).unwrap())
    );
    build("c", &["--zip", "--target", "circuitpython"]);
    assert!(dir.join("c/portlib-stdlib-10.x-mpy-20231114.zip").is_file());
    // `--zip` followed by a module name builds that module with the default zip.
    let o = portlib_env(
        dir,
        &["build", "--format=py", "--out", "e", "--zip", "fnmatch"],
        &epoch,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        manifest_paths(&dir.join("e")),
        ["lib/fnmatch.py", "lib/posixpath.py"]
    );
    assert!(dir
        .join("e/portlib-stdlib-micropython-py-20231114.zip")
        .is_file());

    // lib/ inside, plus the manifest, sorted.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(a_bytes)).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "lib/",
            "lib/fnmatch.mpy",
            "lib/glob.mpy",
            "lib/posixpath.mpy",
            "manifest.json"
        ]
    );

    // No SOURCE_DATE_EPOCH and no git: CPython 3.4.9's release day, never the clock.
    let o = portlib(
        dir,
        &["build", "--format=py", "glob", "--out", "d", "--zip"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir
        .join("d/portlib-stdlib-micropython-py-20180802.zip")
        .is_file());
}

#[test]
fn format_mpy_is_the_default_and_compiles_with_portlib() {
    let repo = fixture();
    let out = portlib(repo.path(), &["build"]);
    assert!(out.status.success(), "{}", text(&out));
    let mpy = std::fs::read(repo.path().join("build/lib/fnmatch.mpy")).expect("fnmatch.mpy");
    assert_eq!(&mpy[..4], b"M\x06\x00\x1f", "MicroPython .mpy v6 header");
    let manifest = std::fs::read_to_string(repo.path().join("build/manifest.json")).unwrap();
    assert!(manifest.contains("\"format\": \"mpy\""), "{manifest}");
    // Every file is portlib's compiler run on the effective source, named relative to lib/.
    ok(repo.path(), &["strip", "--out", "stripped"]);
    let expected: BTreeMap<String, Vec<u8>> = tree(&repo.path().join("stripped"))
        .into_iter()
        .filter(|(k, _)| !k.starts_with("unittest/test/"))
        .map(|(k, src)| {
            let opts = portlib::mpy::compile::CompileOptions::default();
            let mpy = portlib::mpy::compile::compile(&src, &k, &opts)
                .unwrap_or_else(|e| panic!("{k}: {e}"));
            let stem = k.strip_suffix(".py").expect("a .py source");
            (format!("lib/{stem}.mpy"), mpy)
        })
        .collect();
    let built: BTreeMap<String, Vec<u8>> = tree(&repo.path().join("build"))
        .into_iter()
        .filter(|(k, _)| k.starts_with("lib/"))
        .collect();
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &built {
        assert!(
            bytes == &expected[path],
            "{path} is not the compiled effective source"
        );
    }
    // The disassembler reads it back, with the source name relative to lib/.
    let dis = portlib(repo.path(), &["dis", "build/lib/fnmatch.mpy"]);
    assert!(dis.status.success(), "{}", text(&dis));
    assert!(
        String::from_utf8_lossy(&dis.stdout).contains("fnmatch.py"),
        "{}",
        text(&dis)
    );
}

#[test]
fn a_damaged_cache_object_is_compiled_again_not_shipped() {
    let repo = fixture();
    let dir = repo.path();
    let args = ["build", "--zip=bundle.zip", "--json"];
    let clean: serde_json::Value = serde_json::from_str(&ok(dir, &args)).unwrap();
    let files = clean["compiled"].as_u64().unwrap();
    assert!(files >= 2, "{clean}");
    let bundle = |dir: &Path| {
        // `tree` leaves out `.cache/`.
        let mut t = tree(&dir.join("build"));
        t.insert("zip".into(), fs::read(dir.join("bundle.zip")).unwrap());
        t
    };
    let expected = bundle(dir);

    // Damage two objects the way a disk or a killed tool would: a flipped byte, a cut tail.
    let mut objects: Vec<_> = walkdir::WalkDir::new(dir.join("build/.cache/objects"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.is_file() && !p.ends_with(".used"))
        .collect();
    objects.sort();
    assert_eq!(objects.len() as u64, files);
    let mut flipped = fs::read(&objects[0]).unwrap();
    *flipped.last_mut().unwrap() ^= 0x40;
    fs::write(&objects[0], flipped).unwrap();
    let cut = fs::read(&objects[1]).unwrap();
    fs::write(&objects[1], &cut[..cut.len() / 2]).unwrap();

    let out = portlib(dir, &args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        bundle(dir) == expected,
        "the bundle differs from a clean build"
    );
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&second["compiled"], &second["cached"]),
        (&2.into(), &(files - 2).into()),
        "{second}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("warning: ").count(),
        2,
        "one warning per damaged object: {stderr}"
    );
    assert!(stderr.contains("damaged build cache object"), "{stderr}");

    // The damaged objects were rewritten: the next build takes everything from the cache.
    let third: serde_json::Value = serde_json::from_str(&ok(dir, &args)).unwrap();
    assert_eq!(
        (&third["compiled"], &third["cached"]),
        (&0.into(), &files.into())
    );
    assert!(bundle(dir) == expected);
}

#[test]
fn unknown_module_suggests_close_names() {
    let repo = fixture();
    let out = portlib(repo.path(), &["build", "--format=py", "fnmatc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown module `fnmatc`"), "{stderr}");
    assert!(stderr.contains("did you mean fnmatch"), "{stderr}");
    assert!(!repo.path().join("build").exists());
}

#[test]
fn test_only_names_need_the_tests_flag() {
    let repo = fixture();
    let out = portlib(
        repo.path(),
        &["build", "--format=py", "unittest.test.test_case"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add --tests"),
        "{}",
        text(&out)
    );
    ok(
        repo.path(),
        &["build", "--format=py", "unittest.test.test_case", "--tests"],
    );
    let paths = manifest_paths(&repo.path().join("build"));
    assert!(paths.contains(&"lib/unittest/test/test_case.py".to_string()));
    assert!(paths.contains(&"lib/unittest/case.py".to_string()));
}

#[test]
fn missing_upstream_is_an_error() {
    let repo = fixture();
    let out = portlib_env(
        repo.path(),
        &["build", "--format=py"],
        &[("PORTLIB_CPYTHON", "/nonexistent/cpython-3.4.9.tar.xz")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cpython-3.4.9.tar.xz"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_patch_that_no_longer_applies_is_an_error() {
    let repo = fixture();
    let dir = repo.path();
    // A hunk whose context is not in upstream glob.py.
    fs::write(
        dir.join("patches/glob.py.diff"),
        "--- a/glob.py\n+++ b/glob.py\n@@ -1,2 +1,2 @@\n-not in upstream\n+replacement\n context\n",
    )
    .unwrap();
    let out = portlib(dir, &["build", "--format=py"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("patches/glob.py.diff"),
        "{}",
        text(&out)
    );
    assert!(!dir.join("build").exists());
}

#[test]
fn syntax_error_points_at_the_effective_source_and_keeps_the_old_bundle() {
    let repo = fixture();
    let dir = repo.path();
    ok(dir, &["build", "--format=py"]);
    let before = tree(&dir.join("build"));

    let work = dir.join("work/glob.py");
    let mut source = fs::read_to_string(&work).unwrap();
    let line = source.lines().count() + 1;
    source.push_str("def broken(: ###\n");
    fs::write(&work, source).unwrap();
    ok(dir, &["refresh", "glob"]);

    let out = portlib(dir, &["build", "--format=py"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("glob.py:{line}:")),
        "expected glob.py:{line}:COL\n{stderr}"
    );
    assert!(stderr.contains("patches/glob.py.diff"), "{stderr}");
    assert!(stderr.contains("def broken(:"), "{stderr}");
    assert_eq!(tree(&dir.join("build")), before, "the old bundle is intact");
    let leftovers: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".portlib-build") || n.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A build that does not need glob is not stopped by it.
    ok(dir, &["build", "--format=py", "posixpath"]);
}

#[test]
fn refuses_to_replace_a_folder_that_is_not_a_bundle() {
    let repo = fixture();
    let dir = repo.path();
    fs::create_dir(dir.join("precious")).unwrap();
    fs::write(dir.join("precious/notes.txt"), "keep me").unwrap();
    let out = portlib(dir, &["build", "--format=py", "--out", "precious"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not look like a portlib bundle"),
        "{}",
        text(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.join("precious/notes.txt")).unwrap(),
        "keep me"
    );
}
