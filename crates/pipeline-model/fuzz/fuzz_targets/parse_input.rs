//! Request parsing on arbitrary bytes: `envelope::parse_input` must return
//! `Ok` or an error for any body, never panic, whatever the format and
//! with or without a signature to enforce.
//!
//! The first byte picks the format (JSON, CSV, parquet, Arrow IPC) and
//! whether the body is checked against a signature covering every column
//! kind; the rest is the body.
//!
//! Run from `crates/pipeline-model/fuzz` (needs nightly and `cargo install
//! cargo-fuzz`; see README.md):
//! `cargo +nightly fuzz run --fuzz-dir . parse_input corpus/parse_input seeds/parse_input`.

#![no_main]

use arrow_schema::{DataType, Field, TimeUnit};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use tandem_pipeline_model::envelope::{InputColumn, InputFormat, InputSpec, parse_input};

fn column(name: &str, data_type: DataType, required: bool) -> InputColumn {
    InputColumn {
        name: Some(name.to_owned()),
        data_type,
        required,
    }
}

fn spec() -> InputSpec {
    InputSpec {
        columns: vec![
            column("a", DataType::Float64, true),
            column("b", DataType::Int64, true),
            column("c", DataType::Utf8, false),
            column("d", DataType::Boolean, false),
            column("e", DataType::Int32, false),
            column("f", DataType::Float32, false),
            column("g", DataType::Binary, false),
            column("h", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            column(
                "i",
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
                false,
            ),
        ],
    }
}

fn list_spec() -> InputSpec {
    InputSpec {
        columns: vec![InputColumn {
            name: None,
            data_type: DataType::Float64,
            required: true,
        }],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = match selector % 4 {
        0 => InputFormat::Json,
        1 => InputFormat::Csv,
        2 => InputFormat::Parquet,
        _ => InputFormat::ArrowStream,
    };
    let spec = match (selector / 4) % 3 {
        0 => None,
        1 => Some(spec()),
        _ => Some(list_spec()),
    };
    let _ = parse_input(body, format, spec.as_ref());
});
