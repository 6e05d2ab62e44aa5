//! A gate for event-based tests: code under test (a node, a fake server)
//! calls [`Gate::wait`] and blocks there until the test calls
//! [`Gate::open`]; the test observes arrivals and passages instead of
//! measuring how long anything took.
//!
//! ```
//! use std::sync::Arc;
//! use tandem_test_support::gate::Gate;
//!
//! let gate = Arc::new(Gate::new());
//! let held = Arc::clone(&gate);
//! let worker = std::thread::spawn(move || held.wait());
//! gate.wait_for_arrivals(1);
//! assert_eq!(gate.passed(), 0, "still held");
//! gate.open();
//! worker.join().unwrap();
//! assert_eq!(gate.passed(), 1);
//! ```

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a waiter or an observer waits before failing: a guard against
/// hangs only, never a measure of anything.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct State {
    open: bool,
    arrived: usize,
    passed: usize,
}

/// A one-shot gate counting who arrived at it and who went through.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Blocks until `ready` holds, panicking after [`HANG_GUARD`].
    fn wait_until(&self, what: &str, ready: impl Fn(&State) -> bool) -> MutexGuard<'_, State> {
        let deadline = Instant::now() + HANG_GUARD;
        let mut state = self.lock();
        while !ready(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "gate: {what} within {HANG_GUARD:?}");
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        state
    }

    /// Arrives at the gate and blocks until it is open.
    ///
    /// # Panics
    ///
    /// If the gate is still closed after [`HANG_GUARD`].
    pub fn wait(&self) {
        self.lock().arrived += 1;
        self.changed.notify_all();
        self.wait_until("never opened", |s| s.open).passed += 1;
        self.changed.notify_all();
    }

    /// Opens the gate for everyone waiting and every later arrival.
    pub fn open(&self) {
        self.lock().open = true;
        self.changed.notify_all();
    }

    /// Opens the gate when the returned guard is dropped, so a failing test
    /// does not leave code blocked at it (declare it after whatever must be
    /// torn down with the gate open, e.g. a server waiting for its requests).
    pub fn open_on_drop(&self) -> OpenOnDrop<'_> {
        OpenOnDrop(self)
    }

    /// Blocks until at least `n` waiters have arrived.
    ///
    /// # Panics
    ///
    /// If fewer have arrived after [`HANG_GUARD`].
    pub fn wait_for_arrivals(&self, n: usize) {
        drop(self.wait_until(&format!("{n} arrivals"), |s| s.arrived >= n));
    }

    /// How many waiters have arrived so far (held or gone through).
    pub fn arrived(&self) -> usize {
        self.lock().arrived
    }

    /// How many waiters have gone through the open gate so far.
    pub fn passed(&self) -> usize {
        self.lock().passed
    }

    /// Whether the gate has been opened.
    pub fn is_open(&self) -> bool {
        self.lock().open
    }
}

/// Opens its gate on drop; see [`Gate::open_on_drop`].
#[derive(Debug)]
pub struct OpenOnDrop<'a>(&'a Gate);

impl Drop for OpenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn waiters_are_held_until_the_gate_opens() {
        let gate = Arc::new(Gate::new());
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let gate = Arc::clone(&gate);
                std::thread::spawn(move || gate.wait())
            })
            .collect();
        gate.wait_for_arrivals(3);
        assert_eq!((gate.arrived(), gate.passed()), (3, 0));
        assert!(!gate.is_open());
        drop(gate.open_on_drop());
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(gate.passed(), 3);
        gate.wait();
        assert_eq!((gate.arrived(), gate.passed()), (4, 4));
    }
}
