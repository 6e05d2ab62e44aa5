//! The demo project, from tandem-test-support.

pub use tandem_test_support::project::*;
