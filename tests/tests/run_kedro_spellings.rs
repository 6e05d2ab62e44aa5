//! `tandem run` with Kedro's spellings: runner class names and paths,
//! `-lv`, `-ns`, `--async` and `KEDRO_ENV`.

use crate::run_support::{CARS_CSV, Project, node_names, output, sorted};

#[test]
fn kedro_runner_names_and_class_paths_choose_a_runner() {
    let project = Project::new();
    for (spelling, runner) in [
        ("SequentialRunner", "sequential"),
        ("ParallelRunner", "parallel"),
        ("ThreadRunner", "parallel"),
        ("kedro.runner.SequentialRunner", "sequential"),
        ("kedro.runner.ParallelRunner", "parallel"),
        ("kedro.runner.ThreadRunner", "parallel"),
        ("sequential", "sequential"),
        ("parallel", "parallel"),
    ] {
        let summary = project.run_json(&["-p", "report", "--runner", spelling]);
        assert_eq!(summary["runner"], runner, "{spelling}: {summary}");
        assert_eq!(node_names(&summary), ["echo_params"], "{spelling}");
    }
    // ThreadRunner is the parallel runner, so it takes --max-workers.
    let summary = project.run_json(&["-p", "report", "-r", "ThreadRunner", "--max-workers", "2"]);
    assert_eq!(summary["runner"], "parallel");
}

#[test]
fn an_unknown_runner_is_a_usage_error_naming_the_accepted_ones() {
    let project = Project::new();
    for bad in [
        "kedro.runner.Bogus",
        "threadrunner",
        "my_pkg.runners.Custom",
    ] {
        let run = project.tandem(["run", "--spec", "pipelines.yml", "--runner", bad]);
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert!(run.stderr.contains(bad), "{run:?}");
        for accepted in [
            "sequential",
            "parallel",
            "SequentialRunner",
            "ParallelRunner",
            "ThreadRunner",
            "kedro.runner.SequentialRunner",
            "kedro.runner.ParallelRunner",
            "kedro.runner.ThreadRunner",
        ] {
            assert!(run.stderr.contains(accepted), "{accepted}: {run:?}");
        }
    }
    assert!(
        !Project::new()
            .path("data/08_reporting/params.json")
            .exists()
    );
}

#[test]
fn dash_lv_pins_a_version_like_load_versions() {
    let project = Project::new();
    let original = project.read(CARS_CSV);
    let first = project.run_json(&["--nodes", "ingest.to_parquet"])["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shorter: String = original.lines().take(3).map(|l| format!("{l}\n")).collect();
    project.write(CARS_CSV, &shorter);
    project.run_json(&["--nodes", "ingest.to_parquet"]);

    let back = "data/03_primary/cars_back.csv";
    project.run_json(&["--nodes", "ingest.to_csv"]);
    assert_eq!(project.read(back), shorter, "the latest version by default");

    let pin = format!("cars_parquet:{first}");
    project.run_json(&["--nodes", "ingest.to_csv", "-lv", &pin]);
    assert_eq!(project.read(back), original, "-lv VALUE pins the version");

    project.run_json(&["--nodes", "ingest.to_csv"]);
    assert_eq!(project.read(back), shorter);
    project.run_json(&["--nodes", "ingest.to_csv", &format!("-lv={pin}")]);
    assert_eq!(project.read(back), original, "-lv=VALUE pins the version");

    // A malformed -lv is the same usage error as a malformed --load-versions.
    let run = project.tandem(["run", "--spec", "pipelines.yml", "-lv", "cars_parquet"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--load-versions"), "{run:?}");
}

#[test]
fn dash_ns_selects_namespaces_like_namespaces() {
    let project = Project::new();
    let summary = project.run_json(&["-ns", "ingest"]);
    assert_eq!(
        sorted(node_names(&summary)),
        ["ingest.to_csv", "ingest.to_parquet"]
    );
    // features reads the cars_parquet version the ingest run wrote.
    let summary = project.run_json(&["-ns=features", "--to-outputs", "prices"]);
    assert_eq!(
        sorted(node_names(&summary)),
        ["features.select_prices", "features.write_input"]
    );
    // -n keeps its meaning (--nodes).
    let project = Project::new();
    let summary = project.run_json(&["-n", "ingest.to_parquet"]);
    assert_eq!(node_names(&summary), ["ingest.to_parquet"]);
}

#[test]
fn async_is_accepted_and_changes_nothing() {
    let project = Project::new();
    let summary = project.run_json(&["-p", "report", "--async"]);
    assert_eq!(node_names(&summary), ["echo_params"]);
    assert!(project.path("data/08_reporting/params.json").is_file());

    let run = project.tandem([
        "run",
        "--spec",
        "pipelines.yml",
        "-p",
        "report",
        "--async",
        "-v",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("--async accepted"), "{run:?}");
}

fn run_with_env(project: &Project, vars: &[(&str, &str)], args: &[&str]) {
    let mut command = project.command(tandem_tests::tandem_bin());
    command.args(["run", "--spec", "pipelines.yml", "--json", "-p", "report"]);
    command.args(args);
    for (key, value) in vars {
        command.env(key, value);
    }
    let run = output(&mut command);
    assert_eq!(run.code, 0, "{vars:?} {args:?}: {run:?}");
}

#[test]
fn kedro_env_chooses_the_environment_unless_a_flag_or_tandem_env_does() {
    let prod = "data/08_reporting/params_prod.json";
    let local = "data/08_reporting/params.json";

    let project = Project::new();
    run_with_env(&project, &[("KEDRO_ENV", "prod")], &[]);
    assert!(project.path(prod).is_file());
    assert!(!project.path(local).exists());

    let project = Project::new();
    run_with_env(&project, &[("KEDRO_ENV", "prod")], &["--env", "local"]);
    assert!(project.path(local).is_file());
    assert!(!project.path(prod).exists());

    let project = Project::new();
    run_with_env(
        &project,
        &[("KEDRO_ENV", "prod"), ("TANDEM_ENV", "local")],
        &[],
    );
    assert!(project.path(local).is_file());
    assert!(!project.path(prod).exists());

    // Empty is unset, as in Kedro: the default environment.
    let project = Project::new();
    run_with_env(&project, &[("KEDRO_ENV", "")], &[]);
    assert!(project.path(local).is_file());
    assert!(!project.path(prod).exists());

    // A KEDRO_ENV naming no environment is the same error as --env would be.
    let project = Project::new();
    let mut command = project.command(tandem_tests::tandem_bin());
    command
        .args(["run", "--spec", "pipelines.yml", "--json"])
        .env("KEDRO_ENV", "prdo");
    let error = crate::run_support::json_failure(&output(&mut command), 1);
    assert_eq!(error["kind"], "invalid_config");
    assert!(
        error["message"].as_str().unwrap().contains("prdo"),
        "{error}"
    );
}

#[test]
fn help_names_the_kedro_spellings() {
    let project = Project::new();
    let run = project.tandem(["run", "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    for text in [
        "ThreadRunner",
        "kedro.runner.",
        "threads sharing memory",
        "-lv",
        "-ns",
        "--async",
        "does nothing",
        "KEDRO_ENV",
    ] {
        assert!(run.stdout.contains(text), "{text}:\n{}", run.stdout);
    }
}

#[test]
fn kedro_env_chooses_the_environment_of_catalog_commands_too() {
    let project = Project::new();
    let mut command = project.command(tandem_tests::tandem_bin());
    command
        .args(["catalog", "list", "--json"])
        .env("KEDRO_ENV", "prod");
    let run = output(&mut command);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout_json()["env"], "prod", "{run:?}");
}
