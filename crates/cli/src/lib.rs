//! tandem CLI
