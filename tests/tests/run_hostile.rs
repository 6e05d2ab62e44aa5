//! `tandem run` on a hostile parquet input: a 100-byte file whose footer
//! and only page state a billion rows, of which the data holds one. The
//! catalog's reader reserved, and filled, 7.8 GB for those rows before
//! finding out; now the run fails with an error naming the dataset (exit
//! 1, never a panic's 101) in bounded memory. Linux only: memory is read
//! from /proc.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tandem_test_support::memory;
use tandem_test_support::parquet::billion_rows;
use tandem_tests::tandem_bin;

/// A project whose catalog's one entry, `hostile`, is a file of one
/// required int64 column `x` whose footer, row group and one data page
/// state a billion rows, and whose page holds one value.
fn project(dir: &Path) {
    let write = |relative: &str, bytes: &[u8]| {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        "conf/base/catalog.yml",
        b"hostile:\n  type: pandas.ParquetDataset\n  filepath: data/01_raw/hostile.parquet\n",
    );
    write(
        "hostile.yml",
        b"nodes:\n  - {name: copy, func: builtin:identity, inputs: hostile, outputs: copy}\n",
    );
    write("data/01_raw/hostile.parquet", &billion_rows());
}

/// What the child's peak resident memory may be; before the fix it was
/// 7.8 GB, now about 170 MB (the binary, and the rows the reader may set
/// aside before the data confirms them).
const PEAK_LIMIT_KB: u64 = 300 * 1024;

/// Waits for `child`, reading its peak memory every millisecond. VmHWM
/// only grows, so the last reading before it exits is its peak but for
/// what it could touch in the last millisecond (a few MB). A child past
/// `PEAK_LIMIT_KB` or running over a minute is killed.
fn wait_measuring(child: &mut Child) -> (ExitStatus, u64) {
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kb) = memory::peak_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        if peak > PEAK_LIMIT_KB || started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            return (child.wait().unwrap(), peak);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_parquet_file_stating_rows_it_lacks_fails_the_run_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    assert!(billion_rows().len() < 128);
    let stderr_path = dir.path().join("stderr.json");
    let mut child = Command::new(tandem_bin())
        .args(["run", "--spec", "hostile.yml", "--json"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("TANDEM_ENV")
        .env_remove("MLFLOW_TRACKING_URI")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // A file, not a pipe: nothing reads a pipe while the child runs.
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the tandem binary starts");
    let (status, peak) = wait_measuring(&mut child);
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(peak <= PEAK_LIMIT_KB, "peak {peak} kB: {stderr}");
    assert_eq!(status.code(), Some(1), "{status}: {stderr}");
    let error: serde_json::Value = serde_json::from_str(&stderr)
        .unwrap_or_else(|e| panic!("stderr is not one JSON value ({e}): {stderr}"));
    let error = &error["error"];
    assert_eq!(
        (&error["kind"], &error["cause"], &error["node"]),
        (&"run_failed".into(), &"format".into(), &"copy".into()),
        "{error}"
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("node 'copy' failed: hostile: parquet error for '")
            && message.contains("hostile.parquet': column 'x'"),
        "{message}"
    );
    assert_eq!(error["completed"], serde_json::json!([]), "{error}");
}
