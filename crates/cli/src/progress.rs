//! The progress bar `tandem run` shows on a terminal: nodes done out of the
//! total and the nodes running now, driven by a runners [`Hook`].
//!
//! The hook is called from worker threads under the parallel runner, so the
//! running set sits behind a mutex; indicatif's bar is itself thread-safe.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tandem_pipeline_core::{BoxError, Node};
use tandem_runners::{DataMap, Error, Hook, RunInfo};

const TEMPLATE: &str = "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} nodes  {wide_msg}";

/// The bar and the nodes it shows as running.
pub(crate) struct Progress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl Progress {
    /// A bar for stderr, hidden until the pipeline starts and its length is
    /// known (log lines before that would otherwise redraw an empty bar).
    pub(crate) fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        // The template is a constant; should indicatif ever reject it, the
        // default bar still shows the counts.
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    /// The bar, for log output to suspend it while a line is written.
    pub(crate) fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Removes the bar from the terminal.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn update(&self, edit: impl FnOnce(&mut Vec<String>)) {
        // A panic while the lock was held cannot leave the list inconsistent
        // (each edit is one push or retain), so a poisoned lock is still usable.
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        edit(&mut running);
        self.bar.set_message(running.join(", "));
    }

    fn node_ended(&self, node: &Node) {
        self.update(|running| running.retain(|n| n != node.name()));
    }
}

impl Hook for Progress {
    fn name(&self) -> &str {
        "tandem_cli::progress"
    }

    fn before_pipeline_run(&self, run: &RunInfo<'_>) -> Result<(), BoxError> {
        self.bar.set_length(run.pipeline.len() as u64);
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        self.bar.enable_steady_tick(Duration::from_millis(120));
        Ok(())
    }

    fn before_node_run(
        &self,
        _run: &RunInfo<'_>,
        node: &Node,
        _inputs: &DataMap,
    ) -> Result<Option<DataMap>, BoxError> {
        self.update(|running| running.push(node.name().to_owned()));
        Ok(None)
    }

    fn after_node_run(
        &self,
        _run: &RunInfo<'_>,
        node: &Node,
        _inputs: &DataMap,
        _outputs: &DataMap,
    ) -> Result<(), BoxError> {
        self.node_ended(node);
        self.bar.inc(1);
        Ok(())
    }

    fn on_node_error(&self, _run: &RunInfo<'_>, node: &Node, _error: &Error, _inputs: &DataMap) {
        self.node_ended(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tandem_catalog::{CatalogOptions, DataCatalog, DatasetRegistry};
    use tandem_pipeline_core::{Data, Pipeline, node};
    use tandem_runners::{ParallelRunner, RunOptions, Runner};

    fn double(x: &i64) -> i64 {
        x * 2
    }

    #[test]
    fn counts_every_node_and_ends_with_none_running() {
        let pipeline = Pipeline::new([
            node(double, "x", "a").name("left").build().unwrap(),
            node(double, "x", "b").name("right").build().unwrap(),
            node(double, "a", "c").name("after").build().unwrap(),
        ])
        .unwrap();
        let options = CatalogOptions::new(DatasetRegistry::with_memory());
        let no_entries = serde_json::Map::new();
        let catalog = DataCatalog::from_config(&no_entries, &no_entries, &options, ".").unwrap();
        catalog.insert_data("x", Data::new(1_i64));
        let progress = Arc::new(Progress::new());
        let hooks: Vec<Arc<dyn Hook>> = vec![progress.clone()];
        let runner = ParallelRunner::new(Some(2)).unwrap();
        runner
            .run(&pipeline, &catalog, &hooks, &RunOptions::default())
            .unwrap();
        assert_eq!(progress.bar().length(), Some(3));
        assert_eq!(progress.bar().position(), 3);
        assert!(progress.running.lock().unwrap().is_empty());
        assert_eq!(progress.bar().message(), "");
        progress.finish();
        assert!(progress.bar().is_finished());
    }
}
