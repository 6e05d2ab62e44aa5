//! Debian packages the harnesses need (Chromium, PostgreSQL), installed
//! with apt-get when they are missing: once per target directory, under an
//! exclusive lock on `<target>/<package>.lock`, so concurrent test
//! processes wait for the one that installs.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::python::target_dir;

/// Whether this process runs as root (installing needs it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// What `found` finds, installing Debian's `package` first when it finds
/// nothing; `what` names the missing thing in errors ("`chromium` on PATH").
pub fn find_or_install(
    package: &str,
    what: &str,
    found: impl Fn() -> Option<PathBuf>,
) -> Result<PathBuf, String> {
    if let Some(path) = found() {
        return Ok(path);
    }
    let target = target_dir();
    std::fs::create_dir_all(&target).map_err(|e| format!("create {}: {e}", target.display()))?;
    let _lock = crate::python::exclusive_lock(&target.join(format!("{package}.lock")))?;
    // Another process may have installed it while this one waited.
    if let Some(path) = found() {
        return Ok(path);
    }
    if !is_root() {
        return Err(format!(
            "no {what}, and installing Debian's `{package}` package needs root"
        ));
    }
    let log = target.join(format!("{package}-install.log"));
    let script = format!(
        "apt-get install -y --no-install-recommends {package} \
         || (apt-get update && apt-get install -y --no-install-recommends {package})"
    );
    let status = Command::new("sh")
        .args(["-c", &format!("({script}) > '{}' 2>&1", log.display())])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("run apt-get: {e}"))?;
    if !status.success() {
        return Err(format!(
            "apt-get install {package} failed ({status}); see {}",
            log.display()
        ));
    }
    found().ok_or_else(|| format!("apt-get installed `{package}` but there is still no {what}"))
}
