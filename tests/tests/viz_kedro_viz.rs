//! Real kedro-viz 12.5.0 (installed in a venv under target/ by the harness)
//! serving `churn viz build`'s export: its API answers with the pipeline's
//! nodes, edges and modular pipelines, and headless Chromium renders a
//! non-blank page.

use tandem_test_support::kedro_viz::{self, Server};
use tandem_test_support::process::for_process;
use tandem_test_support::python::kedro_viz_bin;
use tandem_tests::{churn, ok};

use crate::viz_cli::{EXPECTED, check_graph, layered_churn};

#[test]
#[allow(
    clippy::print_stderr,
    reason = "a skipped screenshot must say why in the test output"
)]
fn kedro_viz_serves_the_churn_export() {
    let bin = kedro_viz_bin();
    let project = layered_churn();
    ok(&churn(&["viz", "build", "-o", "export"], project.path()));
    let scope = for_process();
    let server = Server::start(bin, &project.path().join("export"), &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));

    let main = server.get_json("/api/main").unwrap();
    check_graph("__default__", &main);
    assert_eq!(
        main["layers"],
        serde_json::json!(["raw", "model_input", "models", "reporting"])
    );
    for &(id, ..) in EXPECTED {
        if id == "__default__" {
            // kedro-viz 12.5's file server passes ids through werkzeug's
            // secure_filename, which strips the underscores, and refuses
            // the changed name: the default pipeline is only served as
            // /api/main (which the page loads first).
            assert_eq!(server.status("/api/pipelines/__default__").unwrap(), 400);
            continue;
        }
        let doc = server
            .get_json(&format!("/api/pipelines/{id}"))
            .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail(40)));
        check_graph(id, &doc);
    }
    // Every node's metadata panel is served; unknown ids are 404s.
    for node in main["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        assert_eq!(
            server.status(&format!("/api/nodes/{id}")).unwrap(),
            200,
            "{node}"
        );
    }
    assert_eq!(server.status("/api/nodes/00000000").unwrap(), 404);
    for path in [
        "/api/run-status",
        "/api/version",
        "/api/deploy-viz-metadata",
    ] {
        assert_eq!(server.status(path).unwrap(), 200, "{path}");
    }
    // The single-page app itself.
    assert_eq!(server.status("/").unwrap(), 200);

    // Installed by the harness when missing (Debian's package).
    let chromium = kedro_viz::chromium().unwrap_or_else(|e| panic!("{e}"));
    let shots = scope.new_dir("kedro-viz-shot").unwrap();
    let page = kedro_viz::capture(&chromium, &server.url, &shots, &scope.janitor())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !page.dom.contains("nothing to see"),
        "kedro-viz rendered its empty state:\n{}",
        page.dom
    );
    let (width, height, colours) = kedro_viz::png_colours(&bin.join("python"), &page.png).unwrap();
    assert_eq!((width, height), (1280, 800));
    // A blank page is one or two colours; the graph, its sidebar and
    // anti-aliased labels are many.
    assert!(
        colours >= 16,
        "only {colours} colours in {}",
        page.png.display()
    );
}

/// One pipeline written twice: as a tandem spec (with its catalog and
/// parameters) and as the Kedro code a Kedro project would have.
const SPEC: &str = r#"pipelines:
  __default__:
    nodes:
      - {name: a, namespace: ds, func: builtin:identity, inputs: raw, outputs: ds.clean, tags: [t1]}
      - {name: b, namespace: ds, func: builtin:identity, inputs: ds.clean, outputs: ds.model}
      - {name: d, namespace: ds.inner, func: builtin:identity, inputs: ds.clean, outputs: ds.inner.z}
      - {name: c, func: builtin:identity, inputs: ds.model, outputs: report, tags: [t2]}
      - {name: p, func: builtin:identity, inputs: "params:alpha", outputs: alpha_copy}
"#;

const CATALOG: &str = "\
raw:
  type: MemoryDataset
  metadata: {kedro-viz: {layer: raw}}
report:
  type: MemoryDataset
  metadata: {kedro-viz: {layer: reporting}}
";

/// kedro-viz's own `/api/pipelines/__default__` response for the same
/// pipeline, computed in-process by kedro-viz's data access layer.
const KEDRO_VIZ_RESPONSE: &str = r#"
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node, pipeline
from kedro_viz.api.rest.responses.pipelines import get_pipeline_response
from kedro_viz.api.rest.responses.utils import get_encoded_response
from kedro_viz.data_access import data_access_manager

def identity(x):
    return x

inner = pipeline([node(identity, "clean", "z", name="d")], namespace="inner", inputs={"clean"})
ds = pipeline(
    [node(identity, "raw", "clean", name="a", tags=["t1"]), node(identity, "clean", "model", name="b"), inner],
    namespace="ds",
    inputs={"raw"},
)
whole = ds + Pipeline([
    node(identity, "ds.model", "report", name="c", tags=["t2"]),
    node(identity, "params:alpha", "alpha_copy", name="p"),
])
catalog = DataCatalog({
    "raw": MemoryDataset(metadata={"kedro-viz": {"layer": "raw"}}),
    "report": MemoryDataset(metadata={"kedro-viz": {"layer": "reporting"}}),
    "params:alpha": MemoryDataset(0.5),
})
pipelines = {"__default__": whole}
data_access_manager.add_catalog(catalog, pipelines)
data_access_manager.add_pipelines(pipelines)
print(get_encoded_response(get_pipeline_response("__default__")).decode())
"#;

/// A graph document with every list sorted, so documents compare as sets.
fn canonical(doc: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn sort(value: &Value) -> Value {
        match value {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(sort).collect();
                items.sort_by_key(|v| v.to_string());
                Value::Array(items)
            }
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), sort(v))).collect())
            }
            other => other.clone(),
        }
    }
    sort(doc)
}

#[test]
fn the_export_is_what_kedro_viz_computes_for_the_same_kedro_pipeline() {
    let bin = kedro_viz_bin();
    let project = tempfile::tempdir().unwrap();
    let conf = project.path().join("conf");
    std::fs::create_dir_all(conf.join("base")).unwrap();
    std::fs::create_dir_all(conf.join("local")).unwrap();
    std::fs::write(conf.join("base/catalog.yml"), CATALOG).unwrap();
    std::fs::write(conf.join("base/parameters.yml"), "alpha: 0.5\n").unwrap();
    std::fs::write(project.path().join("spec.yml"), SPEC).unwrap();
    let build = std::process::Command::new(tandem_tests::tandem_bin())
        .args(["viz", "build", "-o", "export", "--spec", "spec.yml"])
        .current_dir(project.path())
        .output()
        .unwrap();
    ok(&build);
    let ours: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.path().join("export/api/pipelines/__default__")).unwrap(),
    )
    .unwrap();

    let mut python = std::process::Command::new(bin.join("python"));
    python
        .arg("-c")
        .arg(KEDRO_VIZ_RESPONSE)
        .env("DO_NOT_TRACK", "1")
        .env("KEDRO_DISABLE_TELEMETRY", "true");
    let theirs = ok(&python.output().unwrap());
    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();

    for key in [
        "nodes",
        "edges",
        "layers",
        "tags",
        "pipelines",
        "modular_pipelines",
        "selected_pipeline",
    ] {
        assert_eq!(
            canonical(&ours[key]),
            canonical(&theirs[key]),
            "{key} differs"
        );
    }
    assert_eq!(ours["layers"], serde_json::json!(["raw", "reporting"]));
}
