//! The Python virtualenvs the tests, the benchmarks and `cargo xtask e2e`
//! share, under the target directory (so `cargo clean` removes them and
//! every checkout has its own):
//!
//! - [`MLFLOW_VENV`], `<target>/py-mlflow`: MLflow, for real tracking
//!   servers and MLflow's own Python client and model tools;
//! - [`TOOLS_VENV`], `<target>/py-venv`: moto's S3 server, pyarrow and
//!   jsonschema;
//! - [`KEDRO_VIZ_VENV`], `<target>/py-kedro-viz`: kedro-viz, which serves
//!   tandem's export of a project's pipelines.
//!
//! Provisioning is idempotent: a marker file in the venv records the
//! packages installed (one per line), and the install runs under an
//! exclusive lock on `<target>/<name>.lock`, so concurrent test processes
//! (and xtask) wait for the one that installs; the OS drops the lock if that
//! process dies.
//!
//! The installs go through [uv](https://docs.astral.sh/uv/) ([`UV`]), itself
//! installed by pip into `<target>/py-uv` on first use: it resolves and
//! downloads in parallel and shares one cache (`<target>/uv-cache`) between
//! the venvs, which makes a cold CI machine's venvs a matter of seconds
//! where pip took minutes each (Airflow: 6 s against 2 min 14 s). Modules
//! compile to bytecode on first import, as pip-less installs leave them.
//! uv only ever uses the machine's `python3`; it never downloads a Python.

use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The MLflow release the tests run against (the protocol notes' basis);
/// the `auth` extra brings the basic-auth app's dependencies.
pub const MLFLOW: &str = "mlflow[auth]==3.17.2";

/// `<target>/py-mlflow`: [`MLFLOW`], and the exact versions of what a
/// model's Python loader imports besides it, as a model's requirements.txt
/// pins them (`tandem_pipeline_model::model::PYFUNC_REQUIREMENTS`, whose
/// tests check this list holds each): pandas and pyarrow, and zstandard,
/// which the loader unpacks its compressed executable with.
/// `--env-manager local` uses this venv as is.
pub const MLFLOW_VENV: Venv = Venv::new(
    "py-mlflow",
    ".tandem-installed",
    &[
        MLFLOW,
        "pandas==3.1.1",
        "pyarrow==25.0.1",
        "zstandard==0.25.0",
    ],
);

/// The uv release that installs the venvs' packages (see the module docs).
pub const UV: &str = "uv==0.13.9";

/// `<target>/py-uv`: [`UV`], installed by pip (the one install that is).
const UV_VENV: &str = "py-uv";

/// `<target>/py-venv`: moto's S3 server, pyarrow, and the reference JSON
/// Schema validator (Argo manifests are checked with it).
pub const TOOLS_VENV: Venv = Venv::new(
    "py-venv",
    ".tandem-requirements",
    &["moto[server]", "pyarrow", "jsonschema==4.26.0"],
);

/// `<target>/py-kedro-viz`: kedro-viz 12.5.0, whose export format `tandem
/// viz build` writes, and the Kedro release its notes were verified with
/// (kedro-viz needs kedro >= 1.0).
pub const KEDRO_VIZ_VENV: Venv = Venv::new(
    "py-kedro-viz",
    ".tandem-installed",
    &["kedro==1.7.0", "kedro-viz==12.5.0"],
);

/// Every venv the test suite and `cargo xtask e2e` use, so that xtask can
/// provision them while it compiles (the tests would otherwise each wait
/// for theirs on first use).
pub fn suite_venvs() -> [Venv; 7] {
    [
        MLFLOW_VENV,
        TOOLS_VENV,
        KEDRO_VIZ_VENV,
        crate::airflow::AIRFLOW_VENV,
        crate::excel::EXCEL_VENV,
        crate::plots::PLOTS_VENV,
        crate::postgres::SQL_VENV,
    ]
}

/// A virtualenv `<target>/<name>` holding `packages`.
#[derive(Debug, Clone, Copy)]
pub struct Venv {
    name: &'static str,
    marker: &'static str,
    packages: &'static [&'static str],
}

impl Venv {
    /// The venv `<target>/<name>` with `packages` (pip requirement strings),
    /// recorded in the file `marker` inside it; changing the list re-runs
    /// the install.
    pub const fn new(
        name: &'static str,
        marker: &'static str,
        packages: &'static [&'static str],
    ) -> Venv {
        Venv {
            name,
            marker,
            packages,
        }
    }

    /// Its directory name under the target directory.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The packages it holds.
    pub fn packages(&self) -> &'static [&'static str] {
        self.packages
    }

    /// `<target>/<name>`.
    pub fn dir(&self, target: &Path) -> PathBuf {
        target.join(self.name)
    }

    /// Whether the marker says the packages are installed, so that
    /// [`Venv::provision`] will not install (for a progress line; another
    /// process may be installing meanwhile).
    pub fn is_current(&self, target: &Path) -> bool {
        std::fs::read_to_string(self.dir(target).join(self.marker))
            .is_ok_and(|installed| installed == self.packages.join("\n"))
    }

    /// Creates the venv and installs the packages unless its marker already
    /// lists them; returns its `bin/` directory.
    pub fn provision(&self, target: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(target).map_err(|e| format!("create {}: {e}", target.display()))?;
        let lock = exclusive_lock(&target.join(format!("{}.lock", self.name)))?;
        let venv = self.dir(target);
        // Checked again under the lock: whoever held it may have installed.
        if !self.is_current(target) {
            let uv = uv_bin(target)?;
            if !venv.join("bin/python").is_file() {
                run(uv_command(&uv, target)
                    .args(["venv", "--quiet", "--python", "python3"])
                    .arg(&venv))?;
            }
            run(uv_command(&uv, target)
                .args(["pip", "install", "--quiet", "--python"])
                .arg(venv.join("bin/python"))
                .args(self.packages))?;
            let marker = venv.join(self.marker);
            std::fs::write(&marker, self.packages.join("\n"))
                .map_err(|e| format!("write {}: {e}", marker.display()))?;
        }
        // Dropping the file releases the lock (also when the process dies).
        drop(lock);
        Ok(venv.join("bin"))
    }
}

/// `<target>/py-uv/bin/uv`, pip-installing [`UV`] there first (under its
/// own lock) unless that venv's marker says it is.
fn uv_bin(target: &Path) -> Result<PathBuf, String> {
    let lock = exclusive_lock(&target.join(format!("{UV_VENV}.lock")))?;
    let venv = target.join(UV_VENV);
    let marker = venv.join(".tandem-installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(UV) {
        if !venv.join("bin/python").is_file() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        }
        run(Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            UV,
        ]))?;
        std::fs::write(&marker, UV).map_err(|e| format!("write {}: {e}", marker.display()))?;
    }
    drop(lock);
    Ok(venv.join("bin/uv"))
}

/// `path` opened (created if missing) and locked exclusively, waiting for
/// another holder; the lock lasts until the file is dropped, or the
/// process dies. What the provisioning of venvs and Debian packages
/// serialises on.
pub(crate) fn exclusive_lock(path: &Path) -> Result<std::fs::File, String> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("lock {}: {e}", path.display()))?;
    Ok(file)
}

/// `uv` with the shared cache under `target`, no user or project
/// configuration, and the machine's Python only.
fn uv_command(uv: &Path, target: &Path) -> Command {
    let mut command = Command::new(uv);
    command
        .arg("--no-config")
        .env("UV_CACHE_DIR", target.join("uv-cache"))
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_PYTHON_PREFERENCE", "only-system")
        .env_remove("VIRTUAL_ENV");
    command
}

/// [`MLFLOW_VENV`]'s `bin/` directory (`mlflow`, `python`, `uvicorn`),
/// provisioned on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn mlflow_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| provisioned(&MLFLOW_VENV))
}

/// [`TOOLS_VENV`]'s `bin/` directory (`moto_server`, `python`),
/// provisioned on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn tools_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| provisioned(&TOOLS_VENV))
}

/// [`KEDRO_VIZ_VENV`]'s `bin/` directory (`kedro`, `python`), provisioned
/// on first use.
///
/// # Panics
///
/// When `python3` is missing or the install fails; the message says which.
pub fn kedro_viz_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| provisioned(&KEDRO_VIZ_VENV))
}

fn provisioned(venv: &Venv) -> PathBuf {
    venv.provision(&target_dir())
        .unwrap_or_else(|e| panic!("provisioning {}: {e}", venv.name))
}

/// The target directory the venvs live in: the one holding the running
/// test or bench executable (`<target>/<profile>/deps/<name>-<hash>`),
/// else `CARGO_TARGET_DIR` (relative to the current directory, as cargo
/// reads it), else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    // The executable's own location is right however the target directory
    // was chosen; `CARGO_TARGET_DIR` read from a test would be relative to
    // the package directory cargo runs tests in, not to where cargo ran.
    let exe = std::env::current_exe().ok();
    if let Some(target) = exe
        .as_deref()
        .filter(|exe| exe.parent().and_then(Path::file_name) == Some(OsStr::new("deps")))
        .and_then(|exe| exe.ancestors().nth(3))
    {
        return target.to_path_buf();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => std::env::current_dir().unwrap_or_default().join(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// `PATH` with `dir` first, so tools that start `mlflow` or `python` by
/// name (MLflow's servers do) find the venv's.
pub fn with_path(dir: &Path) -> OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

/// Runs `python -c script args...` with stdin closed and returns its
/// standard output; a failure's error quotes its stderr.
pub fn run_script<S: AsRef<OsStr>>(
    python: &Path,
    script: &str,
    args: impl IntoIterator<Item = S>,
) -> Result<String, String> {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "python script failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venv_is_current_only_when_its_marker_lists_its_packages() {
        let target = crate::process::WorkDir::create("tandem-venv-test").unwrap();
        let venv = Venv::new("py-x", ".marker", &["a==1", "b"]);
        assert!(!venv.is_current(target.path()));
        std::fs::create_dir_all(venv.dir(target.path())).unwrap();
        let marker = venv.dir(target.path()).join(".marker");
        std::fs::write(&marker, "a==1").unwrap();
        assert!(!venv.is_current(target.path()));
        std::fs::write(&marker, "a==1\nb").unwrap();
        assert!(venv.is_current(target.path()));
        // Provisioning a current venv installs nothing (no python3 needed).
        assert_eq!(
            venv.provision(target.path()).unwrap(),
            target.path().join("py-x/bin")
        );
        assert!(target.path().join("py-x.lock").is_file());
    }

    #[test]
    fn test_executables_find_the_target_directory_they_run_from() {
        let exe = std::env::current_exe().unwrap();
        assert!(exe.starts_with(target_dir()), "{}", exe.display());
    }
}
