//! This client against MLflow's Python client (3.17.2), both talking to the
//! same local `mlflow server` (SQLite backend, proxied artifacts): logging
//! 10,000 metrics in one batch call, 1,000 single `log_metric` calls, and
//! uploading and downloading a 200 MB artifact. Prints medians as a Markdown
//! table for docs/benchmarks.md.
//!
//! Run with `cargo bench -p tandem-mlflow-client --bench mlflow`;
//! tandem-test-support installs MLflow into `target/py-mlflow` on first use.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::io::Write;
use std::time::{Duration, Instant};

use tandem_mlflow_client::{Config, Metric, MlflowClient, NewRun};
use tandem_test_support::mlflow;

const METRICS: i64 = 10_000;
const SINGLE: i64 = 1_000;
const FILE_MB: usize = 200;
const REPS: usize = 3;
const FILE_REPS: usize = 3;

const PYTHON: &str = r#"
import json, os, shutil, tempfile, time
from mlflow import MlflowClient
from mlflow.entities import Metric
c = MlflowClient(tracking_uri=os.environ["URI"])
eid = c.get_experiment_by_name("bench").experiment_id
res = {"batch": [], "single": [], "upload": [], "download": []}
for _ in range(int(os.environ["REPS"])):
    rid = c.create_run(eid).info.run_id
    now = int(time.time() * 1000)
    ms = [Metric("loss", i / 10, now + i, i) for i in range(int(os.environ["METRICS"]))]
    t = time.perf_counter(); c.log_batch(rid, metrics=ms); res["batch"].append(time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(int(os.environ["SINGLE"])):
        c.log_metric(rid, "single", i, step=i)
    res["single"].append(time.perf_counter() - t)
for _ in range(int(os.environ["FILE_REPS"])):
    rid = c.create_run(eid).info.run_id
    t = time.perf_counter(); c.log_artifact(rid, os.environ["FILE"]); res["upload"].append(time.perf_counter() - t)
    d = tempfile.mkdtemp()
    t = time.perf_counter(); c.download_artifacts(rid, "big.bin", d); res["download"].append(time.perf_counter() - t)
    shutil.rmtree(d)
print(json.dumps(res))
"#;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let server = mlflow::server();
    let client = MlflowClient::new(Config::default().with_tracking_uri(&server.uri)).unwrap();
    let exp = client.get_or_create_experiment("bench").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.bin");
    let mut file = std::fs::File::create(&big).unwrap();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let chunk: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for _ in 0..FILE_MB {
        file.write_all(&chunk).unwrap();
    }
    drop(file);

    let new_run = || {
        client
            .create_run(&NewRun::new(&exp.experiment_id))
            .unwrap()
            .info
            .run_id
    };
    let (mut batch, mut single, mut upload, mut download) = (vec![], vec![], vec![], vec![]);
    for _ in 0..REPS {
        let run = new_run();
        let now = tandem_mlflow_client::now_millis();
        let metrics: Vec<Metric> = (0..METRICS)
            .map(|i| Metric::new("loss", i as f64 / 10.0, i).at(now + i))
            .collect();
        batch.push(timed(|| {
            client.log_batch(&run, &metrics, &[], &[]).unwrap()
        }));
        single.push(timed(|| {
            for i in 0..SINGLE {
                client.log_metric(&run, "single", i as f64, i).unwrap();
            }
        }));
    }
    for i in 0..FILE_REPS {
        let run = new_run();
        upload.push(timed(|| {
            client.log_artifact(&run, &big, None).unwrap();
        }));
        let dst = tmp.path().join(format!("dl{i}"));
        download.push(timed(|| {
            client.download_artifacts(&run, "big.bin", &dst).unwrap();
        }));
        std::fs::remove_dir_all(&dst).unwrap();
    }

    let out = mlflow::command("python")
        .args(["-c", PYTHON])
        .env("URI", &server.uri)
        .env("FILE", &big)
        .env("REPS", REPS.to_string())
        .env("FILE_REPS", FILE_REPS.to_string())
        .env("METRICS", METRICS.to_string())
        .env("SINGLE", SINGLE.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(
        out.stdout
            .trim_ascii()
            .rsplit(|b| *b == b'\n')
            .next()
            .unwrap(),
    )
    .unwrap();
    let py_median = |key: &str| {
        median(
            py[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| Duration::from_secs_f64(v.as_f64().unwrap()))
                .collect(),
        )
    };

    println!("| operation | tandem-mlflow-client | MLflow Python client | speed-up |");
    println!("|---|---|---|---|");
    for (name, rust, key) in [
        (format!("log_batch, {METRICS} metrics"), batch, "batch"),
        (format!("{SINGLE} × log_metric"), single, "single"),
        (format!("upload {FILE_MB} MB artifact"), upload, "upload"),
        (
            format!("download {FILE_MB} MB artifact"),
            download,
            "download",
        ),
    ] {
        let (r, p) = (median(rust), py_median(key));
        println!(
            "| {name} | {:.3} s | {:.3} s | {:.1}× |",
            r.as_secs_f64(),
            p.as_secs_f64(),
            p.as_secs_f64() / r.as_secs_f64()
        );
    }
}
