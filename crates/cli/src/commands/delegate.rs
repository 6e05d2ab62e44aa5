//! Handing a model to the executable it carries: a binary that does not
//! register the model's functions (the bundled `tandem`, a project's binary
//! given another project's model) runs `models serve|predict` through the
//! model's `bin/` executable, once its platform and checksum are verified.
//!
//! The child runs with the parent's stdin, stdout and stderr; SIGINT and
//! SIGTERM reaching the parent are passed on, so a supervisor that stops
//! the parent stops the server gracefully; the parent exits with the
//! child's status, after removing a model it downloaded.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};

use tandem_pipeline_model::{Error as MlError, MlModel};

use crate::error::Failure;

/// Set in the child's environment: an embedded executable that lacks the
/// functions too must fail, not hand the model on again, forever.
const DELEGATED_ENV: &str = "TANDEM_RUNNING_EMBEDDED";

/// Whether the user consented to running a model's embedded executable,
/// and the model as they named it (for the error when they did not).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Consent<'a> {
    /// The model's directory or URI, as given.
    pub(crate) model: &'a str,
    /// `--trust-model-executable` or `TANDEM_TRUST_MODEL_EXECUTABLE`.
    pub(crate) trusted: bool,
}

/// The verified embedded executable of the model in `dir`, for a load that
/// failed with `missing` (this binary lacks the model's functions), when
/// `consent` allows running it; the load error itself, with what to do,
/// when there is none to run.
pub(crate) fn embedded_executable(
    dir: &Path,
    missing: MlError,
    consent: Consent<'_>,
) -> Result<PathBuf, Failure> {
    let flavor = MlModel::read(dir)?.tandem_flavor(dir)?;
    let reason = if std::env::var_os(DELEGATED_ENV).is_some() {
        "this is already the model's embedded executable, and it does not register them either"
    } else if let Some(executable) = flavor.executable {
        // Asked before anything is unpacked or checked: without consent,
        // nothing of the model's code is touched.
        if !consent.trusted {
            return Err(Failure::UntrustedExecutable {
                model: consent.model.to_owned(),
                path: executable.path,
                target: executable.target,
                sha256: executable.sha256,
            });
        }
        let path = executable.verify(dir)?;
        tracing::info!(
            "this binary does not register the model's functions; running its embedded \
             executable {}",
            path.display()
        );
        return Ok(path);
    } else {
        "the model embeds no executable (it was saved with --no-executable, \
         embed_executable: false or by a library call); run it with its package's binary"
    };
    Err(Failure::CannotDelegate {
        missing: Box::new(missing),
        reason: reason.to_owned(),
    })
}

/// Runs `executable` with `args` and returns its exit code, passing on
/// SIGINT and SIGTERM.
pub(crate) fn run(executable: &Path, args: &[OsString]) -> Result<u8, Failure> {
    let spawn_failure = |source| Failure::File {
        path: executable.display().to_string(),
        source,
    };
    let child = Command::new(executable)
        .args(args)
        .env(DELEGATED_ENV, "1")
        .spawn()
        .map_err(spawn_failure)?;
    let status = wait_forwarding_signals(child).map_err(spawn_failure)?;
    Ok(exit_code(status))
}

fn wait_forwarding_signals(mut child: Child) -> std::io::Result<ExitStatus> {
    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_child(&child);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done, mut exited) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || done.send(child.wait()));
        runtime.block_on(async {
            loop {
                tokio::select! {
                    status = &mut exited => {
                        return status.unwrap_or_else(|_| {
                            Err(std::io::Error::other("the wait thread ended without a status"))
                        });
                    }
                    () = tandem_serving::shutdown_signal() => {
                        // The child may be gone already; then no one needs telling.
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
                    }
                }
            }
        })
    }
    #[cfg(not(unix))]
    child.wait()
}

/// The child's exit code; a child killed by a signal exits 128 + its
/// number, as shells report it.
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}
