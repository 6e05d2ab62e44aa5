//! `tandem deploy plan|airflow|argo`: the pipeline selected as `tandem run`
//! selects it, the catalog built as `tandem run` builds it (the app's dataset
//! types plus the mlflow.* ones), then a plan and its rendering.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tandem_deploy::{
    AirflowDag, ArgoWorkflow, DeployParams, DeploymentPlan, TaskCommand, dag_naming,
};

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
}

fn plan(source: &PlanSource, app: &App) -> Result<Planned, Failure> {
    let selected =
        PipelineRegistry::new(app, &source.spec)?.select(std::slice::from_ref(&source.pipeline))?;
    let env = source.conf.env_or_kedro_env();
    // The dataset types a run knows, so entries of mlflow.* types resolve
    // as they would in the tasks.
    let (config, catalog) = super::mlflow::project_catalog(app, &source.conf)?;
    let plan = DeploymentPlan::new(&selected, &catalog, source.group_by.into())?;
    Ok(Planned {
        plan,
        env,
        params: DeployParams::from_parameters(&config.parameters),
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
    let mut args = vec!["--conf".to_owned(), path(&source.conf.conf)?];
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
    let dag = AirflowDag {
        plan: &planned.plan,
        dag_id: dag_id.clone(),
        pipeline: source.pipeline.clone(),
        command,
        run_args: run_args(source, planned.env.as_deref(), true)?,
        params: planned.params.clone(),
        retries: args.retries,
        retry_delay_seconds: args.retry_delay,
        // The extension point for one MLflow run across tasks: a first task
        // opening it, its id in every task's environment, a final task.
        task_env: Default::default(),
        first: None,
        last: None,
    };
    let file = args.output.join(file_name);
    write(&file, &dag.render()?)?;
    Ok((file, dag_id))
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
