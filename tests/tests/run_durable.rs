//! Saves are durable, and a save cleans up what killed saves left.
//!
//! Durability cannot be observed by reading files back (the page cache
//! answers), so the run is traced with strace: every rename or link that
//! publishes a staged file in the project must come after an fsync of that
//! file and be followed by an fsync of its directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run_support::{Project, output};

/// The syscalls the check needs: opens give fd → path, closes end it.
const TRACED: &str = "openat,open,close,fsync,fdatasync,rename,renameat,renameat2,link,linkat";

/// strace, installed with apt when missing and we are root. A missing
/// strace fails the test: a skipped durability check would pass silently.
fn strace() -> PathBuf {
    let found = || {
        Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if root {
            let _ = Command::new("apt-get")
                .args(["install", "-y", "-q", "strace"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status();
        }
    }
    assert!(
        found(),
        "DURABILITY NOT CHECKED: strace is missing and could not be installed \
         (run `apt-get install -y strace` as root)"
    );
    PathBuf::from("strace")
}

/// One syscall that matters, in trace order.
#[derive(Debug)]
enum Call {
    Sync(PathBuf),
    Publish { from: PathBuf, to: PathBuf },
}

/// The quoted string arguments of a syscall line, unescaped enough for
/// plain paths.
fn quoted(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => s.extend(chars.next()),
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

/// Parses `strace -f` output into the calls that succeeded, resolving fds
/// to the paths they were opened with (relative ones against `cwd`).
fn parse(trace: &str, cwd: &Path) -> Vec<Call> {
    let mut pending: HashMap<&str, String> = HashMap::new();
    let mut fds: HashMap<i64, PathBuf> = HashMap::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        // A call interrupted by another thread's is printed in two halves.
        let full = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            // A close frees its fd on entry: another thread's open may
            // return that number (and be printed) before this close is
            // resumed, so the mapping ends here, and the resumed half is
            // dropped rather than ending the new file's mapping.
            if let Some(fd) = head
                .strip_prefix("close(")
                .and_then(|a| a.trim().parse::<i64>().ok())
            {
                fds.remove(&fd);
                continue;
            }
            pending.insert(pid, head.to_owned());
            continue;
        } else if rest.starts_with("<...") {
            let Some(head) = pending.remove(pid) else {
                continue;
            };
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            format!("{head}{tail}")
        } else {
            rest.to_owned()
        };
        let Some((name, args)) = full.split_once('(') else {
            continue;
        };
        // strace pads the result: `fsync(3)        = 0`.
        let Some((args, result)) = args.rsplit_once(')') else {
            continue;
        };
        let result = result.trim_start().strip_prefix('=').unwrap_or("");
        let Ok(ret) = result
            .split_whitespace()
            .next()
            .unwrap_or("")
            .parse::<i64>()
        else {
            continue;
        };
        if ret < 0 {
            continue;
        }
        let paths: Vec<PathBuf> = quoted(args).into_iter().map(|p| cwd.join(p)).collect();
        let first_fd = || {
            args.split(',')
                .next()
                .and_then(|a| a.trim().parse::<i64>().ok())
        };
        match name {
            "openat" | "open" => {
                if let Some(path) = paths.into_iter().next() {
                    fds.insert(ret, path);
                }
            }
            "close" => {
                if let Some(fd) = first_fd() {
                    fds.remove(&fd);
                }
            }
            "fsync" | "fdatasync" => {
                if let Some(path) = first_fd().and_then(|fd| fds.get(&fd)) {
                    calls.push(Call::Sync(path.clone()));
                }
            }
            "rename" | "renameat" | "renameat2" | "link" | "linkat" => {
                if let [from, to, ..] = &paths[..] {
                    calls.push(Call::Publish {
                        from: from.clone(),
                        to: to.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    calls
}

/// What is wrong with each publication under `root`; and where each one
/// went.
fn check(calls: &[Call], root: &Path) -> (Vec<String>, Vec<PathBuf>) {
    let mut problems = Vec::new();
    let mut published = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let Call::Publish { from, to } = call else {
            continue;
        };
        if !to.starts_with(root) {
            continue;
        }
        published.push(to.clone());
        let synced_before = calls[..i]
            .iter()
            .any(|c| matches!(c, Call::Sync(p) if p == from));
        if !synced_before {
            problems.push(format!(
                "{} published without an fsync of it",
                from.display()
            ));
        }
        let dir = to.parent().unwrap_or(root);
        let dir_synced_after = calls[i + 1..]
            .iter()
            .any(|c| matches!(c, Call::Sync(p) if p == dir));
        if !dir_synced_after {
            problems.push(format!(
                "{} renamed into {} without an fsync of the directory after",
                from.display(),
                dir.display()
            ));
        }
        let staged = from
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains(".tandem-"));
        if !staged {
            problems.push(format!("{} is not a tandem staged file", from.display()));
        }
    }
    (problems, published)
}

#[test]
fn every_save_is_fsynced_before_and_after_its_rename() {
    let project = Project::new();
    let trace = project.path("strace.out");
    let mut command = project.command(&strace());
    traced(&mut command, &trace);
    let run = output(command.arg(tandem_tests::tandem_bin()).args([
        "run",
        "--spec",
        "pipelines.yml",
        "--json",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    // Resolved the way the binary sees its working directory.
    let root = project.root().canonicalize().unwrap();
    let calls = parse(&text, &root);
    let (problems, published) = check(&calls, &root);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // cars.parquet (versioned), cars_back.csv, model_input.parquet,
    // prices.csv, local_prices.csv and params.json.
    assert!(
        published.len() >= 6,
        "only {published:?} publications traced:\n{text}"
    );
}

/// `strace` options and output file for a traced child.
fn traced(command: &mut Command, trace: &Path) {
    command
        .args(["-f", "-qq", "-s", "4096", "-e"])
        .arg(format!("trace={TRACED}"))
        .arg("-o")
        .arg(trace);
}

/// A tracked training run into the project's local `mlruns` file store
/// (chosen with `MLFLOW_TRACKING_URI`; the SQLite default leaves its
/// durability to SQLite's journal): the run's metadata and every artifact
/// of its logged model (MLmodel, the pipeline spec, the fitted artifacts,
/// the compressed executable) are published durably inside the project.
#[test]
fn a_tracked_run_publishes_metadata_and_artifacts_durably() {
    let project = tempfile::tempdir().unwrap();
    crate::run_support::copy_dir(
        &tandem_tests::workspace_file("examples/churn/conf"),
        &project.path().join("conf"),
    );
    tandem_tests::ok(&tandem_tests::churn(&["mlflow", "init"], project.path()));
    let trace = project.path().join("strace.out");
    let mut command = Command::new(strace());
    traced(&mut command, &trace);
    let run = output(
        command
            .arg(tandem_tests::churn_bin())
            .args(["run", "--params", "data_generation.n_customers=600", "-q"])
            .current_dir(project.path())
            .env("NO_COLOR", "1")
            .env("MLFLOW_TRACKING_URI", "mlruns"),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    let root = project.path().canonicalize().unwrap();
    let (problems, published) = check(&parse(&text, &root), &root);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let artifacts: Vec<&PathBuf> = published
        .iter()
        .filter(|p| p.components().any(|c| c.as_os_str() == "artifacts"))
        .collect();
    let named = |name: &str| artifacts.iter().any(|p| p.ends_with(name));
    assert!(
        named("MLmodel") && artifacts.iter().any(|p| p.starts_with(root.join("mlruns"))),
        "no model artifact among the publications: {published:#?}"
    );
    let metadata = published
        .iter()
        .filter(|p| p.ends_with("meta.yaml") && p.starts_with(root.join("mlruns")))
        .count();
    assert!(metadata > 0, "no run metadata among {published:#?}");
}

/// A close interrupted by another thread's open of the same fd number: the
/// open is printed first, the close's resumed half after it, and the fsync
/// that follows is of the newly opened file.
#[test]
fn the_parser_ends_an_fd_when_its_close_starts() {
    let root = Path::new("/p");
    let trace = "\
1 openat(AT_FDCWD, \"/p/old\", O_RDONLY) = 5
1 close(5 <unfinished ...>
2 openat(AT_FDCWD, \"/p/.a.tandem-1-2\", O_WRONLY|O_CREAT|O_EXCL, 0666) = 5
1 <... close resumed>) = 0
2 fsync(5) = 0
2 rename(\"/p/.a.tandem-1-2\", \"/p/a\") = 0
2 openat(AT_FDCWD, \"/p\", O_RDONLY|O_CLOEXEC) = 6
2 fsync(6) = 0
";
    let (problems, published) = check(&parse(trace, root), root);
    assert_eq!(published.len(), 1);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_checker_flags_a_rename_without_fsyncs() {
    let root = Path::new("/p");
    let trace = "\
1 openat(AT_FDCWD, \"/p/.a.tandem-1-2\", O_WRONLY|O_CREAT|O_EXCL, 0666) = 3
2 fsync(3 <unfinished ...>
1 close(7)                 = 0
2 <... fsync resumed>) = 0
1 close(3) = 0
1 rename(\"/p/.a.tandem-1-2\", \"/p/a\") = 0
1 openat(AT_FDCWD, \"/p\", O_RDONLY|O_CLOEXEC) = 3
1 fsync(3) = 0
1 rename(\"/p/b#1\", \"/p/b\") = 0
";
    let calls = parse(trace, root);
    let (problems, published) = check(&calls, root);
    assert_eq!(published.len(), 2);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems.iter().all(|p| p.contains("/p/b#1")),
        "{problems:#?}"
    );
}

/// A pid no process can have: above the kernel's limit.
fn dead_pid() -> u64 {
    let max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4_194_304);
    max + 1
}

#[test]
fn a_save_removes_dead_writers_leftovers_and_keeps_live_ones() {
    let project = Project::new();
    let dead = format!(
        "data/03_primary/.cars_back.csv.tandem-{}-0badf00d",
        dead_pid()
    );
    let live = format!(
        "data/03_primary/.cars_back.csv.tandem-{}-0badf00d",
        std::process::id()
    );
    let dead_version = format!(
        "data/04_feature/.model_input.parquet.tandem-{}-1",
        dead_pid()
    );
    for leftover in [&dead, &live, &dead_version] {
        project.write(leftover, "half a file");
    }
    project.run_json(&[]);
    assert!(!project.path(&dead).exists(), "{dead} was left");
    assert!(
        !project.path(&dead_version).exists(),
        "{dead_version} was left"
    );
    assert!(
        project.path(&live).exists(),
        "a live writer's {live} was removed"
    );
    assert_eq!(
        project.read("data/03_primary/cars_back.csv"),
        project.read(crate::run_support::CARS_CSV)
    );
}
