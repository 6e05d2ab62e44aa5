use std::sync::Arc;

use tandem_pipeline_core::{BoxError, Data, Node, Pipeline, node};
use tandem_runners::{DataMap, Error, Hook, HookResult, RunInfo, RunOptions, Runner};

use crate::support::{Log, add, catalog, fail, identity, runners};

struct Recorder(Log);

impl Hook for Recorder {
    fn before_pipeline_run(&self, run: &RunInfo<'_>) -> HookResult {
        self.0.push(format!("before_pipeline_run {}", run.run_id));
        Ok(())
    }
    fn after_pipeline_run(&self, _: &RunInfo<'_>, outputs: &DataMap) -> HookResult {
        self.0.push(format!(
            "after_pipeline_run {:?}",
            outputs.keys().collect::<Vec<_>>()
        ));
        Ok(())
    }
    fn on_pipeline_error(&self, _: &RunInfo<'_>, error: &Error) {
        self.0.push(format!("on_pipeline_error {}", error.kind()));
    }
    fn before_node_run(
        &self,
        _: &RunInfo<'_>,
        node: &Node,
        inputs: &DataMap,
    ) -> Result<Option<DataMap>, BoxError> {
        self.0.push(format!(
            "before_node_run {} {:?}",
            node.name(),
            inputs.keys().collect::<Vec<_>>()
        ));
        Ok(None)
    }
    fn after_node_run(
        &self,
        _: &RunInfo<'_>,
        node: &Node,
        _: &DataMap,
        outputs: &DataMap,
    ) -> HookResult {
        self.0.push(format!(
            "after_node_run {} {:?}",
            node.name(),
            outputs.keys().collect::<Vec<_>>()
        ));
        Ok(())
    }
    fn on_node_error(&self, _: &RunInfo<'_>, node: &Node, error: &Error, _: &DataMap) {
        self.0
            .push(format!("on_node_error {} {}", node.name(), error.kind()));
    }
    fn before_dataset_loaded(&self, _: &RunInfo<'_>, dataset: &str, node: &Node) -> HookResult {
        self.0
            .push(format!("before_dataset_loaded {dataset} {}", node.name()));
        Ok(())
    }
    fn after_dataset_loaded(
        &self,
        _: &RunInfo<'_>,
        dataset: &str,
        _: &Data,
        node: &Node,
    ) -> HookResult {
        self.0
            .push(format!("after_dataset_loaded {dataset} {}", node.name()));
        Ok(())
    }
    fn before_dataset_saved(
        &self,
        _: &RunInfo<'_>,
        dataset: &str,
        _: &Data,
        node: &Node,
    ) -> HookResult {
        self.0
            .push(format!("before_dataset_saved {dataset} {}", node.name()));
        Ok(())
    }
    fn after_dataset_saved(
        &self,
        _: &RunInfo<'_>,
        dataset: &str,
        _: &Data,
        node: &Node,
    ) -> HookResult {
        self.0
            .push(format!("after_dataset_saved {dataset} {}", node.name()));
        Ok(())
    }
}

#[test]
fn every_hook_fires_in_kedros_order() {
    let p = Pipeline::new([node(add, ["a", "b"], "c").name("n").build().unwrap()]).unwrap();
    for (label, runner) in runners() {
        let log = Log::default();
        let catalog = catalog();
        catalog.insert_data("a", Data::new(1_i64));
        catalog.insert_data("b", Data::new(2_i64));
        let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(Recorder(log.clone()))];
        let options = RunOptions {
            run_id: Some("r1".into()),
            ..RunOptions::default()
        };
        runner.run(&p, &catalog, &hooks, &options).unwrap();
        assert_eq!(
            log.events(),
            [
                "before_pipeline_run r1",
                "before_dataset_loaded a n",
                "after_dataset_loaded a n",
                "before_dataset_loaded b n",
                "after_dataset_loaded b n",
                "before_node_run n [\"a\", \"b\"]",
                "after_node_run n [\"c\"]",
                "before_dataset_saved c n",
                "after_dataset_saved c n",
                "after_pipeline_run [\"c\"]",
            ],
            "{label}"
        );
    }
}

#[test]
fn errors_reach_node_and_pipeline_error_hooks() {
    let p = Pipeline::new([node(fail, "a", "b").name("bad").build().unwrap()]).unwrap();
    for (label, runner) in runners() {
        let log = Log::default();
        let catalog = catalog();
        catalog.insert_data("a", Data::new(1_i64));
        let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(Recorder(log.clone()))];
        let err = runner
            .run(&p, &catalog, &hooks, &RunOptions::default())
            .unwrap_err();
        assert_eq!(err.kind(), "run_failed", "{label}");
        let events = log.events();
        assert!(
            events.contains(&"on_node_error bad node_failed".to_owned()),
            "{label}: {events:?}"
        );
        assert_eq!(
            events.last().unwrap(),
            "on_pipeline_error run_failed",
            "{label}"
        );
    }
}

struct Replace;

impl Hook for Replace {
    fn before_node_run(
        &self,
        _: &RunInfo<'_>,
        node: &Node,
        _: &DataMap,
    ) -> Result<Option<DataMap>, BoxError> {
        if node.name() == "n" {
            return Ok(Some(DataMap::from([("a".to_owned(), Data::new(100_i64))])));
        }
        Ok(None)
    }
}

#[test]
fn before_node_run_can_replace_inputs() {
    let p = Pipeline::new([node(add, ["a", "b"], "c").name("n").build().unwrap()]).unwrap();
    let catalog = catalog();
    catalog.insert_data("a", Data::new(1_i64));
    catalog.insert_data("b", Data::new(2_i64));
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(Replace)];
    for (label, runner) in runners() {
        let out = runner
            .run(&p, &catalog, &hooks, &RunOptions::default())
            .unwrap();
        assert_eq!(
            *out.outputs["c"].downcast_ref::<i64>().unwrap(),
            102,
            "{label}"
        );
    }
}

struct Refuse;

impl Hook for Refuse {
    fn before_pipeline_run(&self, _: &RunInfo<'_>) -> HookResult {
        Err("tracking server unreachable".into())
    }
}

#[test]
fn a_failing_hook_fails_the_run_before_any_node() {
    let log = Log::default();
    let p = Pipeline::new([node(identity, "a", "b").name("n").build().unwrap()]).unwrap();
    let catalog = catalog();
    catalog.insert_data("a", Data::new(1_i64));
    let hooks: Vec<Arc<dyn Hook>> = vec![Arc::new(Refuse), Arc::new(Recorder(log.clone()))];
    let err = tandem_runners::SequentialRunner
        .run(&p, &catalog, &hooks, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), "hook_failed");
    assert!(
        err.to_string().contains("tracking server unreachable"),
        "{err}"
    );
    assert_eq!(log.events(), ["on_pipeline_error hook_failed"]);
}
