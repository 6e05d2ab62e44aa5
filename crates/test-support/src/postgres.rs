//! A real PostgreSQL server for the SQL datasets' tests and benchmark:
//! Debian's server binaries (installed with `apt-get install postgresql`
//! under a lock when missing), a cluster `initdb`-ed into the process's
//! scratch directory, trust authentication, listening on 127.0.0.1 only on
//! a free port with its unix socket inside the data directory, supervised
//! by [`crate::process`]. One server per test process ([`server`]); each
//! test takes a database of its own ([`Postgres::new_database`]).
//!
//! The cluster lives in the process scope's directory (under the temporary
//! directory), not the target directory: the janitor that stops the server
//! when the process ends also removes it, so no stale cluster piles up.
//!
//! PostgreSQL refuses to run as root; when the tests run as root, the data
//! directory is given to the `postgres` user and `initdb` and the server run
//! as that user through `setpriv`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::process::{JanitorHandle, Service, for_process, free_port, run_logged};
use crate::python::{Venv, target_dir};

/// `<target>/py-sql`: pandas with SQLAlchemy and psycopg 3, the Python side
/// the SQL datasets are compared with (`pd.read_sql_table`, `to_sql`).
pub const SQL_VENV: Venv = Venv::new(
    "py-sql",
    ".tandem-installed",
    &[
        "pandas==3.1.1",
        "SQLAlchemy==2.1.9",
        "psycopg[binary]==3.3.9",
        "pyarrow==25.0.1",
    ],
);

/// [`SQL_VENV`]'s `bin/` directory, provisioned on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn sql_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        SQL_VENV
            .provision(&target_dir())
            .unwrap_or_else(|e| panic!("provisioning {}: {e}", SQL_VENV.name()))
    })
}

/// The unprivileged account the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";

/// The database superuser `initdb` creates (trust auth: no password).
pub const SUPERUSER: &str = "postgres";

/// A running PostgreSQL server, stopped (its whole process group) when dropped.
#[derive(Debug)]
pub struct Postgres {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The data directory (also the unix socket directory).
    pub data_dir: PathBuf,
    bin: PathBuf,
    _service: Service,
}

impl Postgres {
    /// `initdb`s a cluster in `dir/data` and starts a server on it, its log
    /// in `dir/postgres.log`, registered with `janitor`; waits until it
    /// accepts connections.
    pub fn start(dir: &Path, janitor: &JanitorHandle) -> Result<Postgres, String> {
        let bin = server_binaries()?;
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("create {}: {e}", data_dir.display()))?;
        let as_root = crate::debian::is_root();
        if as_root {
            give_to_server_user(dir)?;
            give_to_server_user(&data_dir)?;
        }
        let mut initdb = as_server_user(as_root, &bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data_dir)
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .arg("--no-sync");
        run_logged(
            "initdb",
            initdb,
            &dir.join("initdb.log"),
            janitor,
            Duration::from_secs(120),
        )?;
        let port = free_port()?;
        let mut server = as_server_user(as_root, &bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data_dir)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(&data_dir)
            // A throwaway cluster: durability is not what the tests measure.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"]);
        let mut service = Service::spawn("postgres", server, &dir.join("postgres.log"), janitor)?;
        let isready = bin.join("pg_isready");
        service.wait_ready(Duration::from_secs(60), || {
            Command::new(&isready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })?;
        Ok(Postgres {
            port,
            data_dir,
            bin,
            _service: service,
        })
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Runs one SQL command with `psql` in `database`; returns its unaligned,
    /// tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
            ])
            .args(["-d", database, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run psql: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "psql `{sql}` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// Creates a database no other caller in this process uses and returns
    /// its name.
    ///
    /// # Panics
    ///
    /// When the server refuses to create it.
    pub fn new_database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tandem_test_{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("{e}"));
        name
    }
}

/// The process's PostgreSQL server, started on first use and stopped when
/// the process ends.
///
/// # Panics
///
/// When the server binaries cannot be found or installed, or the server
/// does not start within 60 s.
pub fn server() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(|| {
        let scope = for_process();
        scope
            .new_dir("postgres")
            .and_then(|dir| Postgres::start(&dir, &scope.janitor()))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The directory holding `initdb`, `postgres`, `pg_isready` and `psql`:
/// the newest `/usr/lib/postgresql/<major>/bin`, installing Debian's
/// `postgresql` package (under a lock, once) when there is none.
pub fn server_binaries() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            crate::debian::find_or_install(
                "postgresql",
                "PostgreSQL server in /usr/lib/postgresql",
                installed,
            )
        })
        .clone()
}

fn installed() -> Option<PathBuf> {
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "postgres", "pg_isready", "psql"]
                .iter()
                .all(|tool| bin.join(tool).is_file())
                .then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors.pop().map(|(_, bin)| bin)
}

/// `program` run as [`SERVER_USER`] when we are root (`setpriv` execs it,
/// so the server is the process group's leader's direct image).
fn as_server_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("setpriv");
        command
            .args([
                &format!("--reuid={SERVER_USER}"),
                &format!("--regid={SERVER_USER}"),
                "--init-groups",
                "--",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn give_to_server_user(path: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .arg(format!("{SERVER_USER}:{SERVER_USER}"))
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("run chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "chown {SERVER_USER} {} failed ({status})",
            path.display()
        ))
    }
}
