//! The Airflow DAG file, read the way Airflow reads it: Python parses it,
//! Jinja (Airflow's sandboxed environment) renders each task's templated
//! fields with a DAG run's params, and bash runs the command. The command is
//! a script that prints its arguments, so the test sees exactly the argv a
//! task's `run` would get.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tandem_deploy::{
    AirflowDag, DeployParams, DeploymentPlan, ExtraTask, GroupBy, TaskCommand, dag_naming,
};
use tandem_pipeline_core::{Pipeline, node};

fn inc(x: &i64) -> i64 {
    x + 1
}

/// Parses the DAG file, renders every BashOperator's bash_command and env
/// with `params`, runs the command with bash and reports, as JSON, each
/// task's printed arguments, the `>>` edges and the DAG's keyword arguments.
const READER: &str = r#"
import ast, json, os, subprocess, sys
from jinja2.sandbox import SandboxedEnvironment

source = open(sys.argv[1], encoding="utf-8").read()
params = json.loads(sys.argv[2])
tree = ast.parse(source)
env_jinja = SandboxedEnvironment()

class TaskInstance:
    def xcom_pull(self, task_ids=None):
        return "xcom:" + task_ids

ti = TaskInstance()
task_env = {}
dag_kwargs = {}
tasks = {}
edges = []
for item in ast.walk(tree):
    if isinstance(item, ast.Assign) and getattr(item.targets[0], "id", None) == "TASK_ENV":
        task_env = ast.literal_eval(item.value)
    if isinstance(item, ast.Call) and getattr(item.func, "id", None) == "DAG":
        for kw in item.keywords:
            dag_kwargs[kw.arg] = ast.unparse(kw.value)
    if isinstance(item, ast.Call) and getattr(item.func, "id", None) == "BashOperator":
        kws = {kw.arg: kw.value for kw in item.keywords}
        task_id = ast.literal_eval(kws["task_id"])
        command = env_jinja.from_string(ast.literal_eval(kws["bash_command"])).render(params=params, ti=ti)
        env = dict(os.environ)
        if "env" in kws:
            for k, v in task_env.items():
                env[k] = env_jinja.from_string(v).render(params=params, ti=ti)
        out = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, check=True)
        tasks[task_id] = out.stdout.split("\0")[:-1]
    if isinstance(item, ast.BinOp) and isinstance(item.op, ast.RShift):
        edges.append([ast.literal_eval(side.slice) for side in (item.left, item.right)])
print(json.dumps({"tasks": tasks, "edges": edges, "dag": dag_kwargs}))
"#;

fn read_dag(file: &Path, params: &Value) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .arg(file)
        .arg(params.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A directory whose name has a space, quotes and a brace, with a script
/// printing its arguments NUL-separated.
fn hostile_dir(root: &Path) -> (std::path::PathBuf, String) {
    let dir = root.join("it's a \"dir\" {{x}}");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("print args.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    (dir, script.to_string_lossy().into_owned())
}

fn plan() -> DeploymentPlan {
    let pipeline = Pipeline::new([
        node(inc, "raw", "a").name("load").build().unwrap(),
        node(inc, "a", "b")
            .name("fit")
            .namespace("ds")
            .build()
            .unwrap(),
        node(inc, "b", "c")
            .name("score")
            .namespace("ds")
            .build()
            .unwrap(),
        node(inc, "c", "d").name("report").build().unwrap(),
    ])
    .unwrap();
    DeploymentPlan::with_classifier(&pipeline, GroupBy::Namespace, |name| Ok(name == "b")).unwrap()
}

#[test]
fn every_task_runs_its_nodes_with_the_dag_runs_params() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, script) = hostile_dir(tmp.path());
    let conf = dir.join("conf").to_string_lossy().into_owned();
    let plan = plan();
    let parameters = json!({"seed": 42, "model": {"alpha": 0.5, "name": "lr"}, "layers": [1, 2]});
    let pipeline = "it's \"training\" {{ 7 * 7 }} $HOME";
    let dag = AirflowDag {
        plan: &plan,
        dag_id: "demo_training".into(),
        pipeline: pipeline.into(),
        command: TaskCommand::Executable(script),
        run_args: vec!["--conf".into(), conf.clone(), "--env".into(), "prod".into()],
        params: DeployParams::from_parameters(parameters.as_object().unwrap()),
        retries: 2,
        retry_delay_seconds: 30,
        task_env: BTreeMap::new(),
        first: None,
        last: None,
        on_failure: None,
    };
    let file = tmp.path().join("demo_training_dag.py");
    std::fs::write(&file, dag.render().unwrap()).unwrap();

    // A DAG run overriding two params, one with a space and a quote.
    let run_params = json!({"seed": 7, "model.alpha": 0.25, "model.name": "x 'y'"});
    let read = read_dag(&file, &run_params);
    let args = |nodes: &str| {
        json!([
            "run",
            "--pipeline",
            pipeline,
            "--nodes",
            nodes,
            "--conf",
            conf,
            "--env",
            "prod",
            "--params",
            "model.alpha=0.25,model.name=x 'y',seed=7"
        ])
    };
    assert_eq!(read["tasks"]["load"], args("load"));
    assert_eq!(read["tasks"]["ds"], args("ds.fit,ds.score"));
    assert_eq!(read["tasks"]["report"], args("report"));
    assert_eq!(read["edges"], json!([["load", "ds"], ["ds", "report"]]));
    assert_eq!(read["dag"]["schedule"], "None");
    assert_eq!(read["dag"]["catchup"], "False");
    assert_eq!(
        read["dag"]["default_args"],
        "{'retries': 2, 'retry_delay': timedelta(seconds=30)}"
    );
    // The DAG's params: the scalar leaves, typed; lists stay in the conf.
    let declared = read["dag"]["params"].as_str().unwrap();
    assert!(
        declared.contains("'model.alpha': Param(0.5, type='number')"),
        "{declared}"
    );
    assert!(
        declared.contains("'seed': Param(42, type='integer')"),
        "{declared}"
    );
    assert!(!declared.contains("layers"), "{declared}");

    // Without overrides, the defaults.
    let defaults = json!({"seed": 42, "model.alpha": 0.5, "model.name": "lr"});
    let read = read_dag(&file, &defaults);
    let last = read["tasks"]["load"].as_array().unwrap().last().cloned();
    assert_eq!(last, Some(json!("model.alpha=0.5,model.name=lr,seed=42")));
}

#[test]
fn a_first_and_a_last_task_wrap_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = plan();
    let mut task_env = BTreeMap::new();
    task_env.insert(
        "SHARED_RUN".to_owned(),
        "{{ ti.xcom_pull(task_ids='open') }}".to_owned(),
    );
    let dag = AirflowDag {
        plan: &plan,
        dag_id: "demo".into(),
        pipeline: "__default__".into(),
        command: TaskCommand::Shell("printf '%s\\0' \"$SHARED_RUN\"".into()),
        run_args: vec![],
        params: DeployParams::default(),
        retries: 1,
        retry_delay_seconds: 300,
        task_env,
        first: Some(ExtraTask {
            task_id: "open".into(),
            bash_command: "echo run-1".into(),
            trigger_rule: None,
        }),
        last: Some(ExtraTask {
            task_id: "close".into(),
            bash_command: "echo done".into(),
            trigger_rule: Some("all_done".into()),
        }),
        on_failure: None,
    };
    let source = dag.render().unwrap();
    assert!(source.contains("trigger_rule=\"all_done\""), "{source}");
    let file = tmp.path().join("demo_dag.py");
    std::fs::write(&file, &source).unwrap();
    // TASK_ENV reaches every plan task, rendered (`ti` stands in for Airflow's).
    let read = read_dag(&file, &json!({}));
    assert_eq!(
        read["edges"],
        json!([
            ["load", "ds"],
            ["ds", "report"],
            ["open", "load"],
            ["report", "close"]
        ])
    );
    assert_eq!(read["tasks"]["load"][0], "xcom:open");
    assert_eq!(read["tasks"]["load"][1], "run");
}

#[test]
fn files_and_dag_ids_follow_kedro_airflows_naming() {
    assert_eq!(
        dag_naming("churn", None, "__default__"),
        ("churn".to_owned(), "churn_dag.py".to_owned())
    );
    assert_eq!(
        dag_naming("churn", Some("local"), "training").1,
        "churn_training_dag.py"
    );
    assert_eq!(
        dag_naming("tandem-cli", Some("prod"), "data.prep"),
        (
            "tandem_cli_prod_data_prep".to_owned(),
            "tandem_cli_prod_data_prep_dag.py".to_owned()
        )
    );
}
