use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_runners::RunOptions;

use crate::support::{Log, LoggingDataset, catalog, identity, runners};

fn only_missing() -> RunOptions {
    RunOptions {
        only_missing_outputs: true,
        ..RunOptions::default()
    }
}

#[test]
fn nodes_with_existing_persisted_outputs_are_skipped() {
    let log = Log::default();
    let p = Pipeline::new([
        node(identity, "x", "persisted").name("n1").build().unwrap(),
        node(identity, "persisted", "missing")
            .name("n2")
            .build()
            .unwrap(),
    ])
    .unwrap();
    for (label, runner) in runners() {
        let catalog = catalog();
        catalog.insert_data("x", Data::new(1_i64));
        catalog.insert(
            "persisted",
            LoggingDataset::new("persisted", &log, true, Some(Data::new(5_i64))),
        );
        catalog.insert("missing", LoggingDataset::new("missing", &log, true, None));
        let out = runner.run(&p, &catalog, &[], &only_missing()).unwrap();
        let ran: Vec<&str> = out.nodes.iter().map(|n| n.name()).collect();
        assert_eq!(ran, ["n2"], "{label}");
        assert_eq!(
            *catalog
                .load("missing")
                .unwrap()
                .downcast_ref::<i64>()
                .unwrap(),
            5
        );
    }
}

#[test]
fn an_ephemeral_intermediate_feeding_a_running_node_is_recomputed() {
    let log = Log::default();
    let p = Pipeline::new([
        node(identity, "x", "memory").name("n1").build().unwrap(),
        node(identity, "memory", "missing")
            .name("n2")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let catalog = catalog();
    catalog.insert_data("x", Data::new(1_i64));
    catalog.insert("missing", LoggingDataset::new("missing", &log, true, None));
    let out = crate::support::runners()[0]
        .1
        .run(&p, &catalog, &[], &only_missing())
        .unwrap();
    let ran: Vec<&str> = out.nodes.iter().map(|n| n.name()).collect();
    assert_eq!(ran, ["n1", "n2"]);
}

#[test]
fn everything_present_runs_nothing() {
    let log = Log::default();
    let p = Pipeline::new([node(identity, "x", "done").name("n1").build().unwrap()]).unwrap();
    let catalog = catalog();
    catalog.insert_data("x", Data::new(1_i64));
    catalog.insert(
        "done",
        LoggingDataset::new("done", &log, true, Some(Data::new(1_i64))),
    );
    let out = crate::support::runners()[1]
        .1
        .run(&p, &catalog, &[], &only_missing())
        .unwrap();
    assert!(out.nodes.is_empty());
}
