//! Operation scopes: everything one run operation sends (a `log_batch` split
//! into several requests, a model's files uploaded in parallel) shares one
//! retry budget and one name for its errors.
//!
//! The budget is for failures: it starts at the operation's first retryable
//! failure, so a healthy but long upload never runs out of it, while a dead
//! server stops the whole operation once it is spent instead of each
//! request retrying for a budget of its own.
//!
//! The scope lives in a thread-local on the calling thread (the client is
//! blocking) and is carried into the futures the client runs with
//! [`block_on`], whichever runtime thread polls them.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One operation's shared retry budget.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    budget: Duration,
    first_failure: Arc<Mutex<Option<Instant>>>,
    hard: bool,
}

impl Scope {
    /// A budget that starts at the operation's first failure.
    pub(crate) fn new(budget: Duration) -> Scope {
        Scope {
            budget,
            first_failure: Arc::new(Mutex::new(None)),
            hard: false,
        }
    }

    /// A budget for the whole operation from now, attempts included: what
    /// runs after a failure (marking a run FAILED) must end soon even
    /// against a server that accepts connections and never answers.
    pub(crate) fn hard(budget: Duration) -> Scope {
        Scope {
            budget,
            first_failure: Arc::new(Mutex::new(Some(Instant::now()))),
            hard: true,
        }
    }

    /// For a hard scope, the instant its every attempt must end by.
    pub(crate) fn hard_deadline(&self) -> Option<Instant> {
        self.hard.then(|| self.deadline_after_failure())
    }

    /// The operation's budget.
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// Records a failure now (the first one starts the budget) and returns
    /// the instant after which no retry of the operation may start.
    pub(crate) fn deadline_after_failure(&self) -> Instant {
        let mut first = self
            .first_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *first.get_or_insert_with(Instant::now) + self.budget
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

tokio::task_local! {
    static TASK: Option<Scope>;
}

/// The scope of the operation in progress, if any: the future's own when
/// called from inside one, else the calling thread's.
pub(crate) fn current() -> Option<Scope> {
    match TASK.try_with(Clone::clone) {
        Ok(scope) => scope,
        Err(_) => CURRENT.with(|c| c.borrow().clone()),
    }
}

/// Runs `f` with `scope` as this thread's operation, restoring the previous
/// one afterwards (also when `f` panics).
pub(crate) fn enter<T>(scope: Option<Scope>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Scope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), scope));
    let _restore = Restore(previous);
    f()
}

/// [`tandem_io::block_on`] with the caller's operation carried into the future.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, tandem_io::RuntimeError>
where
    F: Future + Send,
    F::Output: Send,
{
    let scope = current();
    tandem_io::block_on(TASK.scope(scope, future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_restore_and_reach_futures() {
        assert!(current().is_none());
        let outer = Scope::new(Duration::from_secs(7));
        enter(Some(outer.clone()), || {
            let seen = block_on(async { current().map(|s| s.budget()) }).unwrap();
            assert_eq!(seen, Some(Duration::from_secs(7)));
            enter(Some(Scope::new(Duration::from_secs(1))), || {
                assert_eq!(current().unwrap().budget(), Duration::from_secs(1));
            });
            assert_eq!(current().unwrap().budget(), Duration::from_secs(7));
        });
        assert!(current().is_none());
        // The budget starts at the first failure and is shared by clones.
        let first = outer.deadline_after_failure();
        assert_eq!(outer.clone().deadline_after_failure(), first);
    }
}
