//! Synthetic customers and the train/test split.
//!
//! The generator plants a real signal: churn is likelier for short tenure,
//! high monthly charges, month-to-month contracts and many support calls,
//! which is what a logistic regression on these features can learn.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use serde::Deserialize;
use tandem_pipeline_core::data_value;

use crate::error::Error;
use crate::table::{
    CHURNED, CONTRACT, MONTHLY_CHARGES, SUPPORT_CALLS, TENURE_MONTHS, TOTAL_CHARGES, column,
    column_names, table,
};

/// `params:data_generation`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationParams {
    /// How many customers to generate.
    pub n_customers: usize,
    /// The share of `total_charges` left empty, as in real billing exports.
    pub missing_rate: f64,
}

data_value!(params: GenerationParams);

/// The split draws from its own stream, so changing the split does not
/// change the data and vice versa.
const SPLIT_STREAM: u64 = 0x5EED_5B17;

/// Generates `n_customers` customers from `seed`: the same parameters give
/// the same table, row for row.
pub fn generate_customers(params: GenerationParams, seed: u64) -> Result<RecordBatch, Error> {
    if params.n_customers == 0 {
        return Err(Error::invalid_parameter(
            "data_generation.n_customers",
            "must be at least 1",
        ));
    }
    if !(0.0..1.0).contains(&params.missing_rate) {
        return Err(Error::invalid_parameter(
            "data_generation.missing_rate",
            format!("must be in [0, 1), got {}", params.missing_rate),
        ));
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let customers: Vec<Customer> = (0..params.n_customers)
        .map(|_| Customer::draw(&mut rng, params.missing_rate))
        .collect();
    let floats = |value: fn(&Customer) -> f64| {
        Arc::new(Float64Array::from_iter_values(customers.iter().map(value))) as ArrayRef
    };
    let total: Float64Array = customers.iter().map(|c| c.total_charges).collect();
    let contract: StringArray = customers.iter().map(|c| Some(c.contract)).collect();
    let calls = Int64Array::from_iter_values(customers.iter().map(|c| c.support_calls));
    let churned: BooleanArray = customers.iter().map(|c| Some(c.churned)).collect();
    table(vec![
        (TENURE_MONTHS.to_owned(), floats(|c| c.tenure_months)),
        (MONTHLY_CHARGES.to_owned(), floats(|c| c.monthly_charges)),
        (TOTAL_CHARGES.to_owned(), Arc::new(total)),
        (CONTRACT.to_owned(), Arc::new(contract)),
        (SUPPORT_CALLS.to_owned(), Arc::new(calls)),
        (CHURNED.to_owned(), Arc::new(churned)),
    ])
}

struct Customer {
    tenure_months: f64,
    monthly_charges: f64,
    total_charges: Option<f64>,
    contract: &'static str,
    support_calls: i64,
    churned: bool,
}

impl Customer {
    fn draw(rng: &mut fastrand::Rng, missing_rate: f64) -> Customer {
        let kind = rng.f64();
        // Longer contracts go with longer tenure and fewer complaints, as in
        // real telecom data; the planted churn effect comes on top.
        let (contract, tenure_range, call_rate, contract_effect) = if kind < 0.55 {
            ("month-to-month", 1..37, 2.0, 0.9)
        } else if kind < 0.8 {
            ("one-year", 6..61, 1.2, -0.5)
        } else {
            ("two-year", 12..73, 0.8, -1.4)
        };
        let tenure_months = f64::from(rng.u32(tenure_range));
        let monthly_charges = cents(20.0 + 100.0 * rng.f64());
        let billed = cents(tenure_months * monthly_charges * (0.9 + 0.2 * rng.f64()));
        let total_charges = (rng.f64() >= missing_rate).then_some(billed);
        let support_calls = poisson(rng, call_rate);
        let logit = -1.5 - 0.07 * (tenure_months - 24.0)
            + 0.03 * (monthly_charges - 70.0)
            + contract_effect
            + 0.5 * (support_calls as f64 - 1.5);
        let churned = rng.f64() < sigmoid(logit);
        Customer {
            tenure_months,
            monthly_charges,
            total_charges,
            contract,
            support_calls,
            churned,
        }
    }
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Knuth's method: fine for the small rates used here (the loop runs about
/// `rate + 1` times).
fn poisson(rng: &mut fastrand::Rng, rate: f64) -> i64 {
    let limit = (-rate).exp();
    let mut k = 0;
    let mut p = rng.f64();
    while p > limit {
        k += 1;
        p *= rng.f64();
    }
    k
}

/// Kedro's `X_train, X_test, y_train, y_test`: shuffles the rows with
/// `seed`, puts `test_size` of them in the test set, and separates the
/// `churned` label from the features. Each part keeps the original row order.
pub fn split_customers(
    customers: &RecordBatch,
    test_size: f64,
    seed: u64,
) -> Result<(RecordBatch, RecordBatch, RecordBatch, RecordBatch), Error> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::invalid_parameter(
            "test_size",
            format!("must be in (0, 1), got {test_size}"),
        ));
    }
    let rows = customers.num_rows();
    // A row count times a fraction in (0, 1): the result fits back in usize.
    let n_test = (rows as f64 * test_size).round() as usize;
    if n_test == 0 || n_test == rows {
        return Err(Error::invalid_parameter(
            "test_size",
            format!("{test_size} of {rows} row(s) leaves the train or the test set empty"),
        ));
    }
    let mut order: Vec<usize> = (0..rows).collect();
    fastrand::Rng::with_seed(seed ^ SPLIT_STREAM).shuffle(&mut order);
    let (test, train) = order.split_at_mut(n_test);
    test.sort_unstable();
    train.sort_unstable();
    let labels = column(customers, CHURNED)?;
    let feature_columns: Vec<usize> = column_names(customers)
        .iter()
        .enumerate()
        .filter(|(_, name)| **name != CHURNED)
        .map(|(i, _)| i)
        .collect();
    let features = customers.project(&feature_columns)?;
    let labels = table(vec![(CHURNED.to_owned(), Arc::clone(labels))])?;
    let take = |batch: &RecordBatch, rows: &[usize]| -> Result<RecordBatch, Error> {
        let indices = UInt64Array::from_iter_values(rows.iter().map(|&r| r as u64));
        Ok(arrow_select::take::take_record_batch(batch, &indices)?)
    };
    Ok((
        take(&features, train)?,
        take(&features, test)?,
        take(&labels, train)?,
        take(&labels, test)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::flags;

    fn params(n_customers: usize, missing_rate: f64) -> GenerationParams {
        GenerationParams {
            n_customers,
            missing_rate,
        }
    }

    #[test]
    fn generation_is_seeded_and_plants_missing_values() {
        let a = generate_customers(params(2000, 0.05), 1).unwrap();
        assert_eq!(a, generate_customers(params(2000, 0.05), 1).unwrap());
        assert_ne!(a, generate_customers(params(2000, 0.05), 2).unwrap());
        assert_eq!(
            column_names(&a),
            [
                TENURE_MONTHS,
                MONTHLY_CHARGES,
                TOTAL_CHARGES,
                CONTRACT,
                SUPPORT_CALLS,
                CHURNED
            ]
        );
        let missing = a.column_by_name(TOTAL_CHARGES).unwrap().null_count();
        assert!((60..=140).contains(&missing), "{missing}");
        let churners = flags(&a, CHURNED)
            .unwrap()
            .into_iter()
            .filter(|c| *c)
            .count();
        assert!((300..=900).contains(&churners), "{churners}");
        assert!(generate_customers(params(0, 0.05), 1).is_err());
        let err = generate_customers(params(10, 1.0), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("data_generation.missing_rate"), "{err}");
    }

    #[test]
    fn split_separates_rows_and_labels() {
        let all = generate_customers(params(100, 0.05), 3).unwrap();
        let (train, test, y_train, y_test) = split_customers(&all, 0.25, 3).unwrap();
        assert_eq!((train.num_rows(), test.num_rows()), (75, 25));
        assert_eq!((y_train.num_rows(), y_test.num_rows()), (75, 25));
        assert!(train.column_by_name(CHURNED).is_none());
        assert_eq!(column_names(&y_test), [CHURNED]);
        let churners = |b: &RecordBatch| {
            flags(b, CHURNED)
                .unwrap()
                .into_iter()
                .filter(|c| *c)
                .count()
        };
        assert_eq!(churners(&y_train) + churners(&y_test), churners(&all));
        assert_eq!(split_customers(&all, 0.25, 3).unwrap().1, test);
        for bad in [0.0, 1.0, 0.001] {
            let err = split_customers(&all, bad, 3).unwrap_err().to_string();
            assert!(err.contains("test_size"), "{err}");
        }
        let err = split_customers(&train, 0.25, 3).unwrap_err().to_string();
        assert!(err.contains("no column 'churned'"), "{err}");
    }
}
