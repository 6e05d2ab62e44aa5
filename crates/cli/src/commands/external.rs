//! Handing over to another program (kedro-viz, MLflow's UI): finding it on
//! PATH, quoting the command a user can run instead, and staying alive
//! through the Ctrl-C that stops it.

use std::path::PathBuf;

/// Keeps Ctrl-C from ending tandem while the program it started runs: the
/// terminal sends it to both, the program stops, and tandem then cleans up
/// and exits with the program's code.
/// tokio's handler, once installed, stays for the life of the process and
/// only records the signal.
pub(super) fn outlive_ctrl_c() {
    #[cfg(unix)]
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        let installed = runtime.block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        });
        if let Err(e) = installed {
            tracing::debug!("Ctrl-C will end tandem before the program it started: {e}");
        }
    }
}

/// The first `program` on PATH.
pub(super) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `text` quoted for a POSIX shell when it needs it.
pub(super) fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
