//! The `data_processing` pipeline: weather stations' raw readings in
//! Fahrenheit (`raw_readings`, a CSV in data/01_raw) → the readings with a
//! Celsius column (`readings`, parquet in data/02_intermediate) → a summary
//! per station (`station_summary`, JSON in data/08_reporting).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, Float64Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::{Error, Pipeline, data_value, node};

/// Why a node of this pipeline could not produce its outputs; the run fails
/// with this message, naming the column at fault.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The table lacks a column the node reads.
    #[error("the table has no column '{0}'")]
    MissingColumn(String),
    /// A column has a type the node cannot read.
    #[error("column '{column}' is {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// Its arrow type.
        found: DataType,
        /// What the node reads.
        expected: &'static str,
    },
    /// Arrow refused the table built.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// One station's readings in `station_summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StationSummary {
    /// Readings with a temperature.
    pub readings: usize,
    /// Their mean, in °C.
    pub mean_c: f64,
    /// The highest, in °C.
    pub max_c: f64,
    /// Readings at or above `params:data_processing.hot_threshold_c`.
    pub hot_readings: usize,
}

/// What `station_summary.json` holds: the summary of each station by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The hot-reading threshold used, in °C.
    pub hot_threshold_c: f64,
    /// Each station's summary, by station name.
    pub stations: BTreeMap<String, StationSummary>,
}

// Lets the catalog save a `Summary` as JSON and load it back.
data_value!(serde: Summary);

/// Adds `temperature_c` to the readings, converted from `temperature_f`
/// (a missing temperature stays missing).
pub fn add_celsius(raw_readings: &RecordBatch) -> Result<RecordBatch, NodeError> {
    let fahrenheit = floats(raw_readings, "temperature_f")?;
    let celsius: Float64Array = fahrenheit.unary(|f| (f - 32.0) * 5.0 / 9.0);
    let mut fields = raw_readings.schema().fields().to_vec();
    fields.push(Arc::new(Field::new(
        "temperature_c",
        DataType::Float64,
        true,
    )));
    let mut columns = raw_readings.columns().to_vec();
    columns.push(Arc::new(celsius));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// Counts, averages and flags each station's readings; readings without a
/// temperature or a station are left out.
pub fn summarize_stations(
    readings: &RecordBatch,
    hot_threshold_c: f64,
) -> Result<Summary, NodeError> {
    let celsius = floats(readings, "temperature_c")?;
    let column = readings
        .column_by_name("station")
        .ok_or_else(|| NodeError::MissingColumn("station".to_owned()))?;
    let stations = column
        .as_string_opt::<i32>()
        .ok_or_else(|| NodeError::ColumnType {
            column: "station".to_owned(),
            found: column.data_type().clone(),
            expected: "utf8",
        })?;
    let mut sums: BTreeMap<String, (usize, f64, f64, usize)> = BTreeMap::new();
    for (station, temperature) in stations.iter().zip(celsius.iter()) {
        let (Some(station), Some(t)) = (station, temperature) else {
            continue;
        };
        let entry = sums
            .entry(station.to_owned())
            .or_insert((0, 0.0, f64::NEG_INFINITY, 0));
        entry.0 += 1;
        entry.1 += t;
        entry.2 = entry.2.max(t);
        entry.3 += usize::from(t >= hot_threshold_c);
    }
    let stations = sums
        .into_iter()
        .map(|(name, (readings, sum, max_c, hot_readings))| {
            let summary = StationSummary {
                readings,
                mean_c: sum / readings as f64,
                max_c,
                hot_readings,
            };
            (name, summary)
        })
        .collect();
    Ok(Summary {
        hot_threshold_c,
        stations,
    })
}

/// The float64 column `name`.
fn floats<'a>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow_array::PrimitiveArray<Float64Type>, NodeError> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| NodeError::MissingColumn(name.to_owned()))?;
    column
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| NodeError::ColumnType {
            column: name.to_owned(),
            found: column.data_type().clone(),
            expected: "float64",
        })
}

/// The pipeline: `raw_readings` → `add_celsius` → `readings` →
/// `summarize_stations` → `station_summary`.
pub fn create_pipeline() -> Result<Pipeline, Error> {
    Pipeline::new([
        node(add_celsius, "raw_readings", "readings")
            .name("add_celsius")
            .build()?,
        node(
            summarize_stations,
            ["readings", "params:data_processing.hot_threshold_c"],
            "station_summary",
        )
        .name("summarize_stations")
        .build()?,
    ])
}
