//! `tandem run --load-versions`: pinned versions of versioned datasets;
//! `--run-id`: a run given its id re-runs that run.

use crate::run_support::{CARS_CSV, Project, json_failure};

/// Writes a new version of cars_parquet from the current cars.csv.
fn save_version(project: &Project) -> String {
    let summary = project.run_json(&["--nodes", "ingest.to_parquet"]);
    summary["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_pinned_version_is_loaded_instead_of_the_latest() {
    let project = Project::new();
    let original = project.read(CARS_CSV);
    let first = save_version(&project);
    let shorter: String = original.lines().take(3).map(|l| format!("{l}\n")).collect();
    project.write(CARS_CSV, &shorter);
    let second = save_version(&project);
    assert!(second > first, "versions sort by time: {first} < {second}");

    let back = "data/03_primary/cars_back.csv";
    project.run_json(&["--nodes", "ingest.to_csv"]);
    assert_eq!(project.read(back), shorter, "the latest version by default");

    let pin = format!("cars_parquet:{first}");
    project.run_json(&["--nodes", "ingest.to_csv", "--load-versions", &pin]);
    assert_eq!(project.read(back), original, "the pinned version");
}

#[test]
fn unknown_datasets_and_unsafe_versions_fail_the_run() {
    let project = Project::new();
    let base = [
        "run",
        "--spec",
        "pipelines.yml",
        "--json",
        "--nodes",
        "ingest.to_csv",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        project.tandem(&args)
    };
    let error = json_failure(
        &with(&["--load-versions", "cars_parquett:2026-01-01T00.00.00.000Z"]),
        1,
    );
    assert_eq!(error["kind"], "dataset_not_found");
    assert!(
        error["message"].as_str().unwrap().contains("cars_parquett"),
        "{error}"
    );

    let error = json_failure(&with(&["--load-versions", "cars_parquet:.."]), 1);
    assert_eq!(error["kind"], "invalid_version");

    // No version saved yet: the load fails inside the run, naming the dataset.
    let error = json_failure(&with(&[]), 1);
    assert_eq!(error["kind"], "run_failed");
    assert_eq!(error["cause"], "version_not_found");
    assert!(
        error["message"].as_str().unwrap().contains("cars_parquet"),
        "{error}"
    );
}

/// The project plus `versions.yml`: `stamp` saves the `report.title` param
/// to `stamped`, a versioned dataset, and `forward` copies it to
/// `forwarded`, an unversioned file.
fn stamping_project() -> Project {
    let project = Project::new();
    let catalog = project.read("conf/base/catalog.yml");
    project.write(
        "conf/base/catalog.yml",
        &format!(
            "{catalog}\nstamped:\n  type: json.JSONDataset\n  \
             filepath: data/02_intermediate/stamped.json\n  versioned: true\n\
             forwarded:\n  type: json.JSONDataset\n  \
             filepath: data/03_primary/forwarded.json\n"
        ),
    );
    project.write(
        "versions.yml",
        "nodes:\n  \
         - {name: stamp, func: builtin:identity, inputs: 'params:report.title', outputs: stamped}\n  \
         - {name: forward, func: builtin:identity, inputs: stamped, outputs: forwarded}\n",
    );
    project
}

/// Runs `versions.yml` with `title` and `extra` arguments: the run's id.
fn stamp(project: &Project, title: &str, extra: &[&str]) -> String {
    let params = format!("report.title={title}");
    let mut args = vec![
        "run",
        "--spec",
        "versions.yml",
        "--json",
        "--params",
        &params,
    ];
    args.extend_from_slice(extra);
    let run = project.tandem(args);
    assert_eq!(run.code, 0, "{run:?}");
    run.stdout_json()["run_id"].as_str().unwrap().to_owned()
}

/// What `stamped` holds at `version`.
fn stamped(project: &Project, version: &str) -> String {
    project.read(&format!(
        "data/02_intermediate/stamped.json/{version}/stamped.json"
    ))
}

/// A run's downstream node reads the version of an intermediate that the run
/// itself saved, not a newer one an overlapping run saved meanwhile.
#[test]
fn a_run_reads_back_its_own_version_of_an_intermediate() {
    let project = stamping_project();

    // Run B saves its version; moving it far ahead makes it newer than any
    // version run A can pick, as if B had saved while A was running.
    let b = stamp(&project, "B", &[]);
    let versions = project.path("data/02_intermediate/stamped.json");
    let newer = "2999-01-01T00.00.00.000Z";
    std::fs::rename(versions.join(&b), versions.join(newer)).unwrap();

    let a = stamp(&project, "A", &[]);
    assert!(a.as_str() < newer, "{a}");
    assert_eq!(project.read("data/03_primary/forwarded.json"), "\"A\"");
    assert_eq!(stamped(&project, &a), "\"A\"");
    assert_eq!(stamped(&project, newer), "\"B\"");
}

/// A retried task of an orchestrated run is the same `--run-id` run again,
/// after a try that already saved its versioned output.
#[test]
fn a_run_given_its_id_runs_again_and_replaces_its_own_version() {
    let project = stamping_project();
    let id = "manual__2026-12-02T16.27.07";
    assert_eq!(stamp(&project, "first", &["--run-id", id]), id);
    assert_eq!(stamp(&project, "second", &["--run-id", id]), id);
    assert_eq!(stamped(&project, id), "\"second\"");
    assert_eq!(project.read("data/03_primary/forwarded.json"), "\"second\"");

    // Without an id, each run saves a version of its own.
    let a = stamp(&project, "A", &[]);
    let b = stamp(&project, "B", &[]);
    assert_ne!(a, b);
    assert_eq!(stamped(&project, &a), "\"A\"");
    assert_eq!(stamped(&project, &b), "\"B\"");
    let mut versions: Vec<String> =
        std::fs::read_dir(project.path("data/02_intermediate/stamped.json"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    versions.sort_unstable();
    let mut expected = vec![a, b, id.to_owned()];
    expected.sort_unstable();
    assert_eq!(versions, expected);
}
