use std::time::Duration;

use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_runners::{ParallelRunner, ResumeHint, RunOptions, Runner, SequentialRunner};

use crate::support::{Log, LoggingDataset, catalog, fail, identity, runners};

/// Kedro's resume example: A→n1→B(persisted)→n2→C→n3→D→n4, plus B→n5.
fn branched(failing: &str) -> Pipeline {
    let pick = |name: &str, inputs: &str, output: &str| {
        if name == failing {
            node(fail, inputs, output).name(name).build().unwrap()
        } else {
            node(identity, inputs, output).name(name).build().unwrap()
        }
    };
    Pipeline::new([
        pick("n1", "A", "B"),
        pick("n2", "B", "C"),
        pick("n3", "C", "D"),
        pick("n4", "D", "E"),
        pick("n5", "B", "F"),
    ])
    .unwrap()
}

fn branched_catalog() -> tandem_catalog::DataCatalog {
    let log = Log::default();
    let catalog = catalog();
    catalog.insert_data("A", Data::new(1_i64));
    catalog.insert("B", LoggingDataset::new("B", &log, true, None));
    catalog
}

#[test]
fn resume_hint_matches_kedro_on_a_branched_pipeline() {
    let err = SequentialRunner
        .run(
            &branched("n4"),
            &branched_catalog(),
            &[],
            &RunOptions::default(),
        )
        .unwrap_err();
    let failure = err.failure().unwrap();
    assert_eq!(failure.node, "n4");
    assert_eq!(failure.completed, ["n1", "n2", "n5", "n3"]);
    assert_eq!(
        failure.resume,
        ResumeHint::FromNodes {
            not_run: 1,
            nodes: vec!["n2".into()]
        }
    );

    let err = SequentialRunner
        .run(
            &branched("n5"),
            &branched_catalog(),
            &[],
            &RunOptions::default(),
        )
        .unwrap_err();
    let failure = err.failure().unwrap();
    assert_eq!(failure.resume.from_nodes_arg().as_deref(), Some("n2,n5"));
    let text = err.to_string();
    assert!(
        text.contains("There are 3 nodes that have not run."),
        "{text}"
    );
    assert!(text.contains("--from-nodes \"n2,n5\""), "{text}");
}

#[test]
fn nothing_ran_says_so() {
    let err = SequentialRunner
        .run(
            &branched("n1"),
            &branched_catalog(),
            &[],
            &RunOptions::default(),
        )
        .unwrap_err();
    assert_eq!(err.failure().unwrap().resume, ResumeHint::NothingRan);
    assert!(err.to_string().contains("No nodes ran."));
}

#[test]
fn sequential_stops_at_the_first_failure() {
    let err = SequentialRunner
        .run(
            &branched("n2"),
            &branched_catalog(),
            &[],
            &RunOptions::default(),
        )
        .unwrap_err();
    let failure = err.failure().unwrap();
    assert_eq!(failure.completed, ["n1"]);
    assert_eq!(failure.cause.kind(), "node_failed");
    assert!(failure.cause.to_string().contains("boom"));
}

/// Set once `slow` is running, so `fails_once_slow_runs` fails while it
/// runs: a node still queued when another fails does not start at all.
static SLOW_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn slow(x: &i64) -> i64 {
    SLOW_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    *x
}

fn fails_once_slow_runs(_x: &i64) -> Result<i64, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !SLOW_STARTED.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(std::time::Instant::now() < deadline, "slow never started");
        std::thread::yield_now();
    }
    Err("boom".to_owned())
}

#[test]
fn parallel_starts_nothing_new_after_a_failure_but_keeps_running_nodes_outputs() {
    let log = Log::default();
    let catalog = catalog();
    catalog.insert_data("x", Data::new(7_i64));
    catalog.insert(
        "slow_out",
        LoggingDataset::new("slow_out", &log, true, None),
    );
    let p = Pipeline::new([
        node(slow, "x", "slow_out").name("slow").build().unwrap(),
        node(identity, "slow_out", "after_slow")
            .name("after_slow")
            .build()
            .unwrap(),
        node(fails_once_slow_runs, "x", "never")
            .name("fails")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let err = ParallelRunner::new(Some(2))
        .unwrap()
        .run(&p, &catalog, &[], &RunOptions::default())
        .unwrap_err();
    let failure = err.failure().unwrap();
    assert_eq!(failure.node, "fails");
    assert_eq!(failure.completed, ["slow"], "the running node finished");
    assert!(catalog.exists("slow_out").unwrap(), "its output was saved");
    assert!(
        !catalog.exists("after_slow").unwrap_or(false),
        "no new node started"
    );
    // Computed after `slow` finished, so the hint starts after it.
    assert_eq!(
        failure.resume.from_nodes_arg().as_deref(),
        Some("after_slow,fails")
    );
}

fn panics(_x: &i64) -> i64 {
    panic!("index out of bounds in user code")
}

#[test]
fn panics_are_contained_and_reported_with_the_node() {
    let p = Pipeline::new([node(panics, "x", "y").name("fragile").build().unwrap()]).unwrap();
    for (label, runner) in runners() {
        let catalog = catalog();
        catalog.insert_data("x", Data::new(1_i64));
        let err = runner
            .run(&p, &catalog, &[], &RunOptions::default())
            .unwrap_err();
        let failure = err.failure().unwrap();
        assert_eq!(failure.cause.kind(), "node_panicked", "{label}");
        assert!(failure.cause.to_string().contains("fragile"), "{label}");
        assert!(
            failure.cause.to_string().contains("index out of bounds"),
            "{label}"
        );
    }
}

#[test]
fn missing_free_inputs_are_listed_together_before_anything_runs() {
    let log = Log::default();
    let p = Pipeline::new([
        node(crate::support::add, ["a", "b"], "ab")
            .name("n1")
            .build()
            .unwrap(),
        node(identity, "c", "cc").name("n2").build().unwrap(),
    ])
    .unwrap();
    for (label, runner) in runners() {
        let catalog = catalog();
        catalog.insert(
            "b",
            LoggingDataset::new("b", &log, true, Some(Data::new(1_i64))),
        );
        let err = runner
            .run(&p, &catalog, &[], &RunOptions::default())
            .unwrap_err();
        assert_eq!(err.kind(), "missing_inputs", "{label}");
        assert!(err.to_string().contains("['a', 'c']"), "{label}: {err}");
    }
    assert!(log.events().is_empty(), "nothing was loaded");
}

#[test]
fn zero_workers_is_refused() {
    assert_eq!(
        ParallelRunner::new(Some(0)).unwrap_err().kind(),
        "invalid_max_workers"
    );
}
