//! Deploying a pipeline to an orchestrator: the pipeline cut into tasks
//! (groups of nodes, each run by `run --nodes ...` in a process of its own)
//! and rendered as an Airflow 3 DAG file or an Argo Workflows manifest.
//!
//! - [`DeploymentPlan`]: the tasks and their dependencies, grouped as
//!   kedro-airflow groups ([`GroupBy`]): one task per node, per top-level
//!   namespace, or per set of nodes joined by memory datasets. A dataset
//!   passed between tasks must be persisted; a memory one is an error
//!   naming it ([`Error::MemoryCrossesTasks`]).
//! - [`AirflowDag`]: the DAG file (`airflow.sdk`, one `BashOperator` per
//!   task, the DAG's params passed to every task as `--params`).
//! - [`ArgoWorkflow`]: a `Workflow` with a `dag` template, one container
//!   task per plan task.
//!
//! ```
//! use tandem_deploy::{DeploymentPlan, GroupBy};
//! use tandem_pipeline_core::{node, Pipeline};
//!
//! fn inc(x: &i64) -> i64 { x + 1 }
//! let pipeline = Pipeline::new([
//!     node(inc, "raw", "clean").name("clean").namespace("prep").build()?,
//!     node(inc, "clean", "features").name("featurize").namespace("prep").build()?,
//!     node(inc, "features", "model").name("fit").build()?,
//! ])?;
//! // Every intermediate dataset persisted except `clean`, which stays
//! // inside the `prep` task.
//! let plan = DeploymentPlan::with_classifier(&pipeline, GroupBy::Namespace, |name| {
//!     Ok(name == "clean")
//! })?;
//! let ids: Vec<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
//! assert_eq!(ids, ["prep", "fit"]);
//! assert_eq!(plan.tasks[0].nodes, ["prep.clean", "prep.featurize"]);
//! assert_eq!(plan.tasks[1].dependencies, ["prep"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod airflow;
mod argo;
mod error;
mod ids;
mod params;
mod plan;
mod quote;

pub use airflow::{AirflowDag, ExtraTask, FailureCallback, PARAMS_ENV, TaskCommand, dag_naming};
pub use argo::ArgoWorkflow;
pub use error::{Crossing, Error};
pub use ids::{MAX_TASK_ID_LEN, slugify};
pub use params::DeployParams;
pub use plan::{DeploymentPlan, GroupBy, Task};
pub use quote::{jinja_literal, passable_node_name, shell};

#[cfg(test)]
mod tests;
