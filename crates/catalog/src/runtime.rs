//! The bridge from the synchronous dataset API to async `object_store` calls.
//!
//! One multi-thread tokio runtime serves the whole process. Callers (the main
//! thread, rayon workers) block on it; the cloud stores' HTTP clients need a
//! reactor, which that runtime provides. Calling from inside another tokio
//! runtime would make `block_on` panic, so such calls move to a scoped thread.

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
                .thread_name("tandem-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Runtime(e.clone()))
}

/// Runs `future` to completion on the shared I/O runtime.
pub fn block_on<F>(future: F) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if Handle::try_current().is_ok() {
        // Already inside a runtime (a user's async code): blocking this thread
        // on another runtime is not allowed, so block a helper thread instead.
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
