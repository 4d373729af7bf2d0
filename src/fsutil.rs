//! Filesystem helpers shared by every writer: nothing is ever left half-written.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically: a temporary file in the same folder, flushed and synced,
/// then renamed over the target. A crash or Ctrl-C leaves either the old file or the new one.
///
/// The file gets the permissions an ordinary create would give it (0666 less the umask), or
/// keeps those of the file it replaces.
///
/// A target that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a named pipe)
/// is written in place: renaming over it would replace the device node itself, which for
/// `-o /dev/null` run as root destroys the machine's `/dev/null`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() && !meta.is_dir() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            f.write_all(bytes)?;
            return f.flush();
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    // tempfile's own default is 0600, private to the owner: wrong for a bundle, a patch or a
    // report that others read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o666, |m| m.permissions().mode() & 0o7777);
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A fresh temporary folder beside `target` (same parent, so the final rename stays on one file
/// system), named `.<prefix>-<pid>-XXXX` so it never looks like the finished tree. Fill it, then
/// [`replace_dir`] it into place. What an interrupted earlier run left beside `target` (its
/// staging folder, the old tree [`replace_dir`] set aside) is removed first, once the process
/// that made it is gone.
pub fn staging_dir_beside(target: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    sweep_leftovers(&parent, prefix, &name);
    let prefix = format!(".{prefix}-{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    // Renamed into place, the folder must look like one made by mkdir (0777 less the umask),
    // not tempfile's private 0700.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o777));
    }
    builder.tempdir_in(&parent)
}

/// Delete `.<prefix>-<pid>-…` and `.<name>.old-<pid>` folders in `parent` whose process no
/// longer runs (Ctrl-C or a crash skips the clean-up, and each is a whole tree). Best effort:
/// a folder that cannot be removed stays.
fn sweep_leftovers(parent: &Path, prefix: &str, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let staging = format!(".{prefix}-");
    let old = format!(".{name}.old-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let pid = if let Some(rest) = file_name.strip_prefix(&staging) {
            rest.split_once('-').map(|(pid, _)| pid)
        } else if !name.is_empty() {
            file_name.strip_prefix(&old)
        } else {
            None
        };
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_exists(pid) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                log::debug!("cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

/// Whether a process with this id runs (assumed yes where that cannot be asked).
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        let Ok(raw) = i32::try_from(pid) else {
            return true;
        };
        !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None),
            Err(Errno::ESRCH)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Move the folder `staged` to `target`, replacing whatever was there. The old tree is first
/// renamed aside, so `target` is at every moment either the old tree, absent for an instant, or
/// the new tree: never a mix of both.
pub fn replace_dir(staged: &Path, target: &Path) -> io::Result<()> {
    if target.exists() {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = target.with_file_name(format!(".{name}.old-{}", std::process::id()));
        std::fs::rename(target, &old)?;
        std::fs::rename(staged, target)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(staged, target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `portlib compile -o /dev/null` (run as root) renamed its temporary file over
    /// `/dev/null`, leaving a regular file there.
    #[cfg(unix)]
    #[test]
    fn write_atomic_writes_into_a_device_or_pipe_instead_of_replacing_it() {
        use std::os::unix::fs::FileTypeExt;
        write_atomic(Path::new("/dev/null"), b"discarded").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "{meta:?}");

        // A named pipe keeps being a pipe, and its reader gets the bytes.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.as_ref().is_ok_and(|s| s.success()), "mkfifo: {made:?}");
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        let meta = std::fs::metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo(), "{meta:?}");
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    /// Regression: files came out 0600 and staged folders 0700 (tempfile's defaults), so a
    /// bundle, a compiled `.mpy` or a refreshed patch was unreadable to other users.
    #[cfg(unix)]
    #[test]
    fn written_files_and_staged_folders_get_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        // What a plain create gives under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        let plain_dir = dir.path().join("plain-dir");
        std::fs::create_dir(&plain_dir).unwrap();

        let new = dir.path().join("new.txt");
        write_atomic(&new, b"x").unwrap();
        assert_eq!(
            mode(&new),
            mode(&plain),
            "a new file gets 0666 less the umask"
        );

        let script = dir.path().join("script.sh");
        std::fs::write(&script, b"old").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o750)).unwrap();
        write_atomic(&script, b"new").unwrap();
        assert_eq!(mode(&script), 0o750, "a replaced file keeps its mode");

        let staged = staging_dir_beside(&dir.path().join("out"), "test").unwrap();
        assert_eq!(mode(staged.path()), mode(&plain_dir));
    }

    /// Regression: Ctrl-C during a build or strip left its staging folder (a whole bundle)
    /// beside the output for good, and every interrupted run added one.
    #[cfg(unix)]
    #[test]
    fn leftovers_of_dead_runs_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".test-{dead}-abc"));
        let set_aside = dir.path().join(format!(".out.old-{dead}"));
        let ours = dir.path().join(format!(".test-{}-xyz", std::process::id()));
        let other = dir.path().join(".unrelated-1-x");
        for d in [&stale, &set_aside, &ours, &other] {
            std::fs::create_dir_all(d.join("lib")).unwrap();
        }
        let staged = staging_dir_beside(&target, "test").unwrap();
        assert!(
            !stale.exists() && !set_aside.exists(),
            "dead run's leftovers kept"
        );
        assert!(ours.exists(), "a live run's staging folder removed");
        assert!(other.exists());
        let name = staged
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!(".test-{}-", std::process::id())),
            "{name}"
        );
    }

    #[test]
    fn replace_dir_swaps_whole_trees() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir_all(target.join("stale")).unwrap();
        let staged = staging_dir_beside(&target, "test").unwrap();
        std::fs::write(staged.path().join("new.txt"), b"x").unwrap();
        let staged = staged.keep();
        replace_dir(&staged, &target).unwrap();
        assert!(target.join("new.txt").is_file());
        assert!(!target.join("stale").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out"], "staging or old tree left behind");
    }
}
