use tandem_pipeline_core::{Data, Pipeline, node};
use tandem_runners::{RunOptions, Runner, SequentialRunner};

use crate::support::{Log, LoggingDataset, add, catalog, identity, runners};

#[test]
fn intermediate_is_released_after_its_last_consumer() {
    let log = Log::default();
    let catalog = catalog();
    catalog.insert(
        "in",
        LoggingDataset::new("in", &log, false, Some(Data::new(1_i64))),
    );
    catalog.insert("middle", LoggingDataset::new("middle", &log, false, None));
    catalog.insert("out", LoggingDataset::new("out", &log, false, None));
    let p = Pipeline::new([
        node(identity, "in", "middle")
            .name("first")
            .build()
            .unwrap(),
        node(identity, "middle", "out")
            .name("second")
            .build()
            .unwrap(),
    ])
    .unwrap();
    SequentialRunner
        .run(&p, &catalog, &[], &RunOptions::default())
        .unwrap();
    // Free inputs and free outputs are never released.
    assert_eq!(log.events(), ["load in", "load middle", "release middle"]);
}

#[test]
fn each_dataset_goes_as_soon_as_possible() {
    let log = Log::default();
    let catalog = catalog();
    for name in ["first", "second"] {
        catalog.insert(name, LoggingDataset::new(name, &log, false, None));
    }
    catalog.insert_data("x", Data::new(1_i64));
    let p = Pipeline::new([
        node(identity, "x", "first").name("a").build().unwrap(),
        node(identity, "first", "second").name("b").build().unwrap(),
        node(identity, "second", "third").name("c").build().unwrap(),
    ])
    .unwrap();
    SequentialRunner
        .run(&p, &catalog, &[], &RunOptions::default())
        .unwrap();
    assert_eq!(
        log.events(),
        [
            "load first",
            "release first",
            "load second",
            "release second"
        ]
    );
}

#[test]
fn shared_input_waits_for_every_consumer_and_repeats_count() {
    let log = Log::default();
    let catalog = catalog();
    catalog.insert_data("x", Data::new(2_i64));
    catalog.insert("shared", LoggingDataset::new("shared", &log, false, None));
    let p = Pipeline::new([
        node(identity, "x", "shared").name("make").build().unwrap(),
        node(add, ["shared", "shared"], "double")
            .name("use_twice")
            .build()
            .unwrap(),
        node(identity, "shared", "copy")
            .name("use_once")
            .build()
            .unwrap(),
    ])
    .unwrap();
    for (label, runner) in runners() {
        let log_before = log.events().len();
        let out = runner
            .run(&p, &catalog, &[], &RunOptions::default())
            .unwrap();
        assert_eq!(
            *out.outputs["double"].downcast_ref::<i64>().unwrap(),
            4,
            "{label}"
        );
        let events = &log.events()[log_before..];
        assert_eq!(
            events.iter().filter(|e| *e == "release shared").count(),
            1,
            "{label}: {events:?}"
        );
        assert_eq!(
            events.last().unwrap(),
            "release shared",
            "{label}: {events:?}"
        );
    }
}

#[test]
fn transcoded_output_nobody_reads_is_released_right_after_saving() {
    let log = Log::default();
    let catalog = catalog();
    catalog.insert_data("x", Data::new(1_i64));
    catalog.insert("ds@save", LoggingDataset::new("ds@save", &log, true, None));
    catalog.insert(
        "ds@load",
        LoggingDataset::new("ds@load", &log, true, Some(Data::new(5_i64))),
    );
    let p = Pipeline::new([
        node(identity, "x", "ds@save")
            .name("write")
            .build()
            .unwrap(),
        node(identity, "ds@load", "y").name("read").build().unwrap(),
    ])
    .unwrap();
    SequentialRunner
        .run(&p, &catalog, &[], &RunOptions::default())
        .unwrap();
    assert_eq!(
        log.events(),
        ["release ds@save", "load ds@load", "release ds@load"]
    );
}
