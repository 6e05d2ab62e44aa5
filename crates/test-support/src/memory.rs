//! Peak memory of test processes, read from `/proc` (Linux): a child
//! process's while it runs, or a test's own when it runs alone in a
//! process of its own (among other tests the peak would be theirs too).
//!
//! ```no_run
//! use tandem_test_support::memory;
//!
//! // The test: its `#[ignore]`d twin `decoding_child`, alone.
//! memory::run_alone("decoding_child");
//!
//! // In `decoding_child`, after the work measured:
//! if let Some(peak_kb) = memory::alone_peak_kb() {
//!     assert!(peak_kb < 64 * 1024, "peak {peak_kb} kB");
//! }
//! ```

use std::process::Command;

/// Set in the process [`run_alone`] starts.
const ALONE: &str = "TANDEM_TEST_ALONE";

/// The peak resident memory (VmHWM) of the running process `pid`, in kB;
/// `None` without `/proc` or once it has exited (a zombie's status has no
/// memory lines).
pub fn peak_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmHWM:")
}

/// The resident memory (VmRSS) of the running process `pid`, in kB;
/// `None` as for [`peak_kb`].
pub fn resident_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:")
}

/// Resets this process's peak (VmHWM) to its resident memory now, so that
/// [`peak_kb`] measures from here on (`/proc/self/clear_refs`, Linux 4.0
/// and later); false where it cannot.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `test`, an ignored test of the running test binary (its full name,
/// `module::name`), alone in a process of its own, where
/// [`alone_peak_kb`] is this process's peak.
///
/// # Panics
///
/// With the child's output, unless it ran exactly that test and it passed.
#[track_caller]
pub fn run_alone(test: &str) {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let out = Command::new(exe)
        .args(["--exact", test, "--ignored"])
        .env(ALONE, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{test}: {stdout}{stderr}");
    assert!(stdout.contains("1 passed"), "{test}: {stdout}{stderr}");
}

/// This process's peak resident memory in kB when [`run_alone`] started
/// it, `None` when it runs among other tests.
///
/// # Panics
///
/// When run alone where `/proc` has no memory lines.
pub fn alone_peak_kb() -> Option<u64> {
    std::env::var_os(ALONE)?;
    Some(peak_kb(std::process::id()).expect("/proc states this process's peak memory"))
}
