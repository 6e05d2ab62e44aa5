//! Process supervision for servers and commands started by tests and
//! `cargo xtask e2e`: every child is started in its own process group and
//! stopped with its whole group (MLflow's servers fork workers, the
//! python_function loader starts tandem executables), however the parent
//! ends:
//!
//! - returning or panicking: [`Service`]'s `Drop` sends SIGTERM to the group,
//!   waits, then SIGKILL; [`WorkDir`]'s `Drop` removes the temporary tree;
//! - killed (Ctrl-C, SIGKILL), or ending with services in statics (which are
//!   never dropped): a [`Janitor`], a small `sh` in its own process group
//!   that ignores terminal signals, reads the live groups' ids on its
//!   standard input and, when that pipe closes because the parent is gone,
//!   kills them and removes the work directory. [`for_process`] is the
//!   janitor of the servers a test process keeps for its whole life.
//!
//! std only: signals are sent with `kill(1)`, so no `unsafe` is needed.

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a stopped group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// Reads `+<pgid>` / `-<pgid>` lines until end of input, then kills the
/// groups still listed and removes the directory `$0`.
const JANITOR: &str = r#"
trap '' INT HUP TERM
groups=""
while read -r line; do
  case "$line" in
    +*) groups="$groups ${line#+}" ;;
    -*) keep=""; for g in $groups; do [ "$g" = "${line#-}" ] || keep="$keep $g"; done; groups="$keep" ;;
  esac
done
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
[ -n "$groups" ] && sleep 3
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
rm -rf -- "$0"
"#;

/// A temporary directory, removed on drop.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// A new empty directory `<tmp>/<prefix>-<pid>-<nanos>`.
    pub fn create(prefix: &str) -> Result<WorkDir, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(WorkDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    #[allow(
        clippy::print_stderr,
        reason = "a drop cannot return the error, and a leftover directory is worth a line"
    )]
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                eprintln!("could not remove {}: {e}", self.path.display());
            }
            _ => {}
        }
    }
}

/// The watchdog that cleans up after a killed xtask (see the module docs).
#[derive(Debug)]
pub struct Janitor {
    child: Child,
    handle: JanitorHandle,
}

/// What services use to (un)register their process group with the janitor.
#[derive(Debug, Clone)]
pub struct JanitorHandle(Arc<Mutex<Option<ChildStdin>>>);

impl JanitorHandle {
    fn send(&self, line: &str) {
        let mut stdin = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipe) = stdin.as_mut() {
            // A janitor that died cannot be helped; the Drop guards still run.
            let _ = writeln!(pipe, "{line}");
        }
    }
}

impl Janitor {
    /// Starts the janitor of `work_dir`, which it removes when the pipe
    /// closes.
    pub fn start(work_dir: &Path) -> Result<Janitor, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(JANITOR)
            .arg(work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("start the janitor (sh): {e}"))?;
        let stdin = child.stdin.take();
        Ok(Janitor {
            child,
            handle: JanitorHandle(Arc::new(Mutex::new(stdin))),
        })
    }

    /// What services register with.
    pub fn handle(&self) -> JanitorHandle {
        self.handle.clone()
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        // Closing its input makes it clean up whatever is left and exit.
        self.handle
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The janitor and scratch directory of what a process keeps running for
/// its whole life: the test servers, which live in statics.
#[derive(Debug)]
pub struct ProcessScope {
    // A plain path, not a `WorkDir`: the scope lives in a static and is never
    // dropped, so the janitor is what removes the directory.
    dir: PathBuf,
    janitor: Janitor,
    next: AtomicUsize,
}

impl ProcessScope {
    /// What the process's services register with.
    pub fn janitor(&self) -> JanitorHandle {
        self.janitor.handle()
    }

    /// A new empty directory `<prefix>-<n>` inside the scope's directory,
    /// removed with it when the process ends.
    pub fn new_dir(&self, prefix: &str) -> Result<PathBuf, String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let dir = self.dir.join(format!("{prefix}-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        Ok(dir)
    }
}

/// This process's [`ProcessScope`] (directory `<tmp>/tandem-test-<pid>-<nanos>`),
/// started on first use.
///
/// # Panics
///
/// When the directory cannot be created or `sh` cannot be started.
pub fn for_process() -> &'static ProcessScope {
    static SCOPE: OnceLock<ProcessScope> = OnceLock::new();
    SCOPE.get_or_init(|| {
        WorkDir::create("tandem-test")
            .and_then(|dir| {
                let janitor = Janitor::start(dir.path())?;
                // From here on the janitor owns the directory's removal.
                let dir = std::mem::ManuallyDrop::new(dir);
                Ok(ProcessScope {
                    dir: dir.path().to_owned(),
                    janitor,
                    next: AtomicUsize::new(0),
                })
            })
            .unwrap_or_else(|e| panic!("the process's janitor: {e}"))
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// A child process in its own process group, its output in a log file,
/// stopped with its group when dropped.
#[derive(Debug)]
pub struct Service {
    /// What messages call it.
    pub name: String,
    /// The file holding its stdout and stderr.
    pub log: PathBuf,
    child: Child,
    pgid: u32,
    janitor: JanitorHandle,
    stopped: bool,
}

impl Service {
    /// Spawns `command` with stdin closed and stdout+stderr into `log`.
    pub fn spawn(
        name: &str,
        mut command: Command,
        log: &Path,
        janitor: &JanitorHandle,
    ) -> Result<Service, String> {
        let file = File::create(log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let err = file
            .try_clone()
            .map_err(|e| format!("clone {}: {e}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("start {name} ({:?}): {e}", command.get_program()))?;
        let pgid = child.id();
        janitor.send(&format!("+{pgid}"));
        Ok(Service {
            name: name.to_owned(),
            log: log.to_owned(),
            child,
            pgid,
            janitor: janitor.clone(),
            stopped: false,
        })
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Prints the log's tail to stderr, framed with the service's name.
    #[allow(
        clippy::print_stderr,
        reason = "a failed service's log is for the person reading the failure"
    )]
    pub fn print_log(&self, lines: usize) {
        eprintln!(
            "----- {} log ({}), last {lines} lines -----\n{}\n----- end of {} log -----",
            self.name,
            self.log.display(),
            self.log_tail(lines),
            self.name
        );
    }

    /// Waits until the process exits, at most `timeout`; kills the group
    /// when it takes longer.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "{} did not finish within {} s (killed)",
                    self.name,
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls `ready` until it returns true, the process exits or
    /// `timeout` passes; the error carries the log's tail (also printed).
    pub fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                self.print_log(60);
                return Err(format!(
                    "{} exited ({status}) before it was ready: {}",
                    self.name,
                    last_line(&self.log_tail(40))
                ));
            }
            if started.elapsed() > timeout {
                self.print_log(60);
                return Err(format!(
                    "{} not ready after {} s: {}",
                    self.name,
                    timeout.as_secs(),
                    last_line(&self.log_tail(40))
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM to the group, SIGKILL after the grace period; idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        signal_group(self.pgid, "TERM");
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && self.exited().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        // Also reaches children left behind by a leader that exited.
        signal_group(self.pgid, "KILL");
        let _ = self.child.wait();
        self.janitor.send(&format!("-{}", self.pgid));
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last non-empty line of a log, the one that usually says why.
pub fn last_line(text: &str) -> String {
    crate::http::clip(
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(empty log)"),
    )
}

/// Runs `command` to completion as a supervised [`Service`] with its output
/// in `log`; a non-zero exit is an error quoting the log's last line (the
/// whole tail is printed).
pub fn run_logged(
    name: &str,
    command: Command,
    log: &Path,
    janitor: &JanitorHandle,
    timeout: Duration,
) -> Result<(), String> {
    let mut service = Service::spawn(name, command, log, janitor)?;
    let status = service.wait(timeout)?;
    if status.success() {
        Ok(())
    } else {
        service.print_log(40);
        Err(format!(
            "{name} failed ({status}): {}",
            last_line(&service.log_tail(40))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `sh` with a background `sleep` in its group; returns the
    /// service and the sleep's pid, read from the log.
    fn sh_with_child(work: &Path, janitor: &JanitorHandle) -> (Service, u32) {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 60 & echo $!; wait"]);
        let mut service = Service::spawn("sh", command, &work.join("sh.log"), janitor).unwrap();
        service
            .wait_ready(Duration::from_secs(10), || {
                !std::fs::read_to_string(work.join("sh.log"))
                    .unwrap_or_default()
                    .is_empty()
            })
            .unwrap();
        let pid = service.log_tail(1).trim().parse().unwrap();
        (service, pid)
    }

    /// Whether `pid` still runs (a zombie waiting for its reaper does not).
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or_default()
                .starts_with(" Z")
        })
    }

    fn eventually_dead(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        !alive(pid)
    }

    #[test]
    fn stopping_a_service_stops_its_whole_group() {
        let work = WorkDir::create("tandem-process-test").unwrap();
        let janitor = Janitor::start(work.path()).unwrap();
        let (mut service, sleep) = sh_with_child(work.path(), &janitor.handle());
        assert!(alive(sleep));
        service.stop();
        assert!(service.exited().is_some());
        assert!(eventually_dead(sleep), "sleep {sleep} outlived its group");
    }

    #[test]
    fn the_janitor_stops_what_its_owner_left_running_and_removes_the_directory() {
        let work = WorkDir::create("tandem-janitor-test").unwrap();
        let janitor = Janitor::start(work.path()).unwrap();
        let (service, sleep) = sh_with_child(work.path(), &janitor.handle());
        // As if the owner died: no `Drop` of the service runs.
        std::mem::forget(service);
        drop(janitor);
        assert!(eventually_dead(sleep), "sleep {sleep} outlived the janitor");
        assert!(!work.path().exists());
    }
}
