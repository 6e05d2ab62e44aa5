//! The bridge from blocking APIs to async I/O.
//!
//! One multi-thread tokio runtime serves the whole process. Callers (the main
//! thread, rayon workers) block on it; the cloud stores' and the MLflow
//! client's HTTP stacks need a reactor, which that runtime provides. Blocking
//! on it from inside another tokio runtime would panic, so such calls move to
//! a scoped helper thread.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// The shared runtime could not be started (the OS refused threads or an
/// I/O driver).
#[derive(Clone, Debug, thiserror::Error)]
#[error("could not start the I/O runtime: {0}")]
pub struct RuntimeError(pub String);

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static Runtime, RuntimeError> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tandem-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| RuntimeError(e.clone()))
}

/// Runs `future` to completion on the shared I/O runtime.
///
/// Safe from any thread: inside another runtime (a user's async code) the
/// future runs on a scoped helper thread, since blocking a runtime's own
/// thread on a second runtime is not allowed.
pub fn block_on<F>(future: F) -> Result<F::Output, RuntimeError>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if Handle::try_current().is_ok() {
        return Ok(std::thread::scope(|s| {
            s.spawn(|| rt.block_on(future))
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
    }
    Ok(rt.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn works_from_plain_threads_and_inside_a_runtime() {
        assert_eq!(block_on(async { 1 + 1 }).unwrap(), 2);
        let handles: Vec<_> = (0..4)
            .map(|i| std::thread::spawn(move || block_on(async move { i * 2 }).unwrap()))
            .collect();
        let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 12);
        let outer = Builder::new_current_thread().build().unwrap();
        let inner = outer.block_on(async { block_on(async { 7 }).unwrap() });
        assert_eq!(inner, 7);
    }
}
