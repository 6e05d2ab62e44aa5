//! Runner behaviour: order, release, hooks, failure and resume, panics,
//! missing inputs and only-missing-outputs, for both runners.

mod support;

mod failure;
mod hooks;
mod missing;
mod panics;
mod release;
