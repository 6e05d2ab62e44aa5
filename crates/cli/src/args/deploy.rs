//! `tandem deploy plan|airflow|argo`: a pipeline as orchestrator tasks.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{ConfArgs, DEFAULT_PIPELINE};

pub(crate) const LONG_ABOUT: &str = "\
Deploy a pipeline to an orchestrator: cut it into tasks (groups of nodes),
each run in a process of its own by this binary's `run --pipeline P --nodes
...`, and write an Airflow 3 DAG file or an Argo Workflows manifest.

Tasks only share what is persisted: every dataset passed from one task to
another must have a catalog entry (or match a factory pattern) that is not a
MemoryDataset. A memory dataset crossing tasks is an error naming it; persist
it, or choose --group-by memory, which puts the nodes it joins in one task.

Grouping follows kedro-airflow: none (one task per node), namespace (one task
per top-level namespace; other nodes alone) or memory (nodes joined by memory
datasets, MemoryDataset entries with any copy_mode included, share a task).
The catalog is read when the plan is made, from --conf and --env.";

const PLAN_EXAMPLES: &str = "\
Examples:
  # The tasks and their dependencies
  churn deploy plan --pipeline training --group-by memory
  # As JSON, for scripts
  churn deploy plan --pipeline training --group-by memory --json | jq '.tasks[].id'";

const AIRFLOW_EXAMPLES: &str = "\
Examples:
  # Write airflow_dags/churn_training_dag.py; tasks run this binary
  churn deploy airflow --pipeline training --group-by memory -o airflow_dags
  # Tasks run the project in a container, with the prod environment
  churn deploy airflow --pipeline training --group-by memory -o dags \\
      --command 'docker run --rm -v /data:/data churn:1.0 churn' --env prod
  # Try it: airflow dags test churn_training";

const ARGO_EXAMPLES: &str = "\
Examples:
  churn deploy argo --pipeline training --group-by memory \\
      --image registry.example/churn:1.0 -o churn-training.yaml
  argo submit churn-training.yaml";

#[derive(Debug, Subcommand)]
pub(crate) enum DeployCommand {
    /// Print the tasks (node groups) and their dependencies.
    #[command(after_long_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Write an Airflow 3 DAG file, one BashOperator per task.
    #[command(
        long_about = "\
Write an Airflow 3 DAG file (the airflow.sdk API) into DIR, named as
kedro-airflow names it: <package>[_<env>][_<pipeline>]_dag.py, with the env
left out when it is local and the pipeline when it is __default__; the DAG id
is the file name without _dag.py.

Each task is a BashOperator running `<command> run --pipeline P --nodes
n1,n2 --conf <conf> [--spec ...] [--env E] --params <the DAG run's params>`.
The DAG declares the project's scalar parameters (from parameters.yml, dotted
keys such as model.alpha) as params with their current values; a DAG run's
values (`airflow dags trigger -c '{\"model.alpha\": 0.5}'`) reach every task.
Lists and mappings stay as the task's conf has them. The DAG is manual
(schedule=None, catchup=False), with retries and retry_delay in default_args.",
        after_long_help = AIRFLOW_EXAMPLES
    )]
    Airflow(AirflowArgs),
    /// Write an Argo Workflows manifest, one container task per group.
    #[command(
        long_about = "\
Write an Argo Workflows manifest (YAML): a Workflow whose entrypoint is a dag
template with one task per group, each depending on the tasks it reads from,
all running one container template: IMAGE with `<command> run --pipeline P
--nodes ... --conf <conf> [--env E] --params {{workflow.parameters.params}}`.
--conf and --spec are passed as given, so relative paths resolve in the
container's working directory.",
        after_long_help = ARGO_EXAMPLES
    )]
    Argo(ArgoArgs),
}

/// How nodes become tasks.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum GroupByArg {
    /// One task per node.
    None,
    /// One task per top-level namespace; other nodes alone.
    Namespace,
    /// Nodes joined by memory datasets share a task.
    Memory,
}

impl From<GroupByArg> for tandem_deploy::GroupBy {
    fn from(value: GroupByArg) -> Self {
        match value {
            GroupByArg::None => tandem_deploy::GroupBy::None,
            GroupByArg::Namespace => tandem_deploy::GroupBy::Namespace,
            GroupByArg::Memory => tandem_deploy::GroupBy::Memory,
        }
    }
}

/// The pipeline, its configuration and the grouping: what every deploy
/// command plans from.
#[derive(Debug, Args)]
pub(crate) struct PlanSource {
    /// The pipeline to deploy [default: __default__].
    #[arg(
        long,
        short = 'p',
        value_name = "NAME",
        default_value = DEFAULT_PIPELINE,
        long_help = "The pipeline to deploy, as `tandem run --pipeline` selects it: one this \
                     binary registers or one of the --spec files'.\n\nExample: --pipeline training"
    )]
    pub(crate) pipeline: String,

    /// A pipeline spec file (repeatable); tasks are given it too.
    #[arg(
        long,
        value_name = "FILE",
        long_help = "A pipeline spec file (YAML, or JSON when it ends in .json), as for \
                     `tandem run`; every task gets the same --spec.\n\n\
                     Example: --spec conf/pipelines.yml"
    )]
    pub(crate) spec: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) conf: ConfArgs,

    /// How nodes are grouped into tasks: none, namespace or memory.
    #[arg(
        long,
        short = 'g',
        value_enum,
        default_value = "none",
        long_help = "How nodes are grouped into tasks (kedro-airflow's --group-by): none, \
                     one task per node; namespace, one per top-level namespace (a.b.x → a), \
                     other nodes alone; memory, nodes joined by memory datasets share a \
                     task.\n\nExample: --group-by memory"
    )]
    pub(crate) group_by: GroupByArg,

    /// Print machine-readable JSON (errors go to stderr as JSON too).
    #[arg(
        long,
        long_help = "Print one JSON object on stdout. On failure, stderr receives \
                     {\"error\": {\"kind\", \"message\"}}; kind is stable (e.g. \
                     memory_dataset_crosses_tasks, task_cycle, pipeline_not_found).\n\n\
                     Example: --json | jq '.tasks'"
    )]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) source: PlanSource,
}

#[derive(Debug, Args)]
pub(crate) struct AirflowArgs {
    #[command(flatten)]
    pub(crate) source: PlanSource,

    /// The directory the DAG file is written into (created if missing).
    #[arg(long, short = 'o', value_name = "DIR", default_value = "airflow_dags")]
    pub(crate) output: PathBuf,

    /// What each task runs before `run ...` [default: this executable].
    #[arg(
        long,
        value_name = "SHELL TEXT",
        long_help = "What each task runs before `run ...`, as shell text used as written (its \
                     quoting is yours). Without it, the absolute path of this executable.\n\n\
                     Example: --command 'docker run --rm churn:1.0 churn'"
    )]
    pub(crate) command: Option<String>,

    /// Retries of a failed task.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) retries: u32,

    /// Seconds between a task's failure and its retry.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) retry_delay: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ArgoArgs {
    #[command(flatten)]
    pub(crate) source: PlanSource,

    /// The manifest file, or a directory to write <name>.yaml into.
    #[arg(long, short = 'o', value_name = "FILE|DIR")]
    pub(crate) output: PathBuf,

    /// The container image every task runs [default: <binary>:latest].
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,

    /// The executable inside the image [default: this binary's file name].
    #[arg(long, value_name = "PROGRAM")]
    pub(crate) command: Option<String>,

    /// Retries of a failed task (Argo's retryStrategy.limit).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) retries: u32,
}

impl DeployCommand {
    /// Whether the command prints JSON.
    pub(crate) fn json(&self) -> bool {
        self.source().json
    }

    /// The plan's inputs.
    pub(crate) fn source(&self) -> &PlanSource {
        match self {
            DeployCommand::Plan(args) => &args.source,
            DeployCommand::Airflow(args) => &args.source,
            DeployCommand::Argo(args) => &args.source,
        }
    }
}
