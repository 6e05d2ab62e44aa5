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

use tandem_tests::tandem_bin;

/// A compact-protocol writer: enough Thrift for a footer and a page header.
struct Thrift {
    out: Vec<u8>,
    /// The last field id written in each struct being written.
    last: Vec<i16>,
}

const I32: u8 = 5;
const I64: u8 = 6;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const STRUCT: u8 = 12;

impl Thrift {
    fn new() -> Thrift {
        Thrift {
            out: Vec::new(),
            last: vec![0],
        }
    }

    fn field(&mut self, id: i16, field_type: u8) -> &mut Self {
        let last = self.last.last_mut().unwrap();
        let delta = id - *last;
        assert!((1..=15).contains(&delta), "fields in order, close together");
        self.out.push(((delta as u8) << 4) | field_type);
        *last = id;
        self
    }

    /// An i32 or i64 field: a zigzag varint.
    fn int(&mut self, id: i16, field_type: u8, v: i64) -> &mut Self {
        self.field(id, field_type);
        let mut v = ((v << 1) ^ (v >> 63)) as u64;
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
        self
    }

    fn binary(&mut self, id: i16, bytes: &[u8]) -> &mut Self {
        self.field(id, BINARY);
        self.out.push(bytes.len() as u8);
        self.out.extend_from_slice(bytes);
        self
    }

    /// A list field of `len` (< 15) elements of `element` type.
    fn list(&mut self, id: i16, element: u8, len: u8) -> &mut Self {
        self.field(id, LIST);
        self.out.push((len << 4) | element);
        self
    }

    /// A struct field, or (`id` 0) a struct element of a list.
    fn begin(&mut self, id: i16) -> &mut Self {
        if id != 0 {
            self.field(id, STRUCT);
        }
        self.last.push(0);
        self
    }

    fn end(&mut self) -> &mut Self {
        self.out.push(0);
        self.last.pop();
        self
    }
}

/// One required int64 column `x`; the footer, its row group and its one
/// data page state a billion rows, and the page holds one value.
fn billion_rows() -> Vec<u8> {
    const BILLION: i64 = 1_000_000_000;
    let data = 7_i64.to_le_bytes();
    let mut page = Thrift::new();
    page.int(1, I32, 0) // DATA_PAGE
        .int(2, I32, data.len() as i64)
        .int(3, I32, data.len() as i64)
        .begin(5)
        .int(1, I32, BILLION) // num_values
        .int(2, I32, 0) // PLAIN
        .int(3, I32, 3) // RLE levels (none: the column is required)
        .int(4, I32, 3)
        .end()
        .end();
    let chunk = (page.out.len() + data.len()) as i64;
    let mut footer = Thrift::new();
    footer.int(1, I32, 1).list(2, STRUCT, 2);
    footer.begin(0).binary(4, b"schema").int(5, I32, 1).end();
    footer
        .begin(0)
        .int(1, I32, 2)
        .int(3, I32, 0)
        .binary(4, b"x")
        .end(); // INT64, REQUIRED
    footer.int(3, I64, BILLION).list(4, STRUCT, 1);
    footer.begin(0).list(1, STRUCT, 1);
    footer.begin(0).int(2, I64, 4).begin(3).int(1, I32, 2);
    footer.list(2, I32, 1).out.push(0); // encodings: PLAIN
    footer.list(3, BINARY, 1).out.extend_from_slice(b"\x01x"); // path_in_schema: x
    footer
        .int(4, I32, 0) // UNCOMPRESSED
        .int(5, I64, BILLION)
        .int(6, I64, chunk)
        .int(7, I64, chunk)
        .int(9, I64, 4) // data_page_offset
        .end()
        .end();
    footer.int(2, I64, chunk).int(3, I64, BILLION).end().end();

    let mut file = b"PAR1".to_vec();
    file.extend_from_slice(&page.out);
    file.extend_from_slice(&data);
    file.extend_from_slice(&footer.out);
    file.extend_from_slice(&(footer.out.len() as u32).to_le_bytes());
    file.extend_from_slice(b"PAR1");
    file
}

/// A project whose catalog's one entry, `hostile`, is that file.
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

/// The peak resident memory (VmHWM) of a running process, in kB; `None`
/// once it has exited (a zombie's status has no memory lines).
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Waits for `child`, reading its peak memory every millisecond. VmHWM
/// only grows, so the last reading before it exits is its peak but for
/// what it could touch in the last millisecond (a few MB). A child past
/// `PEAK_LIMIT_KB` or running over a minute is killed.
fn wait_measuring(child: &mut Child) -> (ExitStatus, u64) {
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kb) = peak_kb(child.id()) {
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
