//! Process supervision: every child of the e2e run is started in its own
//! process group and stopped with its whole group (MLflow's servers fork
//! workers, the python_function loader starts tandem executables), however
//! xtask ends:
//!
//! - returning or panicking: [`Service`]'s `Drop` sends SIGTERM to the group,
//!   waits, then SIGKILL; [`WorkDir`]'s `Drop` removes the temporary tree;
//! - killed (Ctrl-C, SIGKILL): a [`Janitor`], a small `sh` in its own process
//!   group that ignores terminal signals, reads the live groups' ids on its
//!   standard input and, when that pipe closes because xtask is gone, kills
//!   them and removes the work directory (the test harnesses' stdin trick).
//!
//! std only: signals are sent with `kill(1)`, so no `unsafe` is needed.

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
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

/// The temporary directory of one e2e run, removed on drop.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// A new empty directory `<tmp>/tandem-e2e-<pid>-<nanos>`.
    pub fn create() -> Result<WorkDir, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("tandem-e2e-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(WorkDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                eprintln!("xtask e2e: could not remove {}: {e}", self.path.display());
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
    /// Starts the janitor of `work_dir`.
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
    pub name: String,
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
    crate::e2e::http::clip(
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
