//! Apache Airflow 3 for the deployment tests: a venv under the target
//! directory ([`AIRFLOW_VENV`], installed once per target directory like the
//! MLflow venv) and an `AIRFLOW_HOME` of a test's own with a SQLite metadata
//! database and no example DAGs, in which `airflow dags test` runs a DAG
//! file's tasks in the CLI's process (no scheduler, no API server).
//!
//! Every command runs supervised (its process group is stopped if the test
//! dies) with its output in a log file beside the home.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::process::{JanitorHandle, run_logged};
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
    /// Creates `home` (and `home/dags`), then runs `airflow db migrate` in it.
    pub fn create(bin: &Path, home: &Path, janitor: &JanitorHandle) -> Result<AirflowHome, String> {
        std::fs::create_dir_all(home.join("dags"))
            .map_err(|e| format!("create {}: {e}", home.display()))?;
        let home = std::path::absolute(home).map_err(|e| format!("{}: {e}", home.display()))?;
        let airflow = AirflowHome {
            bin: bin.to_path_buf(),
            home,
            janitor: janitor.clone(),
        };
        airflow.run("db-migrate", &["db", "migrate"], MIGRATE_TIMEOUT)?;
        Ok(airflow)
    }

    /// The DAG folder, `<home>/dags`.
    pub fn dags_dir(&self) -> PathBuf {
        self.home.join("dags")
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
            .env("AIRFLOW__CORE__PARALLELISM", "4");
        command
    }

    fn run(&self, name: &str, args: &[&str], timeout: Duration) -> Result<(), String> {
        let log = self.home.join(format!("{name}.log"));
        run_logged(
            &format!("airflow {name}"),
            self.command(args),
            &log,
            &self.janitor,
            timeout,
        )
    }

    /// `airflow dags test <dag_id> -f <file> [-c <conf>]`: one DAG run, its
    /// tasks in this process; an error if any task failed (Airflow exits 1).
    /// The log is `<home>/dags-test-<dag_id>.log`.
    pub fn dags_test(&self, dag_id: &str, file: &Path, conf: Option<&Value>) -> Result<(), String> {
        let file = file.to_string_lossy();
        let conf = conf.map(Value::to_string);
        let mut args = vec!["dags", "test", dag_id, "-f", &file];
        if let Some(conf) = &conf {
            args.extend(["-c", conf]);
        }
        self.run(&format!("dags-test-{dag_id}"), &args, DAGS_TEST_TIMEOUT)
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
