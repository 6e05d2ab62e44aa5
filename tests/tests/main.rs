//! End-to-end tests of the `tandem` binary.

mod describe;
mod errors;
mod catalog_s3;
mod pyarrow_interop;
