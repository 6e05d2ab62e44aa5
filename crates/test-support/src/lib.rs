//! Test harnesses shared by tandem's crates, so each has one home.
//!
//! Without features (std and serde_json only, so xtask can depend on it and
//! still build in seconds):
//!
//! - [`python`]: the Python virtualenvs under the target directory (MLflow;
//!   moto and pyarrow), provisioned once under a lock;
//! - [`mlflow`]: real `mlflow server`s on free loopback ports, plain or with
//!   basic auth;
//! - [`moto`]: moto's S3 server on a free loopback port;
//! - [`postgres`]: a PostgreSQL server (Debian's, installed when missing)
//!   initdb-ed for the process, and the pandas + SQLAlchemy venv;
//! - [`airflow`]: Apache Airflow 3 in its venv and an `AIRFLOW_HOME` of a
//!   test's own (SQLite, no examples) running `airflow dags test`, in
//!   process or on the LocalExecutor with an Execution API server;
//! - [`s3_catalog`]: a project's catalog.yml moved onto an S3 bucket;
//! - [`kedro_viz`]: `kedro viz run --load-file` on an export, and a
//!   headless Chromium screenshot of its page;
//! - [`plots`]: the venv with Python plotly the plot datasets' files are
//!   checked with;
//! - [`cargo_build`]: the one build of the workspace binaries the tests and
//!   xtask drive, with the features the test suite's build gives them;
//! - [`process`]: the supervision both rest on: children in their own
//!   process groups, stopped with their group on drop or, by a janitor,
//!   when the owning process dies;
//! - [`http`]: a minimal HTTP/1.1 client for those loopback servers;
//! - [`proxy`]: a fault-injecting HTTP proxy in front of them (errors,
//!   dropped connections, lost answers, held answers, a server that dies
//!   at a chosen request), recording what it saw so tests count attempts;
//! - [`memory`]: peak memory of a child process, or of a test run alone in
//!   a process of its own;
//! - [`gate`]: a gate slow code under test blocks at until the test opens
//!   it, counting arrivals, so tests check orderings of events rather than
//!   elapsed times.
//!
//! Behind features:
//!
//! - `project` (feature `project`): the demo project the model, serving and
//!   tracking tests train for real: a column scaler and a linear model on
//!   arrow tables, bound as a `PipelineMl`, on a catalog of temp files.
//! - `model` (feature `model`): that project trained, saved as a model
//!   directory and loaded, and requests to it; models of other inference
//!   pipelines trained on the same catalog.
//! - `parquet` (feature `parquet`, on the arrow and parquet crates only, so
//!   the catalog's tests use it too): small tables written as parquet,
//!   files made byte by byte, and footers and page headers patched into
//!   the hostile files fuzzing found.
//!
//! ```
//! # #[cfg(feature = "project")] {
//! let ml = tandem_test_support::project::ml_pipeline(Default::default());
//! assert_eq!(ml.input_name(), "features");
//! # }
//! ```

pub mod airflow;
pub mod cargo_build;
pub mod debian;
pub mod excel;
pub mod gate;
pub mod http;
pub mod kedro_viz;
pub mod memory;
pub mod mlflow;
#[cfg(feature = "model")]
pub mod model;
pub mod moto;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod plots;
pub mod postgres;
pub mod process;
#[cfg(feature = "project")]
pub mod project;
pub mod proxy;
pub mod python;
pub mod s3_catalog;
