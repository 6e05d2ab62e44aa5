//! Failures: exit codes, JSON error kinds on stderr, and text messages.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use tandem_tests::{Run, tandem};

const SPEC: &str = "examples/spaceflights.yml";

/// A spec file with `contents` in a fresh temporary directory.
fn fixture(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

fn describe(spec: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![
        "pipeline".as_ref(),
        "describe".as_ref(),
        "--spec".as_ref(),
        spec.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    tandem(args)
}

/// Runs `describe --json` and returns the error's kind and message, checking
/// that the failure left stdout empty and exited with 1.
fn json_failure(spec: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let run = describe(spec, &args);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    run.json_error()
}

#[test]
fn a_filter_that_selects_nothing_is_an_empty_pipeline() {
    let (kind, message) = json_failure(
        Path::new(SPEC),
        &["--tags", "training", "--namespaces", "data_processing"],
    );
    assert_eq!(kind, "empty_pipeline");
    assert!(message.contains("no nodes"), "{message}");
}

#[test]
fn unknown_nodes_are_reported_with_suggestions() {
    let (kind, message) = json_failure(Path::new(SPEC), &["--nodes", "train_model"]);
    assert_eq!(kind, "unknown_node");
    assert!(message.contains("'train_model'"), "{message}");
    assert!(
        message.contains("Did you mean: ['data_science.train_model']"),
        "{message}"
    );
    let (kind, _) = json_failure(
        Path::new(SPEC),
        &["--from-nodes", "data_science.trian_model"],
    );
    assert_eq!(kind, "unknown_node");
}

#[test]
fn unknown_datasets_are_reported() {
    let (kind, message) = json_failure(Path::new(SPEC), &["--from-inputs", "model_input"]);
    assert_eq!(kind, "unknown_dataset");
    assert!(message.contains("model_input_table"), "{message}");
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let (_dir, path) = fixture(
        "broken.yml",
        // `inputs` is indented one space short of its siblings.
        "nodes:\n  - name: a\n    func: f\n   inputs: x\n    outputs: y\n",
    );
    let (kind, message) = json_failure(&path, &[]);
    assert_eq!(kind, "invalid_spec");
    assert!(
        message.contains(&format!("{}:4", path.display())),
        "{message}"
    );

    let (_dir, path) = fixture(
        "typo.yaml",
        "nodes:\n  - name: a\n    func: f\n    input: x\n    outputs: y\n",
    );
    let (kind, message) = json_failure(&path, &[]);
    assert_eq!(kind, "invalid_spec");
    assert!(
        message.contains(&format!("{}:4", path.display())),
        "{message}"
    );
    assert!(message.contains("unknown field `input`"), "{message}");
}

#[test]
fn malformed_json_names_the_file_and_line() {
    let (_dir, path) = fixture("broken.json", "{\"nodes\": [\n  {\"func\": \"f\",}\n]}\n");
    let (kind, message) = json_failure(&path, &[]);
    assert_eq!(kind, "invalid_spec");
    assert!(
        message.contains(&format!("{}:2", path.display())),
        "{message}"
    );
}

#[test]
fn unreadable_specs_are_invalid_specs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yml");
    let (kind, message) = json_failure(&missing, &[]);
    assert_eq!(kind, "invalid_spec");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    // A directory cannot be read as a file either.
    let (kind, _) = json_failure(dir.path(), &[]);
    assert_eq!(kind, "invalid_spec");
}

#[test]
fn invalid_pipelines_keep_their_kind() {
    let (_dir, path) = fixture(
        "mapping.yml",
        "nodes:\n  - pipeline:\n      inputs: [nope]\n      nodes: [{func: f, inputs: a, outputs: b}]\n",
    );
    assert_eq!(json_failure(&path, &[]).0, "mapping_error");
    let (_dir, path) = fixture(
        "cycle.yml",
        "nodes:\n  - {name: a, func: f, inputs: x, outputs: y}\n  - {name: b, func: f, inputs: y, outputs: x}\n",
    );
    assert_eq!(json_failure(&path, &[]).0, "circular_dependency");
}

#[test]
fn text_errors_go_to_stderr() {
    let run = describe(Path::new(SPEC), &["--nodes", "train_model"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: pipeline does not contain nodes named ['train_model']"),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
}

#[test]
fn bad_flags_exit_with_2() {
    let run = describe(Path::new(SPEC), &["--bogus"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--bogus"), "{run:?}");
    let run = tandem(["pipeline", "describe"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--spec <FILE>"), "{run:?}");
    let run = tandem(["pipeline", "frobnicate"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn help_documents_every_flag_with_an_example() {
    let run = tandem(["pipeline", "describe", "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    for flag in [
        "--spec",
        "--json",
        "--tags",
        "--nodes",
        "--from-nodes",
        "--to-nodes",
        "--from-inputs",
        "--to-outputs",
        "--namespaces",
    ] {
        let example = format!("Example: {flag} ");
        assert!(
            run.stdout.contains(&example),
            "no `{example}` in:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("intersection"), "{}", run.stdout);
}
