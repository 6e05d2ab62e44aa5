//! The spaceflights tutorial's node functions, written in Rust over arrow
//! tables the way a Kedro user writes them over pandas DataFrames.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::data_value;

/// `params:model_options`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ModelOptions {
    pub(crate) test_size: f64,
    pub(crate) random_state: u64,
    pub(crate) features: Vec<String>,
}

/// The fitted linear regression: one coefficient per feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Regressor {
    pub(crate) features: Vec<String>,
    pub(crate) coefficients: Vec<f64>,
    pub(crate) intercept: f64,
}

data_value!(params: ModelOptions);
data_value!(serde: Regressor);

type Result<T> = std::result::Result<T, String>;

fn column<'a>(table: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    table
        .column_by_name(name)
        .ok_or_else(|| format!("no column '{name}'"))
}

fn strings(table: &RecordBatch, name: &str) -> Result<StringArray> {
    let cast =
        arrow_cast::cast(column(table, name)?, &DataType::Utf8).map_err(|e| e.to_string())?;
    Ok(cast
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or("not text")?
        .clone())
}

fn floats(table: &RecordBatch, name: &str) -> Result<Float64Array> {
    let cast =
        arrow_cast::cast(column(table, name)?, &DataType::Float64).map_err(|e| e.to_string())?;
    Ok(cast
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or("not numeric")?
        .clone())
}

fn ids(table: &RecordBatch, name: &str) -> Result<Int64Array> {
    let cast =
        arrow_cast::cast(column(table, name)?, &DataType::Int64).map_err(|e| e.to_string())?;
    Ok(cast
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or("not an id")?
        .clone())
}

/// `x == "t"`, nulls kept.
fn is_true(table: &RecordBatch, name: &str) -> Result<ArrayRef> {
    let text = strings(table, name)?;
    Ok(Arc::new(
        text.iter()
            .map(|v| v.map(|v| v == "t"))
            .collect::<BooleanArray>(),
    ))
}

/// `x.str.replace(from, "")...astype(float) / divisor`.
fn parse_number(table: &RecordBatch, name: &str, strip: &[char], divisor: f64) -> Result<ArrayRef> {
    let text = strings(table, name)?;
    let mut out = Vec::with_capacity(text.len());
    for value in text.iter() {
        out.push(match value {
            None => None,
            Some(v) => {
                let clean: String = v.chars().filter(|c| !strip.contains(c)).collect();
                let number: f64 = clean
                    .parse()
                    .map_err(|_| format!("'{v}' in '{name}' is not a number"))?;
                Some(number / divisor)
            }
        });
    }
    Ok(Arc::new(Float64Array::from(out)))
}

/// `table` with some columns replaced.
fn replace(table: &RecordBatch, with: &[(&str, ArrayRef)]) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, array) in table.schema().fields().iter().zip(table.columns()) {
        match with.iter().find(|(name, _)| name == field.name()) {
            Some((_, new)) => {
                fields.push(Field::new(field.name(), new.data_type().clone(), true));
                columns.push(Arc::clone(new));
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(array));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// The tutorial's `preprocess_companies`: `iata_approved` to booleans,
/// `company_rating` from "90%" to 0.9.
pub(crate) fn preprocess_companies(companies: &RecordBatch) -> Result<RecordBatch> {
    replace(
        companies,
        &[
            ("iata_approved", is_true(companies, "iata_approved")?),
            (
                "company_rating",
                parse_number(companies, "company_rating", &['%'], 100.0)?,
            ),
        ],
    )
}

/// The tutorial's `preprocess_shuttles`: the checks to booleans, `price`
/// from "$1,325.0" to 1325.0.
pub(crate) fn preprocess_shuttles(shuttles: &RecordBatch) -> Result<RecordBatch> {
    replace(
        shuttles,
        &[
            ("d_check_complete", is_true(shuttles, "d_check_complete")?),
            (
                "moon_clearance_complete",
                is_true(shuttles, "moon_clearance_complete")?,
            ),
            ("price", parse_number(shuttles, "price", &['$', ','], 1.0)?),
        ],
    )
}

/// Row indices of an inner join of `left.left_key` with `right.right_key`
/// (right keys unique), in left order.
fn join(
    left: &RecordBatch,
    left_key: &str,
    right: &RecordBatch,
    right_key: &str,
) -> Result<(UInt32Array, UInt32Array)> {
    let right_ids = ids(right, right_key)?;
    let mut index = HashMap::with_capacity(right_ids.len());
    for (row, id) in right_ids.iter().enumerate() {
        if let Some(id) = id {
            index.insert(id, row as u32);
        }
    }
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for (row, id) in ids(left, left_key)?.iter().enumerate() {
        if let Some(found) = id.and_then(|id| index.get(&id)) {
            l.push(row as u32);
            r.push(*found);
        }
    }
    Ok((UInt32Array::from(l), UInt32Array::from(r)))
}

fn take_all(
    table: &RecordBatch,
    rows: &UInt32Array,
    skip: &[&str],
    fields: &mut Vec<Field>,
    columns: &mut Vec<ArrayRef>,
) -> Result<()> {
    for (field, array) in table.schema().fields().iter().zip(table.columns()) {
        if skip.contains(&field.name().as_str()) {
            continue;
        }
        fields.push(field.as_ref().clone().with_nullable(true));
        columns.push(arrow_select::take::take(array, rows, None).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// The tutorial's `create_model_input_table`: shuttles joined with their
/// reviews and their company, rows with a missing value dropped.
pub(crate) fn create_model_input_table(
    shuttles: &RecordBatch,
    companies: &RecordBatch,
    reviews: &RecordBatch,
) -> Result<RecordBatch> {
    let (s_rows, r_rows) = join(shuttles, "id", reviews, "shuttle_id")?;
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    take_all(shuttles, &s_rows, &["id"], &mut fields, &mut columns)?;
    take_all(reviews, &r_rows, &[], &mut fields, &mut columns)?;
    let rated =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())?;
    let (rated_rows, c_rows) = join(&rated, "company_id", companies, "id")?;
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    take_all(&rated, &rated_rows, &[], &mut fields, &mut columns)?;
    take_all(companies, &c_rows, &[], &mut fields, &mut columns)?;
    let joined =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())?;
    // dropna()
    let complete: BooleanArray = (0..joined.num_rows())
        .map(|row| Some(joined.columns().iter().all(|c| c.is_valid(row))))
        .collect();
    arrow_select::filter::filter_record_batch(&joined, &complete).map_err(|e| e.to_string())
}

/// A small deterministic shuffle (the test's `random_state`).
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (state >> 33) as usize % (i + 1);
        order.swap(i, j);
    }
    order
}

fn table(columns: Vec<(String, ArrayRef)>) -> Result<RecordBatch> {
    RecordBatch::try_from_iter(columns).map_err(|e| e.to_string())
}

/// The tutorial's `split_data`: features and price, split into train and
/// test sets.
#[allow(clippy::type_complexity)]
pub(crate) fn split_data(
    data: &RecordBatch,
    options: ModelOptions,
) -> Result<(RecordBatch, RecordBatch, RecordBatch, RecordBatch)> {
    let order = shuffled(data.num_rows(), options.random_state);
    let test_len = (data.num_rows() as f64 * options.test_size).ceil() as usize;
    let (test, train) = order.split_at(test_len);
    let rows =
        |part: &[usize]| UInt32Array::from(part.iter().map(|&r| r as u32).collect::<Vec<_>>());
    let pick = |part: &[usize], names: &[String]| -> Result<RecordBatch> {
        let rows = rows(part);
        let mut columns = Vec::new();
        for name in names {
            let array: ArrayRef = Arc::new(floats(data, name)?);
            let taken = arrow_select::take::take(&array, &rows, None).map_err(|e| e.to_string())?;
            columns.push((name.clone(), taken));
        }
        table(columns)
    };
    let price = ["price".to_owned()];
    Ok((
        pick(train, &options.features)?,
        pick(test, &options.features)?,
        pick(train, &price)?,
        pick(test, &price)?,
    ))
}

fn matrix(x: &RecordBatch) -> Result<Vec<Vec<f64>>> {
    let mut columns = Vec::new();
    for field in x.schema().fields() {
        columns.push(floats(x, field.name())?);
    }
    Ok((0..x.num_rows())
        .map(|row| columns.iter().map(|c| c.value(row)).collect())
        .collect())
}

/// Least squares by the normal equations (a tiny ridge term keeps them
/// solvable), solved by Gaussian elimination.
pub(crate) fn train_model(x_train: &RecordBatch, y_train: &RecordBatch) -> Result<Regressor> {
    let rows = matrix(x_train)?;
    let y = floats(y_train, "price")?;
    let k = x_train.num_columns() + 1;
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, features) in rows.iter().enumerate() {
        let mut with_bias = features.clone();
        with_bias.push(1.0);
        for i in 0..k {
            for j in 0..k {
                a[i][j] += with_bias[i] * with_bias[j];
            }
            a[i][k] += with_bias[i] * y.value(row);
        }
    }
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += 1e-9;
    }
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .ok_or("empty system")?;
        a.swap(col, pivot);
        let lead = a[col][col];
        if lead.abs() < 1e-12 {
            return Err("the features are linearly dependent".into());
        }
        for value in &mut a[col][col..] {
            *value /= lead;
        }
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let factor = row[col];
                for (value, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= factor * p;
                }
            }
        }
    }
    let solution: Vec<f64> = a.iter().map(|row| row[k]).collect();
    Ok(Regressor {
        features: x_train
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        coefficients: solution[..k - 1].to_vec(),
        intercept: solution[k - 1],
    })
}

/// The tutorial's `evaluate_model`: the R² score on the test set, as a
/// one-row table.
pub(crate) fn evaluate_model(
    regressor: &Regressor,
    x_test: &RecordBatch,
    y_test: &RecordBatch,
) -> Result<RecordBatch> {
    let rows = matrix(x_test)?;
    let y = floats(y_test, "price")?;
    let predicted: Vec<f64> = rows
        .iter()
        .map(|features| {
            regressor.intercept
                + features
                    .iter()
                    .zip(&regressor.coefficients)
                    .map(|(x, c)| x * c)
                    .sum::<f64>()
        })
        .collect();
    let mean = y.values().iter().sum::<f64>() / y.len() as f64;
    let total: f64 = y.values().iter().map(|v| (v - mean).powi(2)).sum();
    let residual: f64 = y
        .values()
        .iter()
        .zip(&predicted)
        .map(|(v, p)| (v - p).powi(2))
        .sum();
    table(vec![(
        "r2_score".to_owned(),
        Arc::new(Float64Array::from(vec![1.0 - residual / total])) as ArrayRef,
    )])
}
