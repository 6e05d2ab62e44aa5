//! Apache Airflow 3 for the deployment tests: a venv under the target
//! directory ([`AIRFLOW_VENV`], installed once per target directory like the
//! MLflow venv) and an `AIRFLOW_HOME` of a test's own with a SQLite metadata
//! database and no example DAGs, in which `airflow dags test` runs a DAG
//! file's tasks in the CLI's process (no scheduler, no API server), or,
//! with [`AirflowHome::dags_test_with_executor`], in LocalExecutor worker
//! processes that report to an Execution API server of the home's own
//! ([`AirflowHome::start_execution_api`], on a free loopback port).
//!
//! Every command and server runs supervised (its process group is stopped
//! if the test dies) with its output in a log file beside the home.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::http;
use crate::moto::NO_CLOUD;
use crate::process::{JanitorHandle, Service, for_process, free_port, run_logged};
use crate::python::{Venv, run_script, target_dir, with_path};

/// The Airflow release the deployment notes were verified with.
pub const AIRFLOW: &str = "apache-airflow==3.3.2";

/// `<target>/py-airflow`: [`AIRFLOW`] (its bundled standard provider has
/// `BashOperator`).
pub const AIRFLOW_VENV: Venv = Venv::new("py-airflow", ".tandem-installed", &[AIRFLOW]);

/// `db migrate` takes about 8 s and a 3-task `dags test` about 20 s on two
/// cores; these bounds only stop a hung command.
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(300);
const DAGS_TEST_TIMEOUT: Duration = Duration::from_secs(600);
/// The API server answers its health check about 9 s after start on two
/// cores; the bound only stops one that never comes up.
const API_START_TIMEOUT: Duration = Duration::from_secs(180);

/// [`AIRFLOW_VENV`]'s `bin/` directory (`airflow`, `python`), provisioned
/// on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn airflow_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        AIRFLOW_VENV
            .provision(&target_dir())
            .unwrap_or_else(|e| panic!("provisioning {}: {e}", AIRFLOW_VENV.name()))
    })
}

/// An `AIRFLOW_HOME` with its metadata database migrated.
#[derive(Debug)]
pub struct AirflowHome {
    bin: PathBuf,
    home: PathBuf,
    janitor: JanitorHandle,
}

impl AirflowHome {
    /// Creates `home` (and `home/dags`) with a migrated metadata database:
    /// a copy of the one `airflow db migrate` made, once per process, in a
    /// home of its own (a migration is seconds of Python that would give
    /// every home the same empty schema).
    pub fn create(bin: &Path, home: &Path, janitor: &JanitorHandle) -> Result<AirflowHome, String> {
        let airflow = AirflowHome::empty(bin, home, janitor)?;
        let migrated = migrated_database(bin)?;
        std::fs::copy(migrated, airflow.database()).map_err(|e| {
            format!(
                "copy {} to {}: {e}",
                migrated.display(),
                airflow.database().display()
            )
        })?;
        Ok(airflow)
    }

    /// `home` and `home/dags`, created, without a database.
    fn empty(bin: &Path, home: &Path, janitor: &JanitorHandle) -> Result<AirflowHome, String> {
        std::fs::create_dir_all(home.join("dags"))
            .map_err(|e| format!("create {}: {e}", home.display()))?;
        let home = std::path::absolute(home).map_err(|e| format!("{}: {e}", home.display()))?;
        Ok(AirflowHome {
            bin: bin.to_path_buf(),
            home,
            janitor: janitor.clone(),
        })
    }

    /// The DAG folder, `<home>/dags`.
    pub fn dags_dir(&self) -> PathBuf {
        self.home.join("dags")
    }

    /// Where task processes write their logs, one file per try
    /// (`dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`); a DAG
    /// run in the CLI's process logs to its stdout instead.
    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// The SQLite metadata database.
    pub fn database(&self) -> PathBuf {
        self.home.join("airflow.db")
    }

    /// `airflow <args>` with this home's environment (examples off, the
    /// SQLite URL absolute, as Airflow requires).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.bin.join("airflow"));
        command
            .args(args)
            .current_dir(&self.home)
            .env("PATH", with_path(&self.bin))
            .env("AIRFLOW_HOME", &self.home)
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("AIRFLOW__CORE__DAGS_FOLDER", self.dags_dir())
            .env(
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                format!("sqlite:///{}", self.database().display()),
            )
            .env("AIRFLOW__CORE__PARALLELISM", "4")
            // Tasks inherit this environment (`append_env=True`); their S3
            // access uses explicit keys and endpoint only.
            .envs(NO_CLOUD);
        command
    }

    /// Starts `airflow api-server --apps execution` (the Execution API
    /// alone, one worker) on a free loopback port, sharing this home (the
    /// tokens the executor signs are checked with `airflow.cfg`'s JWT
    /// secret), and waits until `/execution/health` says healthy. The log
    /// is `<home>/api-server.log`; the server stops when the value drops.
    pub fn start_execution_api(&self) -> Result<ExecutionApi, String> {
        let port = free_port()?;
        let url = ExecutionApi::url_of(port);
        let mut command = self.command(&[
            "api-server",
            "--apps",
            "execution",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-w",
            "1",
        ]);
        command.env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", &url);
        let mut service = Service::spawn(
            "airflow api-server",
            command,
            &self.home.join("api-server.log"),
            &self.janitor,
        )?;
        service.wait_ready(API_START_TIMEOUT, || {
            http::get(port, "/execution/health", Duration::from_secs(10)).is_ok_and(|r| {
                r.status == 200
                    && serde_json::from_slice::<Value>(&r.body)
                        .is_ok_and(|v| v["status"] == "healthy")
            })
        })?;
        Ok(ExecutionApi {
            port,
            url,
            _service: service,
        })
    }

    fn run(&self, name: &str, args: &[&str], timeout: Duration) -> Result<(), String> {
        self.run_command(name, self.command(args), timeout)
    }

    /// `airflow dags test <dag_id> -f <file> [-c <conf>]`: one DAG run, its
    /// tasks in this process; an error if any task failed (Airflow exits 1).
    /// The log is `<home>/dags-test-<dag_id>.log`.
    pub fn dags_test(&self, dag_id: &str, file: &Path, conf: Option<&Value>) -> Result<(), String> {
        let command = self.dags_test_command(dag_id, file, conf, false);
        self.run_command(&format!("dags-test-{dag_id}"), command, DAGS_TEST_TIMEOUT)
    }

    /// [`AirflowHome::dags_test`] with `--use-executor`: the DAG run's tasks
    /// go to the LocalExecutor, whose worker processes run them and report
    /// their states through `api` (workers never touch the database). The
    /// log is `<home>/dags-test-executor-<dag_id>.log`; each try's task log
    /// is under `<home>/logs/dag_id=<dag_id>/`.
    pub fn dags_test_with_executor(
        &self,
        api: &ExecutionApi,
        dag_id: &str,
        file: &Path,
        conf: Option<&Value>,
    ) -> Result<(), String> {
        let mut command = self.dags_test_command(dag_id, file, conf, true);
        command.env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", &api.url);
        let name = format!("dags-test-executor-{dag_id}");
        self.run_command(&name, command, DAGS_TEST_TIMEOUT)
    }

    fn dags_test_command(
        &self,
        dag_id: &str,
        file: &Path,
        conf: Option<&Value>,
        executor: bool,
    ) -> Command {
        // Airflow resolves `-f` against the DAG bundle's (absolute) folder.
        let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
        let file = file.to_string_lossy();
        let conf = conf.map(Value::to_string);
        let mut args = vec!["dags", "test", dag_id, "-f", &file];
        if let Some(conf) = &conf {
            args.extend(["-c", conf]);
        }
        if executor {
            args.push("--use-executor");
        }
        self.command(&args)
    }

    fn run_command(&self, name: &str, command: Command, timeout: Duration) -> Result<(), String> {
        let log = self.home.join(format!("{name}.log"));
        run_logged(
            &format!("airflow {name}"),
            command,
            &log,
            &self.janitor,
            timeout,
        )
    }

    /// Every task instance of `dag_id` in the metadata database, as
    /// `[task_id, try_number, state]` rows sorted by task id.
    pub fn task_states(&self, dag_id: &str) -> Result<Vec<(String, i64, String)>, String> {
        const QUERY: &str = "\
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    'select task_id, try_number, state from task_instance where dag_id = ? order by task_id',
    (sys.argv[2],)).fetchall()
print(json.dumps(rows))";
        let out = run_script(
            &self.bin.join("python"),
            QUERY,
            [self.database().as_os_str(), dag_id.as_ref()],
        )?;
        let rows: Vec<(String, i64, Option<String>)> =
            serde_json::from_str(&out).map_err(|e| format!("task states {out:?}: {e}"))?;
        Ok(rows
            .into_iter()
            .map(|(task, tries, state)| (task, tries, state.unwrap_or_default()))
            .collect())
    }
}

/// The metadata database `airflow db migrate` made in this process's
/// template home (migrated on first use; the error is kept for every later
/// caller).
fn migrated_database(bin: &Path) -> Result<&'static Path, String> {
    static DATABASE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DATABASE
        .get_or_init(|| {
            let scope = for_process();
            let home = scope.new_dir("airflow-template")?;
            let template = AirflowHome::empty(bin, &home, &scope.janitor())?;
            template.run("db-migrate", &["db", "migrate"], MIGRATE_TIMEOUT)?;
            Ok(template.database())
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// A running `airflow api-server --apps execution`, stopped (its whole
/// process group) when dropped.
#[derive(Debug)]
pub struct ExecutionApi {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// `http://127.0.0.1:<port>/execution/`, Airflow's
    /// `[core] execution_api_server_url`.
    pub url: String,
    _service: Service,
}

impl ExecutionApi {
    fn url_of(port: u16) -> String {
        format!("http://127.0.0.1:{port}/execution/")
    }
}
