//! The demo project (from tandem-test-support) and helpers of the model tests.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different part of the fixtures"
)]

pub mod envelope;

pub use tandem_test_support::model::*;
pub use tandem_test_support::project::*;
