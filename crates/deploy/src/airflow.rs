//! An Airflow 3 DAG file for a plan: one `BashOperator` per task running
//! `<command> run --pipeline P --nodes ...`, with the DAG's params passed to
//! every task as `--params`.
//!
//! Every string from the project (node names, paths, the pipeline name)
//! goes through three quotings in this order: bash ([`quote::shell`]),
//! Jinja ([`quote::jinja_literal`], since Airflow renders `bash_command` as
//! a template) and Python ([`quote::python_str`]). The params reach the
//! command through an environment variable (`TANDEM_PARAMS`, a templated
//! field), expanded inside double quotes, so no value is ever parsed by the
//! shell.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::Error;
use crate::params::DeployParams;
use crate::plan::DeploymentPlan;
use crate::quote::{self, jinja_literal, python_str, python_value, shell};

/// The environment variable carrying `--params` into each task.
pub const PARAMS_ENV: &str = "TANDEM_PARAMS";

/// What each task runs before `run ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskCommand {
    /// An executable path, quoted as one word.
    Executable(String),
    /// Shell text used as written (`docker run --rm image churn`, `cd /p &&
    /// ./churn`): the user owns its quoting.
    Shell(String),
}

impl TaskCommand {
    fn shell_text(&self) -> String {
        match self {
            TaskCommand::Executable(path) => shell(path),
            TaskCommand::Shell(text) => text.clone(),
        }
    }
}

/// A task added around the plan's tasks (the extension point for a first
/// task every root waits for and a final task waiting for every leaf). It
/// gets the plan tasks' environment (`task_env`, `TANDEM_PARAMS`) too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraTask {
    /// Its task id (`[A-Za-z0-9_.-]`, not one of the plan's).
    pub task_id: String,
    /// Its bash command, as shell text (Jinja allowed: it is a template).
    pub bash_command: String,
    /// Airflow's `trigger_rule` (`all_done` for a final task that must run
    /// after failures too); `None` keeps Airflow's `all_success`.
    pub trigger_rule: Option<String>,
}

/// A shell command every task runs when it fails for good (Airflow's
/// `on_failure_callback` in `default_args`, which fires on a task's last
/// try only, not on one Airflow retries), with the XComs of earlier tasks
/// in its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureCallback {
    /// Shell text, run with `bash -c` in the worker (not a template).
    pub bash_command: String,
    /// Environment variable → the task id whose XCom (`return_value`) it
    /// holds; empty when that task pushed none (it failed itself).
    pub xcom_env: BTreeMap<String, String>,
}

/// How to write the DAG file.
#[derive(Clone, Debug)]
pub struct AirflowDag<'a> {
    /// The plan rendered.
    pub plan: &'a DeploymentPlan,
    /// The DAG id (see [`dag_naming`]).
    pub dag_id: String,
    /// The pipeline each task filters (`run --pipeline`).
    pub pipeline: String,
    /// What runs before `run`.
    pub command: TaskCommand,
    /// Arguments every task passes after `--nodes` (`--conf`, `--spec`,
    /// `--env` and their values), each quoted as one word.
    pub run_args: Vec<String>,
    /// The DAG's params, passed on to every task.
    pub params: DeployParams,
    /// `default_args.retries`.
    pub retries: u32,
    /// `default_args.retry_delay`, in seconds.
    pub retry_delay_seconds: u64,
    /// Environment added to every plan task (templated: Jinja allowed), e.g.
    /// a run id a first task pushed as XCom.
    pub task_env: BTreeMap<String, String>,
    /// A task every root task waits for.
    pub first: Option<ExtraTask>,
    /// A task waiting for every leaf task.
    pub last: Option<ExtraTask>,
    /// What a task that fails for good runs.
    pub on_failure: Option<FailureCallback>,
}

/// kedro-airflow's naming: the file `<package>[_<env>][_<pipeline>]_dag.py`
/// (env omitted when `local` or unset, pipeline when `__default__`), each
/// part with anything outside `[A-Za-z0-9_]` made `_`. The DAG id is the
/// file stem without `_dag`: kedro-airflow uses the package alone, so two
/// pipelines' files get the same id and Airflow keeps only one of them.
pub fn dag_naming(package: &str, env: Option<&str>, pipeline: &str) -> (String, String) {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut id = clean(package);
    if let Some(env) = env.filter(|e| *e != "local") {
        id.push('_');
        id.push_str(&clean(env));
    }
    if pipeline != "__default__" {
        id.push('_');
        id.push_str(&clean(pipeline));
    }
    let file = format!("{id}_dag.py");
    (id, file)
}

impl AirflowDag<'_> {
    /// The bash command of one plan task, as shell text (before Jinja
    /// escaping).
    pub fn task_command(&self, nodes: &[String]) -> Result<String, Error> {
        if let Some(bad) = nodes.iter().find(|n| !quote::passable_node_name(n)) {
            return Err(Error::UnpassableNodeName { node: bad.clone() });
        }
        let mut words = vec![
            self.command.shell_text(),
            "run".to_owned(),
            "--pipeline".to_owned(),
            shell(&self.pipeline),
            "--nodes".to_owned(),
            shell(&nodes.join(",")),
        ];
        words.extend(self.run_args.iter().map(|a| shell(a)));
        if !self.params.is_empty() {
            words.push("--params".to_owned());
            words.push(format!("\"${PARAMS_ENV}\""));
        }
        Ok(words.join(" "))
    }

    /// The Jinja template building `key=value,...` from the DAG run's params:
    /// strings as they are, other values as JSON (`true`, `1.5`).
    fn params_template(&self) -> String {
        self.params
            .iter()
            .map(|(key, _)| {
                let at = format!("params[{}]", python_str(key));
                format!(
                    "{key}={{% if {at} is string %}}{{{{ {at} }}}}{{% else %}}{{{{ {at} | tojson }}}}{{% endif %}}"
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The DAG file's Python source.
    pub fn render(&self) -> Result<String, Error> {
        let mut py = String::new();
        let w = &mut py;
        // A String's fmt::Write never fails.
        let _ = writeln!(
            w,
            "\"\"\"Airflow DAG {}: pipeline {} in {} task(s), generated by tandem deploy airflow.\n\n\
             Each task runs its nodes in a process of its own; every dataset passed between\n\
             tasks is persisted. Regenerate this file when the pipeline or catalog changes.\n\"\"\"",
            python_str(&self.dag_id).trim_matches('"'),
            python_str(&self.pipeline).trim_matches('"'),
            self.plan.tasks.len()
        );
        let _ = writeln!(w, "from datetime import datetime, timedelta\n");
        if self.on_failure.is_some() {
            let _ = writeln!(w, "import os\nimport subprocess\n");
        }
        let _ = writeln!(
            w,
            "from airflow.providers.standard.operators.bash import BashOperator"
        );
        let _ = writeln!(w, "from airflow.sdk import DAG, Param\n");
        let mut env = self.task_env.clone();
        if !self.params.is_empty() {
            env.insert(PARAMS_ENV.to_owned(), self.params_template());
        }
        let env_items: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{}: {}", python_str(k), python_str(v)))
            .collect();
        let _ = writeln!(
            w,
            "# Environment of every pipeline task (templated), added to the worker's.\n\
             TASK_ENV = {{{}}}\n",
            env_items.join(", ")
        );
        if let Some(callback) = &self.on_failure {
            failure_callback(w, callback);
        }
        let _ = writeln!(w, "with DAG(");
        let _ = writeln!(w, "    dag_id={},", python_str(&self.dag_id));
        let _ = writeln!(w, "    start_date=datetime(2023, 1, 1),");
        let _ = writeln!(w, "    schedule=None,");
        let _ = writeln!(w, "    catchup=False,");
        let _ = writeln!(w, "    max_active_runs=3,");
        let _ = writeln!(
            w,
            "    default_args={{\"retries\": {}, \"retry_delay\": timedelta(seconds={}){}}},",
            self.retries,
            self.retry_delay_seconds,
            if self.on_failure.is_some() {
                ", \"on_failure_callback\": on_task_failure"
            } else {
                ""
            }
        );
        let _ = writeln!(w, "    params={{");
        for (key, value) in self.params.iter() {
            let _ = writeln!(w, "        {}: {},", python_str(key), param(value));
        }
        let _ = writeln!(w, "    }},");
        let _ = writeln!(w, ") as dag:");
        let _ = writeln!(w, "    tasks = {{}}");
        if let Some(first) = &self.first {
            extra(w, first);
        }
        for task in &self.plan.tasks {
            let command = jinja_literal(&self.task_command(&task.nodes)?);
            let _ = writeln!(
                w,
                "    tasks[{id}] = BashOperator(\n        task_id={id},\n        bash_command={},\n        env=dict(TASK_ENV),\n        append_env=True,\n    )",
                python_str(&command),
                id = python_str(&task.id),
            );
        }
        for task in &self.plan.tasks {
            for dep in &task.dependencies {
                let _ = writeln!(
                    w,
                    "    tasks[{}] >> tasks[{}]",
                    python_str(dep),
                    python_str(&task.id)
                );
            }
        }
        if let Some(first) = &self.first {
            for root in self.plan.roots() {
                let _ = writeln!(
                    w,
                    "    tasks[{}] >> tasks[{}]",
                    python_str(&first.task_id),
                    python_str(&root.id)
                );
            }
        }
        if let Some(last) = &self.last {
            extra(w, last);
            for leaf in self.plan.leaves() {
                let _ = writeln!(
                    w,
                    "    tasks[{}] >> tasks[{}]",
                    python_str(&leaf.id),
                    python_str(&last.task_id)
                );
            }
        }
        Ok(py)
    }
}

/// `Param(default, type=...)`; strings refuse commas, which `--params`
/// would split on.
fn param(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let kind = match value {
        Value::Bool(_) => "\"boolean\"",
        Value::Number(n) if n.is_f64() => "\"number\"",
        Value::Number(_) => "\"integer\"",
        _ => "\"string\", pattern=\"^[^,]*$\"",
    };
    format!("Param({}, type={kind})", python_value(value))
}

/// `on_task_failure(context)`: the XComs pulled (in the task's process,
/// through the Execution API), then the command; its failure is printed,
/// not raised, since Airflow only logs a callback's exception anyway.
fn failure_callback(w: &mut String, callback: &FailureCallback) {
    let xcoms: Vec<String> = callback
        .xcom_env
        .iter()
        .map(|(var, task)| format!("{}: {}", python_str(var), python_str(task)))
        .collect();
    let lines = [
        "# Run by a task that failed for good (not on a try Airflow retries).".to_owned(),
        format!("FAILURE_COMMAND = {}", python_str(&callback.bash_command)),
        format!("FAILURE_XCOM_ENV = {{{}}}", xcoms.join(", ")),
        String::new(),
        String::new(),
        "def on_task_failure(context):".to_owned(),
        "    env = dict(os.environ)".to_owned(),
        "    for var, task_id in FAILURE_XCOM_ENV.items():".to_owned(),
        "        value = context[\"ti\"].xcom_pull(task_ids=task_id)".to_owned(),
        "        env[var] = \"\" if value is None else str(value)".to_owned(),
        "    done = subprocess.run([\"bash\", \"-c\", FAILURE_COMMAND], env=env)".to_owned(),
        "    if done.returncode != 0:".to_owned(),
        "        print(f\"on_task_failure: the failure command exited {done.returncode}\")"
            .to_owned(),
        String::new(),
    ];
    for line in lines {
        let _ = writeln!(w, "{line}");
    }
}

fn extra(w: &mut String, task: &ExtraTask) {
    let rule = task
        .trigger_rule
        .as_deref()
        .map(|r| format!("\n        trigger_rule={},", python_str(r)))
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "    tasks[{id}] = BashOperator(\n        task_id={id},\n        bash_command={},{rule}\n        env=dict(TASK_ENV),\n        append_env=True,\n    )",
        python_str(&task.bash_command),
        id = python_str(&task.task_id),
    );
}
