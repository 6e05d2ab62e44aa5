//! Durable local writes: a save that returned survives a power cut, and a
//! save that was killed leaves nothing the next one does not clean up.
//!
//! Atomic is not durable: `rename` makes the new name visible at once, but
//! until the file's data and the directory entry reach the disk a crash can
//! leave an empty or missing file under the final name. So every write here
//! stages the bytes in a hidden sibling, fsyncs it, renames (or links) it
//! into place and fsyncs the directory.
//!
//! Staged names carry the writer's pid (`.<name>.tandem-<pid>-<random>`):
//! before staging, a writer removes the leftovers of earlier writers of the
//! same target whose process is gone, and never those of a live process,
//! which may still be writing. Leftovers without a pid (from older versions:
//! object_store's `<name>#<n>`, `.<name>.tmp-<hex>` model directories,
//! `.<name>.<hex>.tmp` / `.partial` files) are removed once older than
//! [`STALE_AGE`].
//!
//! ```
//! # let dir = tempfile::tempdir()?;
//! use tandem_io::durable;
//!
//! let target = dir.path().join("data/model_input.csv");
//! durable::write_file(&target, b"id,price\n")?;
//! assert_eq!(std::fs::read(&target)?, b"id,price\n");
//! let err = durable::write_new(&target, b"again").unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// How old a leftover without a pid must be before it is removed: long
/// enough that no live write (a multi-gigabyte upload, a model save) can
/// still own it.
pub const STALE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// What marks a staged name, between the target's name and the pid.
const MARK: &str = ".tandem-";

/// Writes `bytes` to `path`, replacing what was there, durably: parent
/// directories are created (and their entries synced), the bytes are staged
/// in a hidden sibling, fsynced, renamed into place, and the directory is
/// fsynced.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let staged = stage_file(path, bytes)?;
    let renamed = fs::rename(&staged, path);
    if renamed.is_err() {
        // Best effort: the rename error is what the caller needs.
        let _ = fs::remove_file(&staged);
    }
    renamed?;
    sync_dir(parent(path))
}

/// Like [`write_file`], but fails with [`io::ErrorKind::AlreadyExists`] when
/// `path` exists; the check and the publication are one atomic step (a hard
/// link, which never replaces).
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let staged = stage_file(path, bytes)?;
    let linked = fs::hard_link(&staged, path);
    // The staged name is only a handle; whether the link worked or not, it
    // goes, and a failed removal leaves a leftover the next save cleans up.
    let _ = fs::remove_file(&staged);
    linked?;
    sync_dir(parent(path))
}

/// Writes `bytes` to a fresh staged sibling of `path` and fsyncs it; the
/// caller publishes it with [`rename_durably`] (or removes it).
pub fn stage_file(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let (staged, mut file) = create_staged(path, |p| {
        OpenOptions::new().write(true).create_new(true).open(p)
    })?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&staged);
        return Err(e);
    }
    Ok(staged)
}

/// Creates a fresh, empty staging directory for `dir` (a hidden sibling
/// named after it and this process), after removing what dead writers of
/// `dir` left. Fill it, then [`sync_tree`] it and [`rename_durably`] it
/// into place.
pub fn create_staging_dir(dir: &Path) -> io::Result<PathBuf> {
    create_staged(dir, |p| fs::create_dir(p)).map(|(p, ())| p)
}

/// The hidden sibling a download or a foreign writer streams into before
/// [`rename_durably`]: created empty, after removing dead writers'
/// leftovers. The caller writes it and must fsync it before the rename.
pub fn create_staging_file(path: &Path) -> io::Result<PathBuf> {
    create_staged(path, |p| {
        OpenOptions::new().write(true).create_new(true).open(p)
    })
    .map(|(p, _)| p)
}

fn create_staged<T>(
    target: &Path,
    create: impl Fn(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the target needs a name"))?;
    let dir = parent(target);
    create_dir_all(dir)?;
    // Cleaning is a courtesy to the disk: it must never fail a save.
    let _ = clean_leftovers(target);
    loop {
        let staged = dir.join(staged_name(name));
        match create(&staged) {
            Ok(made) => return Ok((staged, made)),
            // Only if the random part repeated; draw again.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

fn staged_name(name: &OsStr) -> String {
    format!(
        ".{}{MARK}{}-{:016x}",
        name.to_string_lossy(),
        std::process::id(),
        random()
    )
}

/// A value unlikely to repeat across processes and calls: no RNG crate for
/// a name that `create_new` protects anyway.
fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64 of the mix, so consecutive names do not look alike.
    let mut z = nanos ^ count.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(std::process::id());
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Renames `from` to `to` (a file or a directory) and fsyncs the
/// directories whose entries changed. `from` must already be synced
/// ([`stage_file`], [`sync_tree`]).
pub fn rename_durably(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    let (old, new) = (parent(from), parent(to));
    sync_dir(new)?;
    if old != new {
        sync_dir(old)?;
    }
    Ok(())
}

/// Fsyncs a directory, so the entries created, renamed or removed in it
/// survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Fsyncs every regular file and directory under `dir`, then `dir` itself,
/// deepest first; symlinks are not followed.
pub fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            sync_tree(&entry.path())?;
        } else if kind.is_file() {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// `fs::create_dir_all`, then an fsync of the parent of every directory it
/// created, so a new directory's entry is as durable as the file put in it.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut probe = dir;
    while !probe.as_os_str().is_empty() && !probe.exists() {
        missing.push(probe);
        match probe.parent() {
            Some(up) => probe = up,
            None => break,
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        sync_dir(parent(created))?;
    }
    Ok(())
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Removes what earlier, dead writers of `target` left next to it (staged
/// files and directories); returns how many entries went. Staging names of
/// live processes are never touched.
pub fn clean_leftovers(target: &Path) -> io::Result<usize> {
    let Some(name) = target.file_name().map(OsStr::to_string_lossy) else {
        return Ok(0);
    };
    let ours = format!(".{name}{MARK}");
    let legacy_hidden = format!(".{name}.");
    let legacy_object_store = format!("{name}#");
    remove_stale(parent(target), |entry| {
        if let Some(rest) = entry.strip_prefix(&ours) {
            return Some(owner(rest));
        }
        let legacy = entry.strip_prefix(&legacy_hidden).is_some_and(|rest| {
            rest.starts_with("tmp-") || rest.ends_with(".tmp") || rest.ends_with(".partial")
        }) || entry
            .strip_prefix(&legacy_object_store)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        legacy.then_some(None)
    })
}

/// The prefix for a temporary entry of this process in a shared directory
/// (`<stem>-<pid>-`), for `tempfile::Builder::prefix`; pair it with
/// [`clean_temp_leftovers`].
pub fn temp_prefix(stem: &str) -> String {
    format!("{stem}-{}-", std::process::id())
}

/// Removes the `<stem>-<pid>-*` entries of `dir` (typically
/// `std::env::temp_dir()`) whose process is gone, and `<stem>-*` entries
/// without a pid older than [`STALE_AGE`]; returns how many went.
pub fn clean_temp_leftovers(dir: &Path, stem: &str) -> io::Result<usize> {
    let prefix = format!("{stem}-");
    remove_stale(dir, |entry| entry.strip_prefix(&prefix).map(owner))
}

/// The pid a staging suffix `<pid>-<random>` names, if it has one.
fn owner(rest: &str) -> Option<u32> {
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Removes the entries of `dir` that `matches` claims (with the owner's pid
/// when the name has one) and that are stale: their owner is dead, or they
/// have no owner and are older than [`STALE_AGE`].
fn remove_stale(dir: &Path, matches: impl Fn(&str) -> Option<Option<u32>>) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(owner) = matches(&name.to_string_lossy()) else {
            continue;
        };
        let stale = match owner {
            Some(pid) => !process_alive(pid),
            None => older_than(&entry.path(), STALE_AGE),
        };
        if !stale {
            continue;
        }
        let path = entry.path();
        let gone = if entry.file_type()?.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match gone {
            Ok(()) => removed += 1,
            // Another writer cleaned it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|elapsed| elapsed > age)
}

/// Whether a process with this pid exists. Where that cannot be told
/// (no `/proc`), every process counts as alive: a leftover is a leak, a
/// removed live staging file a failed save.
pub fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid no process can have: above the kernel's maximum.
    fn dead_pid() -> u32 {
        let max: u32 = fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4_194_304);
        max + 1
    }

    #[test]
    fn writes_replace_and_leave_no_staged_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c.json");
        write_file(&target, b"1").unwrap();
        write_file(&target, b"22").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"22");
        let err = write_new(&target, b"333").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&target).unwrap(), b"22");
        write_new(&dir.path().join("a/b/d.json"), b"4").unwrap();
        let mut names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["c.json", "d.json"]);
    }

    #[test]
    fn dead_writers_leftovers_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("m.csv");
        let dead = dir
            .path()
            .join(format!(".m.csv.tandem-{}-00ff", dead_pid()));
        let live = dir
            .path()
            .join(format!(".m.csv.tandem-{}-00ff", std::process::id()));
        let dead_dir = dir
            .path()
            .join(format!(".m.csv.tandem-{}-0abc", dead_pid()));
        let other = dir
            .path()
            .join(format!(".n.csv.tandem-{}-00ff", dead_pid()));
        // Without a pid and fresh: kept until STALE_AGE.
        let young_legacy = dir.path().join("m.csv#3");
        for file in [&dead, &live, &other, &young_legacy] {
            fs::write(file, b"partial").unwrap();
        }
        fs::create_dir_all(dead_dir.join("sub")).unwrap();
        write_file(&target, b"x").unwrap();
        assert!(!dead.exists() && !dead_dir.exists());
        assert!(live.exists() && other.exists() && young_legacy.exists());
    }

    #[test]
    fn staging_dirs_are_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        let staging = create_staging_dir(&model).unwrap();
        let name = staging.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!(".model.tandem-{}-", std::process::id())),
            "{name}"
        );
        fs::create_dir(staging.join("bin")).unwrap();
        fs::write(staging.join("bin/x"), b"x").unwrap();
        sync_tree(&staging).unwrap();
        rename_durably(&staging, &model).unwrap();
        assert_eq!(fs::read(model.join("bin/x")).unwrap(), b"x");
        assert!(!staging.exists());
    }

    #[test]
    fn temp_leftovers_of_dead_processes_go() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!("tandem-model-{}-abc", dead_pid()));
        let live = dir
            .path()
            .join(format!("{}abc", temp_prefix("tandem-model")));
        let legacy = dir.path().join("tandem-model-Xy12ab");
        let unrelated = dir.path().join(format!("other-{}-abc", dead_pid()));
        for d in [&dead, &live, &legacy, &unrelated] {
            fs::create_dir(d).unwrap();
        }
        assert_eq!(clean_temp_leftovers(dir.path(), "tandem-model").unwrap(), 1);
        assert!(!dead.exists());
        assert!(live.exists() && legacy.exists() && unrelated.exists());
    }

    #[test]
    fn liveness_follows_proc() {
        assert!(process_alive(std::process::id()));
        if Path::new("/proc/self").exists() {
            assert!(!process_alive(dead_pid()));
        }
    }
}
