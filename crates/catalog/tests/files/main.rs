//! The file datasets on local directories and `memory://`: every type and
//! option, versioning, atomic saves and configuration errors.

mod common;
mod compression_pandas;
mod csv;
mod csv_pandas;
mod documents;
mod excel;
mod pandas_excel;
mod parquet;
mod parquet_hostile;
mod parquet_pandas;
mod storage;
mod timestamps_pandas;
