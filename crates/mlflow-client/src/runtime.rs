//! The bridge from the blocking client API to the async HTTP stack.
//!
//! One multi-thread tokio runtime serves the whole process; callers (the main
//! thread, rayon workers) block on it. Blocking on it from inside another
//! runtime would panic, so such calls move to a scoped helper thread.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::Error;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static Runtime, Error> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tandem-mlflow")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

/// Runs `future` to completion on the shared runtime.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, Error>
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
        let outer = Builder::new_current_thread().build().unwrap();
        assert_eq!(outer.block_on(async { block_on(async { 7 }).unwrap() }), 7);
    }
}
