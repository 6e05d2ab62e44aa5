//! The demo project and its model, from tandem-test-support.

pub use tandem_test_support::model::*;
pub use tandem_test_support::project::*;
