//! `plotly.JSONDataset` and `plotly.PlotlyDataset` on real files, each
//! file read back by Python plotly (`plotly.io.read_json` with
//! `skip_invalid=False`, so a property outside plotly's schema fails).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use plotly::{Bar, Plot, Scatter};
use serde_json::{Value, json};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, Version};
use tandem_pipeline_core::Data;
use tandem_test_support::plots::plots_bin;
use tandem_test_support::python::run_script;

fn registry() -> DatasetRegistry {
    let mut registry = DatasetRegistry::with_builtins();
    tandem_plots::register(&mut registry);
    registry
}

fn config(name: &str, type_name: &str, options: Value) -> DatasetConfig {
    DatasetConfig::new(name, type_name, options.as_object().unwrap().clone())
}

fn build(name: &str, type_name: &str, options: Value) -> Arc<dyn Dataset> {
    registry().build(&config(name, type_name, options)).unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// What Python plotly makes of the file: each trace's type, name and
/// length of x, and the layout's title and axis titles.
const READ: &str = r#"
import json, sys
import plotly.io as pio
fig = pio.read_json(sys.argv[1], skip_invalid=False)
traces = [{"type": t.type, "name": t.name, "n": len(t.x) if getattr(t, "x", None) is not None else None} for t in fig.data]
layout = fig.layout
print(json.dumps({
    "traces": traces,
    "title": layout.title.text,
    "xaxis": layout.xaxis.title.text,
    "yaxis": layout.yaxis.title.text,
}))
"#;

fn python_reads(path: &Path) -> Value {
    let python = plots_bin().join("python");
    let out = run_script(&python, READ, [path]).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(out.trim()).unwrap()
}

fn plotly_rs_figure() -> Value {
    let mut plot = Plot::new();
    plot.add_trace(Scatter::new(vec![1, 2, 3], vec![4.0, 1.5, 2.0]).name("loss"));
    plot.add_trace(Bar::new(vec!["a", "b"], vec![3, 5]).name("counts"));
    plot.set_layout(plotly::Layout::new().title("Training"));
    tandem_plots::plotly_figure(&plot)
}

#[test]
fn a_plotly_rs_figure_saves_as_json_python_plotly_reads_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reporting/figure.json");
    let dataset = build(
        "training_plot",
        "plotly.JSONDataset",
        json!({"filepath": path_str(&path), "save_args": {"pretty": true, "engine": "auto"}}),
    );
    let figure = plotly_rs_figure();
    dataset.save(Data::json(figure.clone())).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("{\n  \""), "not pretty: {}", &text[..40]);
    let read = python_reads(&path);
    assert_eq!(
        read["traces"],
        json!([
            {"type": "scatter", "name": "loss", "n": 3},
            {"type": "bar", "name": "counts", "n": 2},
        ])
    );
    assert_eq!(read["title"], "Training");

    let loaded = dataset.load().unwrap();
    assert_eq!(*loaded.downcast_ref::<Value>().unwrap(), figure);
}

#[test]
fn save_args_indent_and_compact_output() {
    let dir = tempfile::tempdir().unwrap();
    let compact = dir.path().join("compact.json");
    let indented = dir.path().join("indented.json");
    build(
        "a",
        "plotly.JSONDataset",
        json!({"filepath": path_str(&compact)}),
    )
    .save(Data::json(plotly_rs_figure()))
    .unwrap();
    build(
        "b",
        "plotly.JSONDataset",
        json!({"filepath": path_str(&indented), "save_args": {"indent": 4}}),
    )
    .save(Data::json(plotly_rs_figure()))
    .unwrap();
    let compact = std::fs::read_to_string(&compact).unwrap();
    let indented = std::fs::read_to_string(&indented).unwrap();
    assert!(!compact.contains('\n'));
    assert!(indented.starts_with("{\n    \""), "{}", &indented[..20]);
    let a: Value = serde_json::from_str(&compact).unwrap();
    let b: Value = serde_json::from_str(&indented).unwrap();
    assert_eq!(a, b);
}

fn importance() -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "feature",
            Arc::new(StringArray::from(vec![
                "tenure", "charges", "contract", "support",
            ])) as _,
        ),
        (
            "importance",
            Arc::new(Float64Array::from(vec![0.42, 0.31, 0.18, 0.09])) as _,
        ),
        (
            "group",
            Arc::new(StringArray::from(vec![
                "account", "billing", "account", "service",
            ])) as _,
        ),
        ("rank", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as _),
    ])
    .unwrap()
}

#[test]
fn plotly_dataset_builds_a_bar_chart_from_a_table_as_kedros_example_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bar_plot.json");
    let dataset = build(
        "bar_plot",
        "plotly.PlotlyDataset",
        json!({
            "filepath": path_str(&path),
            "plotly_args": {
                "type": "bar",
                "fig": {"x": "importance", "y": "feature", "orientation": "h"},
                "layout": {"xaxis_title": "x", "yaxis_title": "y", "title": "Title",
                           "plot_bgcolor": "white"},
            },
        }),
    );
    dataset.save(Data::new(importance())).unwrap();
    let read = python_reads(&path);
    assert_eq!(
        read["traces"],
        json!([{"type": "bar", "name": null, "n": 4}])
    );
    assert_eq!(
        (&read["title"], &read["xaxis"], &read["yaxis"]),
        (&json!("Title"), &json!("x"), &json!("y"))
    );
    let loaded = dataset.load().unwrap();
    let figure = loaded.downcast_ref::<Value>().unwrap();
    assert_eq!(figure["data"][0]["orientation"], "h");
    assert_eq!(figure["data"][0]["y"][0], "tenure");
    assert_eq!(figure["layout"]["plot_bgcolor"], "white");
}

#[test]
fn plotly_dataset_splits_traces_by_color_and_by_several_y_columns() {
    let dir = tempfile::tempdir().unwrap();
    let by_color = dir.path().join("by_color.json");
    build(
        "by_color",
        "plotly.PlotlyDataset",
        json!({
            "filepath": path_str(&by_color),
            "plotly_args": {"type": "scatter", "fig": {"x": "rank", "y": "importance", "color": "group"}},
        }),
    )
    .save(Data::new(importance()))
    .unwrap();
    let read = python_reads(&by_color);
    assert_eq!(
        read["traces"],
        json!([
            {"type": "scatter", "name": "account", "n": 2},
            {"type": "scatter", "name": "billing", "n": 1},
            {"type": "scatter", "name": "service", "n": 1},
        ])
    );
    // Axis titles default to the column names, as plotly express sets them.
    assert_eq!(
        (&read["xaxis"], &read["yaxis"]),
        (&json!("rank"), &json!("importance"))
    );

    let wide = dir.path().join("wide.json");
    build(
        "wide",
        "plotly.PlotlyDataset",
        json!({
            "filepath": path_str(&wide),
            "plotly_args": {"type": "line", "fig": {"x": "rank", "y": ["importance", "rank"]}},
        }),
    )
    .save(Data::new(vec![importance(), importance()]))
    .unwrap();
    let read = python_reads(&wide);
    assert_eq!(
        read["traces"],
        json!([
            {"type": "scatter", "name": "importance", "n": 8},
            {"type": "scatter", "name": "rank", "n": 8},
        ])
    );
}

#[test]
fn versioned_plotly_saves_load_the_newest_or_a_pinned_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bar.json");
    let registry = registry();
    let options = json!({
        "filepath": path_str(&path),
        "plotly_args": {"type": "bar", "fig": {"x": "feature", "y": "importance"}},
    });
    let at = |load: Option<&str>, save: Option<&str>| {
        let mut config = config("bar_plot", "plotly.PlotlyDataset", options.clone());
        config.version = Some(Version {
            load: load.map(str::to_owned),
            save: save.map(str::to_owned),
            ..Default::default()
        });
        registry.build(&config).unwrap()
    };
    let first = importance().slice(0, 2);
    at(None, Some("2026-01-01T00.00.00.000Z"))
        .save(Data::new(first))
        .unwrap();
    at(None, Some("2026-01-02T00.00.00.000Z"))
        .save(Data::new(importance()))
        .unwrap();
    let bars = |data: Data| {
        data.downcast_ref::<Value>().unwrap()["data"][0]["x"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(bars(at(None, None).load().unwrap()), 4);
    assert_eq!(
        bars(at(Some("2026-01-01T00.00.00.000Z"), None).load().unwrap()),
        2
    );
    assert!(path.join("2026-01-01T00.00.00.000Z/bar.json").is_file());
}

#[test]
fn errors_name_the_entry_the_key_or_the_column() {
    let registry = registry();
    let bad = [
        (
            json!({"filepath": "p.json", "plotly_args": {"type": "sunburst"}}),
            "plotly_args",
        ),
        (
            json!({"filepath": "p.json", "plotly_args": {"type": "bar", "fig": {"hue": "x"}}}),
            "hue",
        ),
        (json!({"filepath": "p.json"}), "plotly_args"),
        (
            json!({"filepath": "p.json", "plotly_args": {"type": "bar"}, "save_args": {"sort_keys": true}}),
            "save_args",
        ),
    ];
    for (options, expected) in bad {
        let error = registry
            .build(&config("bar_plot", "plotly.PlotlyDataset", options.clone()))
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("bar_plot"), "{options}: {message}");
        assert!(message.contains(expected), "{options}: {message}");
    }
    let error = registry
        .build(&config(
            "scatter_plot",
            "plotly.JSONDataset",
            json!({"filepath": "p.json", "load_args": {"output_type": "Widget"}}),
        ))
        .unwrap_err();
    assert!(error.to_string().contains("scatter_plot"), "{error}");
    assert!(error.to_string().contains("load_args"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bar.json");
    let dataset = build(
        "bar_plot",
        "plotly.PlotlyDataset",
        json!({"filepath": path_str(&path), "plotly_args": {"type": "bar", "fig": {"x": "features"}}}),
    );
    let error = dataset.save(Data::new(importance())).unwrap_err();
    assert_eq!(error.kind(), "plotly_figure");
    let message = error.to_string();
    assert!(message.contains("no column 'features'"), "{message}");
    assert!(
        message.contains("feature, importance, group, rank"),
        "{message}"
    );
    assert!(message.contains("bar.json"), "{message}");
    assert!(!path.exists());

    // Not a figure: refused before anything is written.
    let json_dataset = build(
        "scatter_plot",
        "plotly.JSONDataset",
        json!({"filepath": path_str(&path)}),
    );
    let error = json_dataset
        .save(Data::json(json!({"data": {"type": "bar"}})))
        .unwrap_err();
    assert!(
        error.to_string().contains("'data' must be a list"),
        "{error}"
    );
    let error = json_dataset
        .save(Data::json(json!({"data": [], "template": {}})))
        .unwrap_err();
    assert!(error.to_string().contains("found 'template'"), "{error}");
    assert!(!path.exists());
}
