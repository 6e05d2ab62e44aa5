//! `tandem deploy plan|airflow|argo`: the pipeline selected as `tandem run`
//! selects it, the catalog built as `tandem run` builds it (the app's dataset
//! types plus the mlflow.* ones), then a plan and its rendering.

use std::path::{Path, PathBuf};

use serde::Serialize;
use std::collections::BTreeMap;

use tandem_deploy::{
    AirflowDag, ArgoWorkflow, DeployParams, DeploymentPlan, ExtraTask, FailureCallback, PARAMS_ENV,
    TaskCommand, dag_naming, jinja_literal, shell,
};
use tandem_tracking::MLFLOW_RUN_ID;

use super::registry::PipelineRegistry;
use crate::app::App;
use crate::args::{AirflowArgs, ArgoArgs, DeployCommand, PlanSource};
use crate::error::Failure;

/// What a deploy command produced.
#[derive(Debug, Serialize)]
pub(crate) struct Deployed {
    /// The pipeline deployed.
    pub(crate) pipeline: String,
    /// The plan.
    #[serde(flatten)]
    pub(crate) plan: DeploymentPlan,
    /// The file written (`airflow`, `argo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<PathBuf>,
    /// The DAG id (`airflow`) or workflow name (`argo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

/// Runs a deploy command.
pub(crate) fn execute(command: &DeployCommand, app: &App) -> Result<Deployed, Failure> {
    let source = command.source();
    let planned = plan(source, app)?;
    let (file, name) = match command {
        DeployCommand::Plan(_) => (None, None),
        DeployCommand::Airflow(args) => {
            let (file, id) = airflow(args, &planned)?;
            (Some(file), Some(id))
        }
        DeployCommand::Argo(args) => {
            let (file, name) = argo(args, &planned)?;
            (Some(file), Some(name))
        }
    };
    Ok(Deployed {
        pipeline: source.pipeline.clone(),
        plan: planned.plan,
        file,
        name,
    })
}

/// A plan and what the renderers need from its making.
struct Planned {
    plan: DeploymentPlan,
    env: Option<String>,
    params: DeployParams,
    /// Whether the project tracks the pipeline in MLflow (an mlflow.yml
    /// that does not disable it): the DAG then shares one MLflow run.
    tracked: bool,
}

fn plan(source: &PlanSource, app: &App) -> Result<Planned, Failure> {
    let selected =
        PipelineRegistry::new(app, &source.spec)?.select(std::slice::from_ref(&source.pipeline))?;
    let env = source.conf.env_or_kedro_env();
    // The dataset types a run knows, so entries of mlflow.* types resolve
    // as they would in the tasks.
    let (config, catalog) = super::mlflow::project_catalog(app, &source.conf)?;
    let plan = DeploymentPlan::new(&selected, &catalog, source.group_by.into())?;
    let tracked = super::mlflow::project_mlflow(&source.conf, &config)?
        .is_some_and(|mlflow| mlflow.is_tracked(&source.pipeline));
    Ok(Planned {
        plan,
        env,
        params: DeployParams::from_parameters(&config.parameters),
        tracked,
    })
}

/// This executable and its file name (the project's name in file names).
fn current_exe() -> Result<(PathBuf, String), Failure> {
    let exe = std::env::current_exe().map_err(|source| Failure::File {
        path: "the current executable".to_owned(),
        source,
    })?;
    let name = exe
        .file_stem()
        .map_or_else(|| "tandem".to_owned(), |s| s.to_string_lossy().into_owned());
    Ok((exe, name))
}

/// `--conf`, `--spec` and `--env` for every task, paths made absolute when
/// `absolute` (an Airflow worker does not start in the project directory).
fn run_args(
    source: &PlanSource,
    env: Option<&str>,
    absolute: bool,
) -> Result<Vec<String>, Failure> {
    let path = |p: &Path| -> Result<String, Failure> {
        let p = if absolute {
            std::path::absolute(p).map_err(|source| Failure::File {
                path: p.display().to_string(),
                source,
            })?
        } else {
            p.to_path_buf()
        };
        Ok(p.to_string_lossy().into_owned())
    };
    // Tasks read the configuration the way it was given here.
    let mut args = match &source.conf.conf_source {
        Some(conf_source) => vec!["--conf-source".to_owned(), path(conf_source)?],
        None => vec!["--conf".to_owned(), path(&source.conf.conf)?],
    };
    for spec in &source.spec {
        args.push("--spec".to_owned());
        args.push(path(spec)?);
    }
    if let Some(env) = env {
        args.push("--env".to_owned());
        args.push(env.to_owned());
    }
    Ok(args)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    let file_error = |source| Failure::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(file_error)?;
    }
    std::fs::write(path, text).map_err(file_error)
}

fn airflow(args: &AirflowArgs, planned: &Planned) -> Result<(PathBuf, String), Failure> {
    let (exe, package) = current_exe()?;
    let source = &args.source;
    let (dag_id, file_name) = dag_naming(&package, planned.env.as_deref(), &source.pipeline);
    let command = match &args.command {
        Some(text) => TaskCommand::Shell(text.clone()),
        None => TaskCommand::Executable(exe.to_string_lossy().into_owned()),
    };
    let run_args = run_args(source, planned.env.as_deref(), true)?;
    let mut dag = AirflowDag {
        plan: &planned.plan,
        dag_id: dag_id.clone(),
        pipeline: source.pipeline.clone(),
        command: command.clone(),
        run_args: run_args.clone(),
        params: planned.params.clone(),
        retries: args.retries,
        retry_delay_seconds: args.retry_delay,
        // Every task of a DAG run saves and loads the same version.
        task_env: BTreeMap::from([(RUN_ID_ENV.to_owned(), RUN_ID_TEMPLATE.to_owned())]),
        first: None,
        last: None,
        on_failure: None,
    };
    if planned.tracked {
        let tasks = SharedRunTasks {
            command: match &command {
                TaskCommand::Executable(path) => shell(path),
                TaskCommand::Shell(text) => text.clone(),
            },
            pipeline: source.pipeline.clone(),
            run_args,
            params: !planned.params.is_empty(),
        };
        dag.task_env.insert(
            MLFLOW_RUN_ID.to_owned(),
            format!("{{{{ ti.xcom_pull(task_ids='{OPEN_TASK}') or '' }}}}"),
        );
        dag.first = Some(tasks.open());
        dag.last = Some(tasks.close());
        dag.on_failure = Some(tasks.on_failure());
    }
    let file = args.output.join(file_name);
    write(&file, &dag.render()?)?;
    Ok((file, dag_id))
}

/// The environment variable every task reads its run id from
/// (`tandem run --run-id`).
const RUN_ID_ENV: &str = "TANDEM_RUN_ID";

/// The DAG run's id as a dataset version: Airflow's run ids
/// (`manual__2026-12-02T16:27:07.123456+00:00`) may hold `:` and `+`,
/// which Kedro's versions avoid (they are path segments on every
/// filesystem and object store).
const RUN_ID_TEMPLATE: &str = "{{ run_id | replace(':', '.') | replace('+', '_') }}";

/// The first task's id. Plan task ids are slugs (`[a-z0-9-]`, no `_`), so
/// these never collide with them.
const OPEN_TASK: &str = "mlflow_open_run";
const CLOSE_TASK: &str = "mlflow_close_run";

/// The tasks around the plan when the DAG shares one MLflow run.
struct SharedRunTasks {
    /// The binary (or container command) as shell text.
    command: String,
    pipeline: String,
    /// `--conf`, `--spec`, `--env` and their values, unquoted.
    run_args: Vec<String>,
    /// Whether the DAG passes params (`TANDEM_PARAMS`).
    params: bool,
}

impl SharedRunTasks {
    /// `<command> mlflow runs <words> --pipeline P <run args> [--params ...]`
    /// as shell text (before Jinja escaping).
    fn words(&self, words: &[&str], scoped: bool) -> String {
        let mut all = vec![self.command.clone(), "mlflow".to_owned(), "runs".to_owned()];
        all.extend(words.iter().map(|w| (*w).to_owned()));
        if scoped {
            all.push("--pipeline".to_owned());
            all.push(shell(&self.pipeline));
        }
        all.extend(self.run_args.iter().map(|a| shell(a)));
        if scoped && self.params {
            all.push("--params".to_owned());
            all.push(format!("\"${PARAMS_ENV}\""));
        }
        all.join(" ")
    }

    /// Opens the run; its id, the last stdout line, becomes the XCom every
    /// task reads as `MLFLOW_RUN_ID`.
    fn open(&self) -> ExtraTask {
        ExtraTask {
            task_id: OPEN_TASK.to_owned(),
            bash_command: jinja_literal(&self.words(&["create"], true)),
            trigger_rule: None,
        }
    }

    /// Logs the PipelineMl's model at the DAG run's versions, once, and
    /// ends the run FINISHED, after every task succeeded.
    fn close(&self) -> ExtraTask {
        ExtraTask {
            task_id: CLOSE_TASK.to_owned(),
            bash_command: jinja_literal(
                &self.words(&["end", &format!("\"${MLFLOW_RUN_ID}\"")], true),
            ),
            trigger_rule: None,
        }
    }

    /// Ends the run FAILED when a task fails for good (not on a try
    /// Airflow retries); nothing when the run was never opened.
    fn on_failure(&self) -> FailureCallback {
        let end = self.words(
            &[
                "end",
                &format!("\"${MLFLOW_RUN_ID}\""),
                "--status",
                "FAILED",
            ],
            false,
        );
        FailureCallback {
            bash_command: format!("[ -z \"${MLFLOW_RUN_ID}\" ] || {end}"),
            xcom_env: BTreeMap::from([(MLFLOW_RUN_ID.to_owned(), OPEN_TASK.to_owned())]),
        }
    }
}

fn argo(args: &ArgoArgs, planned: &Planned) -> Result<(PathBuf, String), Failure> {
    let (_, package) = current_exe()?;
    let source = &args.source;
    let (id, _) = dag_naming(&package, planned.env.as_deref(), &source.pipeline);
    let name = tandem_deploy::slugify(&id);
    let workflow = ArgoWorkflow {
        plan: &planned.plan,
        name: name.clone(),
        pipeline: source.pipeline.clone(),
        image: args
            .image
            .clone()
            .unwrap_or_else(|| format!("{package}:latest")),
        command: vec![args.command.clone().unwrap_or_else(|| package.clone())],
        run_args: run_args(source, planned.env.as_deref(), false)?,
        params: planned.params.clone(),
        retries: args.retries,
    };
    let file = if args.output.is_dir() {
        args.output.join(format!("{name}.yaml"))
    } else {
        args.output.clone()
    };
    write(&file, &workflow.render()?)?;
    Ok((file, name))
}
