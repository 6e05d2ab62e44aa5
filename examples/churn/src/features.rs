//! The feature transformers: each is fitted on the training split (a
//! `fit_*` node, training only) and applied by a node that training and
//! inference share, so a served model transforms exactly as training did.
//!
//! The fitted objects are plain serde structs, persisted as JSON by the
//! catalog's `SerdeDataset` and packed into the model as artifacts.

use std::collections::{BTreeMap, BTreeSet};

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::data_value;

use crate::error::Error;
use crate::table::{
    CONTRACT, NUMERIC_FEATURES, complete_numbers, float_column, map_columns, numbers, table, texts,
};

/// Median of each numeric feature over the training rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imputer {
    /// Column → the value that replaces its missing entries.
    pub medians: BTreeMap<String, f64>,
}

/// Mean and standard deviation of one column.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// Subtracted first.
    pub mean: f64,
    /// Then divided by; never zero.
    pub std: f64,
}

/// Standardization of each numeric feature, fitted on imputed training rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column → its standardization.
    pub columns: BTreeMap<String, Standardization>,
}

/// The categories of one text column, each becoming a 0/1 feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoder {
    /// The encoded column; it is replaced by one column per category.
    pub column: String,
    /// The categories seen in training, sorted.
    pub categories: Vec<String>,
}

data_value!(serde: Imputer, Scaler, OneHotEncoder);

/// Fits the medians of the numeric features on the training customers.
pub fn fit_imputer(customers: &RecordBatch) -> Result<Imputer, Error> {
    let mut medians = BTreeMap::new();
    for name in NUMERIC_FEATURES {
        let mut values: Vec<f64> = numbers(customers, name)?.into_iter().flatten().collect();
        if values.is_empty() {
            return Err(Error::invalid_column(name, "no values to fit a median on"));
        }
        values.sort_unstable_by(f64::total_cmp);
        let mid = values.len() / 2;
        let median = if values.len().is_multiple_of(2) {
            f64::midpoint(values[mid - 1], values[mid])
        } else {
            values[mid]
        };
        medians.insert(name.to_owned(), median);
    }
    Ok(Imputer { medians })
}

/// Fills missing numeric values with the fitted medians; the imputed
/// columns become `float64`, other columns pass through.
pub fn impute(customers: &RecordBatch, imputer: &Imputer) -> Result<RecordBatch, Error> {
    for name in imputer.medians.keys() {
        crate::table::column(customers, name)?;
    }
    let columns = map_columns(customers, |name| {
        let Some(median) = imputer.medians.get(name) else {
            return Ok(None);
        };
        let filled = numbers(customers, name)?
            .into_iter()
            .map(|v| v.unwrap_or(*median))
            .collect();
        Ok(Some(float_column(filled)))
    })?;
    table(columns)
}

/// Fits the mean and (population) standard deviation of each numeric feature.
pub fn fit_scaler(imputed: &RecordBatch) -> Result<Scaler, Error> {
    let mut columns = BTreeMap::new();
    for name in NUMERIC_FEATURES {
        let values = complete_numbers(imputed, name)?;
        if values.is_empty() {
            return Err(Error::invalid_column(name, "no rows to fit a scaler on"));
        }
        // Exact for any row count a batch can hold.
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        // A constant column carries no information; dividing by 1 keeps it
        // finite (zero after centring) instead of turning it into NaN.
        let std = if std > 0.0 && std.is_finite() {
            std
        } else {
            1.0
        };
        columns.insert(name.to_owned(), Standardization { mean, std });
    }
    Ok(Scaler { columns })
}

/// Standardizes the fitted columns: `(x - mean) / std`.
pub fn scale(imputed: &RecordBatch, scaler: &Scaler) -> Result<RecordBatch, Error> {
    for name in scaler.columns.keys() {
        crate::table::column(imputed, name)?;
    }
    let columns = map_columns(imputed, |name| {
        let Some(s) = scaler.columns.get(name) else {
            return Ok(None);
        };
        let scaled = complete_numbers(imputed, name)?
            .into_iter()
            .map(|v| (v - s.mean) / s.std)
            .collect();
        Ok(Some(float_column(scaled)))
    })?;
    table(columns)
}

/// Fits the categories of `contract` on the training customers.
pub fn fit_encoder(customers: &RecordBatch) -> Result<OneHotEncoder, Error> {
    let categories: BTreeSet<&str> = texts(customers, CONTRACT)?.into_iter().flatten().collect();
    if categories.is_empty() {
        return Err(Error::invalid_column(
            CONTRACT,
            "no values to fit categories on",
        ));
    }
    Ok(OneHotEncoder {
        column: CONTRACT.to_owned(),
        categories: categories.into_iter().map(str::to_owned).collect(),
    })
}

impl OneHotEncoder {
    /// The name of the feature for `category`: `contract=one-year`.
    pub fn feature_name(&self, category: &str) -> String {
        format!("{}={category}", self.column)
    }
}

/// Replaces the encoded column by one `float64` 0/1 column per fitted
/// category, appended after the other columns. A category not seen in
/// training (or a missing value) encodes as all zeros, so serving never
/// fails on a new contract type: the model falls back to the intercept.
pub fn encode(scaled: &RecordBatch, encoder: &OneHotEncoder) -> Result<RecordBatch, Error> {
    let values = texts(scaled, &encoder.column)?;
    let mut columns: Vec<_> = map_columns(scaled, |_| Ok(None))?
        .into_iter()
        .filter(|(name, _)| *name != encoder.column)
        .collect();
    for category in &encoder.categories {
        let indicator = values
            .iter()
            .map(|v| {
                if *v == Some(category.as_str()) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        columns.push((encoder.feature_name(category), float_column(indicator)));
    }
    table(columns)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};

    use super::*;
    use crate::table::{MONTHLY_CHARGES, SUPPORT_CALLS, TENURE_MONTHS, TOTAL_CHARGES};

    fn customers(contracts: Vec<Option<&str>>) -> RecordBatch {
        let n = contracts.len();
        let floats = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
        table(vec![
            (
                TENURE_MONTHS.into(),
                floats((1..=n).map(|i| Some(i as f64)).collect()),
            ),
            (MONTHLY_CHARGES.into(), floats(vec![Some(50.0); n])),
            (
                TOTAL_CHARGES.into(),
                floats(
                    (0..n)
                        .map(|i| (i != 0).then_some(10.0 * i as f64))
                        .collect(),
                ),
            ),
            (CONTRACT.into(), Arc::new(StringArray::from(contracts))),
            (
                SUPPORT_CALLS.into(),
                Arc::new(Int64Array::from_iter_values((0..n as i64).rev())),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn imputer_fills_with_training_medians() {
        let train = customers(vec![Some("one-year"); 4]);
        let imputer = fit_imputer(&train).unwrap();
        assert_eq!(imputer.medians[TOTAL_CHARGES], 20.0);
        assert_eq!(imputer.medians[TENURE_MONTHS], 2.5);
        let imputed = impute(&train, &imputer).unwrap();
        assert_eq!(numbers(&imputed, TOTAL_CHARGES).unwrap()[0], Some(20.0));
        assert_eq!(
            imputed
                .schema()
                .field_with_name(SUPPORT_CALLS)
                .unwrap()
                .data_type(),
            &arrow_schema::DataType::Float64
        );
        assert_eq!(imputed.num_columns(), 5);
    }

    #[test]
    fn scaler_standardizes_and_survives_constant_columns() {
        let train = customers(vec![Some("one-year"); 4]);
        let imputed = impute(&train, &fit_imputer(&train).unwrap()).unwrap();
        let scaler = fit_scaler(&imputed).unwrap();
        assert_eq!(
            scaler.columns[MONTHLY_CHARGES],
            Standardization {
                mean: 50.0,
                std: 1.0
            }
        );
        let scaled = scale(&imputed, &scaler).unwrap();
        let tenure = complete_numbers(&scaled, TENURE_MONTHS).unwrap();
        assert!(tenure.iter().sum::<f64>().abs() < 1e-12);
        let variance = tenure.iter().map(|v| v * v).sum::<f64>() / 4.0;
        assert!((variance - 1.0).abs() < 1e-12);
        let err = fit_scaler(&train).unwrap_err().to_string();
        assert!(
            err.contains("total_charges") && err.contains("impute"),
            "{err}"
        );
    }

    #[test]
    fn unseen_and_missing_categories_encode_as_zeros() {
        let train = customers(vec![Some("one-year"), Some("month-to-month")]);
        let encoder = fit_encoder(&train).unwrap();
        assert_eq!(encoder.categories, ["month-to-month", "one-year"]);
        let serving = customers(vec![Some("one-year"), Some("three-year"), None]);
        let encoded = encode(&serving, &encoder).unwrap();
        assert!(encoded.column_by_name(CONTRACT).is_none());
        let one_year = complete_numbers(&encoded, "contract=one-year").unwrap();
        let monthly = complete_numbers(&encoded, "contract=month-to-month").unwrap();
        assert_eq!(one_year, [1.0, 0.0, 0.0]);
        assert_eq!(monthly, [0.0, 0.0, 0.0]);
    }

    #[test]
    fn missing_columns_are_errors_naming_them() {
        let train = customers(vec![Some("one-year"); 2]);
        let without = train.project(&[0, 1, 3, 4]).unwrap();
        let err = impute(&without, &fit_imputer(&train).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column 'total_charges'"), "{err}");
        let err = fit_encoder(&train.project(&[0]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("'contract'"), "{err}");
    }
}
